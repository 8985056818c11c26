import CustomsCore
import Foundation

/// One decision worth keeping: every block and monitor verdict (and, if configured, every verdict).
/// Holds no raw personal data: counts, rule ids, and at most masked samples (last 4 characters).
public struct AuditRecord: Sendable, Equatable {
    public var time: Date
    public var incident: String
    public var flow: String
    public var action: String
    public var rule: String
    public var regime: String?
    public var requiredInstrument: String?
    public var approval: String?
    public var approvalFindings: [String]
    public var exemption: String?
    public var reason: String
    public var clientAddress: String
    public var clientName: String?
    public var user: String?
    public var method: String
    public var host: String
    public var path: String
    public var destination: String?
    public var country: String?
    public var recipient: String
    public var recipientName: String?
    /// New distinct subjects this flow carried, by category.
    public var subjectsNew: [String: Int]
    /// Cumulative distinct counts: counter description ("company/pi/calendar_year") → (before, after).
    public var counts: [String: CountPair]
    public var masked: [String]
    public var uninspectable: String?
    public var bytes: Int?
    /// Where the flow's people were found: "query", "path", "header:<name>", "body". No values.
    public var foundIn: [String]

    public struct CountPair: Sendable, Equatable {
        public var before: Int
        public var after: Int
        public init(before: Int, after: Int) { self.before = before; self.after = after }
    }

    public init(time: Date, incident: String, flow: String, action: String, rule: String,
                regime: String? = nil, requiredInstrument: String? = nil, approval: String? = nil,
                approvalFindings: [String] = [], exemption: String? = nil, reason: String,
                clientAddress: String, clientName: String? = nil, user: String? = nil,
                method: String, host: String, path: String, destination: String? = nil,
                country: String? = nil, recipient: String, recipientName: String? = nil,
                subjectsNew: [String: Int] = [:], counts: [String: CountPair] = [:],
                masked: [String] = [], uninspectable: String? = nil, bytes: Int? = nil, foundIn: [String] = []) {
        self.time = time; self.incident = incident; self.flow = flow; self.action = action
        self.rule = rule; self.regime = regime; self.requiredInstrument = requiredInstrument
        self.approval = approval; self.approvalFindings = approvalFindings; self.exemption = exemption
        self.reason = reason; self.clientAddress = clientAddress; self.clientName = clientName
        self.user = user; self.method = method; self.host = host; self.path = path
        self.destination = destination; self.country = country; self.recipient = recipient
        self.recipientName = recipientName; self.subjectsNew = subjectsNew; self.counts = counts
        self.masked = masked; self.uninspectable = uninspectable; self.bytes = bytes; self.foundIn = foundIn
    }
}

/// Incident ids a person can read out on the phone: date plus 40 random bits in Crockford base32.
public enum IncidentID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(at time: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        var bits = rng.next() & 0xFF_FFFF_FFFF
        var tail = [UInt8](repeating: 0, count: 8)
        for i in (0..<8).reversed() { tail[i] = alphabet[Int(bits & 31)]; bits >>= 5 }
        return "CUS-\(AuditTime.compactDay(time))-\(String(decoding: tail, as: UTF8.self))"
    }
}

/// RFC 3339 UTC timestamps with milliseconds, formatted without Foundation formatters on the
/// writer path (they are slow and not Sendable).
public enum AuditTime {
    public static func format(_ date: Date) -> String {
        var out: [UInt8] = []
        append(date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `format(date)` with its quotes, as bytes for a record being written.
    static func quotedBytes(_ date: Date) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(26)
        append(date, to: &out)
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static func append(_ date: Date, to out: inout [UInt8]) {
        // Truncated to the millisecond, except that a time read back from a record (its
        // milliseconds / 1000) can land a hair under its millisecond: within a microsecond of
        // one, it is that one, so a record read back is written as it was.
        let x = date.timeIntervalSince1970 * 1000
        let ms = Int64(abs(x - x.rounded()) < 0.001 ? x.rounded() : x.rounded(.down))
        let secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let milli = Int(ms - secs * 1000)
        let days = Int(secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400)
        let (y, m, d) = civil(days: days)
        let sod = Int(secs - Int64(days) * 86_400)
        func field(_ v: Int, _ width: Int, _ then: Character?) {
            JSONText.appendDecimal(v, width: width, to: &out)
            if let then { out.append(then.asciiValue!) }
        }
        field(y, 4, "-"); field(m, 2, "-"); field(d, 2, "T")
        field(sod / 3600, 2, ":"); field(sod / 60 % 60, 2, ":"); field(sod % 60, 2, "."); field(milli, 3, "Z")
    }

    public static func compactDay(_ date: Date) -> String {
        let (y, m, d) = civil(days: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
        return "\(pad(y, 4))\(pad(m, 2))\(pad(d, 2))"
    }

    /// Parses what `format` writes and the looser forms a person types on the command line:
    /// `2026-11-29`, `2026-11-29T10:00`, `2026-11-29T10:00:00Z`, `2026-11-29T10:00:00+08:00`.
    public static func parse(_ text: String) -> Date? {
        if let d = parseWritten(text) { return d }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = iso.date(from: text) { return d }
        iso.formatOptions = [.withInternetDateTime]
        if let d = iso.date(from: text) { return d }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        for pattern in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = pattern
            if let d = f.date(from: text) { return d }
        }
        return nil
    }

    /// Exactly what `format` writes (`2026-11-29T10:00:00.123Z`), read without a formatter: a
    /// formatter per record made reading a day of monitor records take minutes.
    static func parseWritten(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { u -> Date? in
            guard u.count == 24, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
                  u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"), u[19] == UInt8(ascii: "."), u[23] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ from: Int, _ count: Int) -> Int? {
                var v = 0
                for i in from..<(from + count) {
                    let d = Int(u[i]) - 48
                    guard d >= 0 && d <= 9 else { return nil }
                    v = v * 10 + d
                }
                return v
            }
            guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2), let h = number(11, 2),
                  let mi = number(14, 2), let s = number(17, 2), let ms = number(20, 3),
                  (1...12).contains(mo), d >= 1, d <= 31, h < 24, mi < 60, s < 60 else { return nil }
            let days = CivilDays.dayNumber(year: y, month: mo, day: d)
            guard CivilDays.date(fromDayNumber: days) == (y, mo, d) else { return nil }   // no 31 February
            let millis = Int64(days) * 86_400_000 + Int64(h * 3_600_000 + mi * 60_000 + s * 1000 + ms)
            return Date(timeIntervalSince1970: Double(millis) / 1000)
        }
    }

    static func civil(days: Int) -> (Int, Int, Int) { CivilDays.date(fromDayNumber: days) }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
