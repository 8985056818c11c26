import CustomsCore
import Foundation

/// A civil date as written in a policy file (YYYY-MM-DD), compared as a day number so a date means
/// the same whole day in whatever calendar (UTC offset) the regime uses.
public struct PolicyDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int
    /// Days since 1970-01-01.
    public let dayNumber: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= PolicyDate.daysIn(month: m, year: y) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public init(year: Int, month: Int, day: Int) {
        self.year = year; self.month = month; self.day = day
        dayNumber = PolicyDate.daysFromCivil(year, month, day)
    }

    public init(dayNumber: Int) {
        let (y, m, d) = CivilDays.date(fromDayNumber: dayNumber)
        self.init(year: y, month: m, day: d)
    }

    /// The civil day containing `date` in `calendar`.
    public init(_ date: Date, in calendar: CivilCalendar) {
        self.init(dayNumber: calendar.dayNumber(date))
    }

    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        CivilDays.dayNumber(year: y, month: m, day: d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The same day `years` later; 29 February becomes 28 February in a common year.
    public func adding(years: Int) -> PolicyDate {
        let y = year + years
        return PolicyDate(year: y, month: month, day: min(day, PolicyDate.daysIn(month: month, year: y)))
    }

    public func adding(days: Int) -> PolicyDate { PolicyDate(dayNumber: dayNumber + days) }

    /// 1970-01-01 was a Thursday; Saturday and Sunday are not working days.
    public var isWeekend: Bool {
        let weekday = ((dayNumber % 7) + 7 + 3) % 7   // 0 = Monday
        return weekday >= 5
    }

    /// The day `n` working days before this one (weekends skipped; no public-holiday table).
    public func subtracting(workingDays n: Int) -> PolicyDate {
        var d = self
        var left = n
        while left > 0 {
            d = d.adding(days: -1)
            if !d.isWeekend { left -= 1 }
        }
        return d
    }

    /// The instant this day begins in `calendar`.
    public func start(in calendar: CivilCalendar) -> Date {
        Date(timeIntervalSince1970: Double(dayNumber * 86_400 - calendar.utcOffsetSeconds))
    }

    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (a: PolicyDate, b: PolicyDate) -> Bool { a.dayNumber < b.dayNumber }
}
