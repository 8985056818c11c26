/// ISO 3166-1 alpha-2 country code, upper case, stored in two bytes.
public struct CountryCode: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let raw: UInt16

    public init?(_ text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 2 else { return nil }
        func up(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - 32
            default: return nil
            }
        }
        guard let a = up(u[0]), let b = up(u[1]) else { return nil }
        raw = UInt16(a) << 8 | UInt16(b)
    }

    public init(raw: UInt16) { self.raw = raw }

    public init(stringLiteral value: String) {
        guard let c = CountryCode(value) else { preconditionFailure("not a country code: \(value)") }
        self = c
    }

    public var description: String {
        String(decoding: [UInt8(raw >> 8), UInt8(raw & 0xFF)], as: UTF8.self)
    }

    public static func < (a: CountryCode, b: CountryCode) -> Bool { a.raw < b.raw }
}

/// What a detector found. Raw values are the names used in policies, JSON output and logs.
public enum DetectorKind: String, CaseIterable, Hashable, Sendable, Codable, Comparable {
    case idNumber = "id_number"
    case mobile
    case email
    case bankCard = "bank_card"
    case passport
    case hkID = "hk_id"
    case twID = "tw_id"
    case geo
    case name
    case address
    case birthDate = "birth_date"
    case health
    case biometric
    case religion
    case financial
    case minor

    public static func < (a: DetectorKind, b: DetectorKind) -> Bool { a.rawValue < b.rawValue }

    /// Index in `allCases` (0..<16), without building the array: sets of kinds held as bit masks.
    @inline(__always) public var ordinal: Int {
        switch self {
        case .idNumber: 0
        case .mobile: 1
        case .email: 2
        case .bankCard: 3
        case .passport: 4
        case .hkID: 5
        case .twID: 6
        case .geo: 7
        case .name: 8
        case .address: 9
        case .birthDate: 10
        case .health: 11
        case .biometric: 12
        case .religion: 13
        case .financial: 14
        case .minor: 15
        }
    }
}

/// A legal bucket a subject counts in (`pi`, `sensitive`, or a regime's own, e.g. `us_health`).
/// Categories are defined by regimes, so this is an open set of names.
public struct Category: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral, Codable {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public init(from decoder: Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(name) }
    public var description: String { name }
    public static func < (a: Category, b: Category) -> Bool { a.name < b.name }

    public static let pi: Category = "pi"
    public static let sensitive: Category = "sensitive"
}

/// A person as the gateway knows them: the first 128 bits of HMAC-SHA256(secret, normalised
/// strongest identifier). Never reversible without the secret; never the raw value.
public struct SubjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let hi: UInt64
    public let lo: UInt64
    public init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }

    /// From the first 16 bytes of a digest (big-endian).
    public init<C: Collection>(digest: C) where C.Element == UInt8 {
        precondition(digest.count >= 16)
        var h: UInt64 = 0, l: UInt64 = 0
        var i = digest.startIndex
        for _ in 0..<8 { h = h << 8 | UInt64(digest[i]); i = digest.index(after: i) }
        for _ in 0..<8 { l = l << 8 | UInt64(digest[i]); i = digest.index(after: i) }
        hi = h; lo = l
    }

    public var description: String {
        let a = String(hi, radix: 16), b = String(lo, radix: 16)
        return String(repeating: "0", count: 16 - a.count) + a + String(repeating: "0", count: 16 - b.count) + b
    }

    public static func < (a: SubjectKey, b: SubjectKey) -> Bool { a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
}
