import CustomsCore

/// Parses textual addresses straight from file bytes, so importing a table of a few hundred
/// thousand rows does not build a String per field.
enum AddressText {
    /// Dotted-quad IPv4 (`1.2.3.4`), strict: four decimal parts 0...255, no signs or spaces.
    static func parseV4(_ b: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0, part: UInt32 = 0, digits = 0, dots = 0
        for c in b {
            if c >= 48 && c <= 57 {
                part = part * 10 + UInt32(c - 48)
                digits += 1
                if digits > 3 || part > 255 { return nil }
            } else if c == 46 {
                if digits == 0 || dots == 3 { return nil }
                value = value << 8 | part
                part = 0; digits = 0; dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | part
    }

    /// RFC 4291 text form, with `::` compression and a trailing dotted quad.
    static func parseV6(_ b: UnsafeBufferPointer<UInt8>) -> UInt128? {
        let n = b.count
        guard n >= 2 else { return nil }
        var head: UInt128 = 0, headGroups = 0
        var tail: UInt128 = 0, tailGroups = 0
        var compressed = false
        var i = 0
        if b[0] == 58 {   // leading "::"
            guard b[1] == 58 else { return nil }
            compressed = true
            i = 2
            if i == n { return 0 }
        }
        while i < n {
            // One group: hex digits up to ':' or end, or a dotted quad at the end.
            var j = i, group: UInt32 = 0, isQuad = false
            while j < n && b[j] != 58 {
                let c = b[j]
                if c == 46 { isQuad = true; break }
                guard let d = hexValue(c) else { return nil }
                group = group << 4 | UInt32(d)
                j += 1
                if j - i > 4 { return nil }
            }
            if isQuad {
                guard let v4 = parseV4(UnsafeBufferPointer(rebasing: b[i..<n])) else { return nil }
                if compressed { tail = tail << 32 | UInt128(v4); tailGroups += 2 }
                else { head = head << 32 | UInt128(v4); headGroups += 2 }
                i = n
                break
            }
            guard j > i else { return nil }
            if compressed { tail = tail << 16 | UInt128(group); tailGroups += 1 }
            else { head = head << 16 | UInt128(group); headGroups += 1 }
            if j == n { i = n; break }
            // b[j] == ':'
            if j + 1 < n && b[j + 1] == 58 {
                guard !compressed else { return nil }
                compressed = true
                i = j + 2
                if i == n { break }
            } else {
                guard j + 1 < n else { return nil }   // trailing single ':'
                i = j + 1
            }
        }
        let groups = headGroups + tailGroups
        if compressed {
            guard groups <= 7 else { return nil }
            return (headGroups == 0 ? 0 : head << (16 * UInt128(8 - headGroups))) | tail
        }
        guard groups == 8 else { return nil }
        return head
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }

    /// Unsigned decimal integer of any width up to 128 bits (IP2Location and Tor use these).
    static func parseDecimal(_ b: UnsafeBufferPointer<UInt8>) -> UInt128? {
        guard !b.isEmpty, b.count <= 39 else { return nil }
        var v: UInt128 = 0
        for c in b {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt128(c - 48))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    static func formatV4(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
    }

    static func format(_ v: UInt128, v4: Bool) -> String {
        if v4 { return formatV4(UInt32(truncatingIfNeeded: v)) }
        return IPAddressBridge.v6String(v)
    }
}

/// Address parsing for callers that read addresses in bulk (`customs geo lookup` on stdin):
/// no String per address.
public enum GeoText {
    /// An IPv4 or IPv6 address in text form (IPv6 may carry brackets; no zone).
    public static func address(_ b: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        var b = b
        if b.count >= 2 && b.first == 91 && b.last == 93 { b = UnsafeBufferPointer(rebasing: b[1..<(b.count - 1)]) }
        if let v = AddressText.parseV4(b) { return .v4(v) }
        if let v = AddressText.parseV6(b) { return IPAddressBridge.address(v) }
        return nil
    }
}
