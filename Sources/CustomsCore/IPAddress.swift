#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as plain integers, so lookups and comparisons never allocate.
/// IPv4 is kept in its own family; `v4MappedOrSelf` turns `::ffff:a.b.c.d` into IPv4.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(UInt32)
    /// High and low 64 bits, network order as integers (high holds the first 8 bytes).
    case v6(UInt64, UInt64)

    // Concrete overloads: called from other modules, the generic one is not specialized, and its
    // byte loop then went through protocol witnesses (a few percent of a small GET).
    public init?(_ text: String) {
        guard let address = Self.parse(text) else { return nil }
        self = address
    }

    public init?(_ text: Substring) {
        guard let address = Self.parse(text) else { return nil }
        self = address
    }

    public init?(_ text: some StringProtocol) {
        guard let address = Self.parse(text) else { return nil }
        self = address
    }

    private static func parse(_ text: some StringProtocol) -> IPAddress? {
        // Callers mostly ask about host names, once or twice per request: a name is told apart and
        // a dotted quad parsed from the bytes, without building a String or calling inet_pton.
        switch Self.literalShape(text.utf8) {
        case .notAnAddress: return nil
        case .dottedQuad(let v): return .v4(v)
        case .other: break
        }
        var s = String(text)
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let zone = s.firstIndex(of: "%") { s = String(s[..<zone]) }
        var a4 = in_addr()
        if inet_pton(AF_INET, s, &a4) == 1 { return .v4(UInt32(bigEndian: a4.s_addr)) }
        var a6 = in6_addr()
        if inet_pton(AF_INET6, s, &a6) == 1 { return IPAddress(in6: a6) }
        return nil
    }

    private enum LiteralShape { case notAnAddress, dottedQuad(UInt32), other }

    /// `.dottedQuad` for a strict a.b.c.d (no leading zeros, as inet_pton), `.notAnAddress` for text
    /// that cannot be one (a letter that is not a hex digit, or letters without a colon), `.other`
    /// for what inet_pton must decide (IPv6, brackets, zones, malformed digits and dots).
    private static func literalShape(_ u: some Collection<UInt8>) -> LiteralShape {
        var value: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
        var quad = true, colon = false, hexLetter = false
        for b in u {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits == 1 && part == 0 { quad = false }   // leading zero
                part = part &* 10 &+ UInt32(b &- 48); digits += 1
                if digits > 3 || part > 255 { quad = false }
            case UInt8(ascii: "."):
                if digits == 0 { quad = false }
                value = value << 8 | part; part = 0; digits = 0; dots += 1
            case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"):
                hexLetter = true; quad = false
            case UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                colon = true; quad = false
            case UInt8(ascii: "%"):
                return .other
            default:
                return .notAnAddress
            }
        }
        if colon { return .other }
        if quad && dots == 3 && digits > 0 { return .dottedQuad(value << 8 | part) }
        return hexLetter ? .notAnAddress : .other
    }

    public init(in6 a: in6_addr) {
        var hi: UInt64 = 0, lo: UInt64 = 0
        withUnsafeBytes(of: a) { raw in
            for i in 0..<8 { hi = hi << 8 | UInt64(raw[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(raw[i]) }
        }
        self = .v6(hi, lo)
    }

    public var isV4: Bool { if case .v4 = self { return true } else { return false } }

    /// `::ffff:a.b.c.d` as the IPv4 address it carries; every other address unchanged.
    public var v4MappedOrSelf: IPAddress {
        if case .v6(let hi, let lo) = self, hi == 0, lo >> 32 == 0xFFFF {
            return .v4(UInt32(truncatingIfNeeded: lo))
        }
        return self
    }

    /// The 16 bytes of the address (IPv4 as IPv4-mapped IPv6), for hashing and storage.
    public var bytes16: [UInt8] {
        let (hi, lo): (UInt64, UInt64)
        switch self {
        case .v4(let v): (hi, lo) = (0, 0xFFFF_0000_0000 | UInt64(v))
        case .v6(let h, let l): (hi, lo) = (h, l)
        }
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i))) }
        for i in 0..<8 { out[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i))) }
        return out
    }

    public var in6: in6_addr {
        var a = in6_addr()
        let b = bytes16
        withUnsafeMutableBytes(of: &a) { raw in for i in 0..<16 { raw[i] = b[i] } }
        return a
    }

    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case .v6:
            var a = in6
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
            return String(cString: buf)
        }
    }

    /// `host:port` with brackets for IPv6.
    public func withPort(_ port: UInt16) -> String {
        isV4 ? "\(self):\(port)" : "[\(self)]:\(port)"
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return ah < bh || (ah == bh && al < bl)
        }
    }
}

/// A CIDR block such as `10.0.0.0/8` or `2001:db8::/32`.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress   // the first address of the block
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let addr = IPAddress(parts[0]) else { return nil }
        let maxLen = addr.isV4 ? 32 : 128
        let len: Int
        if parts.count == 2 {
            guard let l = Int(parts[1]), (0...maxLen).contains(l) else { return nil }
            len = l
        } else {
            len = maxLen
        }
        self.init(address: addr, prefixLength: len)
    }

    public init(address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        switch address {
        case .v4(let v):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << (32 - UInt32(prefixLength))
            self.address = .v4(v & mask)
        case .v6(let hi, let lo):
            let (mh, ml) = IPNetwork.mask128(prefixLength)
            self.address = .v6(hi & mh, lo & ml)
        }
    }

    static func mask128(_ len: Int) -> (UInt64, UInt64) {
        if len == 0 { return (0, 0) }
        if len <= 64 { return (~UInt64(0) << (64 - UInt64(len)), 0) }
        if len == 128 { return (~0, ~0) }
        return (~0, ~UInt64(0) << (128 - UInt64(len)))
    }

    /// The last address of the block.
    public var last: IPAddress {
        switch address {
        case .v4(let v):
            let host: UInt32 = prefixLength == 0 ? ~0 : (prefixLength == 32 ? 0 : ~UInt32(0) >> UInt32(prefixLength))
            return .v4(v | host)
        case .v6(let hi, let lo):
            let (mh, ml) = IPNetwork.mask128(prefixLength)
            return .v6(hi | ~mh, lo | ~ml)
        }
    }

    /// Whether `ip` lies in the block. IPv4-mapped IPv6 addresses match IPv4 blocks.
    public func contains(_ ip: IPAddress) -> Bool {
        let ip = address.isV4 ? ip.v4MappedOrSelf : ip
        return ip >= address && ip <= last && ip.isV4 == address.isV4
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
