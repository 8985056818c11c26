import Foundation

/// A civil-date helper for regimes whose dates roll over in a fixed UTC offset (China: +08:00).
public struct CivilCalendar: Sendable, Hashable {
    public let utcOffsetSeconds: Int

    public init(utcOffsetSeconds: Int) { self.utcOffsetSeconds = utcOffsetSeconds }
    public static let chinaStandardTime = CivilCalendar(utcOffsetSeconds: 8 * 3600)
    public static let utc = CivilCalendar(utcOffsetSeconds: 0)

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(secondsFromGMT: utcOffsetSeconds)!
        return c
    }

    /// Year, month, day of `date` in this offset.
    public func civilDate(_ date: Date) -> (year: Int, month: Int, day: Int) {
        let d = calendar.dateComponents([.year, .month, .day], from: date)
        return (d.year!, d.month!, d.day!)
    }

    /// The instant at which the civil day `year-month-day` begins in this offset.
    public func startOfDay(year: Int, month: Int, day: Int) -> Date {
        calendar.date(from: DateComponents(year: year, month: month, day: day))!
    }

    /// Days since 1970-01-01 of the civil day containing `date` in this offset.
    public func dayNumber(_ date: Date) -> Int {
        Int(((date.timeIntervalSince1970 + Double(utcOffsetSeconds)) / 86_400).rounded(.down))
    }

    /// The first instant inside `window` for a flow at `now`.
    public func windowStart(_ window: CountingWindow, now: Date) -> Date {
        let (y, m, d) = civilDate(now)
        switch window {
        case .calendarYear: return startOfDay(year: y, month: 1, day: 1)
        case .sincePreviousYear: return startOfDay(year: y - 1, month: 1, day: 1)
        case .rolling12Months:
            // Same civil day a year earlier (29 Feb → 28 Feb), inclusive of that whole day.
            let day = (m == 2 && d == 29) ? 28 : d
            return startOfDay(year: y - 1, month: m, day: day)
        case .unbounded: return Date(timeIntervalSince1970: 0)
        }
    }
}
