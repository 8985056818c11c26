import CustomsCore

/// Request-target forms (RFC 9112 §3.2) and authorities (RFC 3986 §3.2), parsed from bytes.
enum TargetParser {
    /// `raw` is the String already made from `bytes`, reused for origin-form.
    static func parse(_ bytes: UnsafeRawBufferPointer, raw: String, method: String) throws(WireError) -> RequestTarget {
        guard let first = bytes.first else { throw .malformed("empty request target") }
        if method == "CONNECT" {
            let a = try authority(bytes, requirePort: true)
            return .authority(host: a.host, port: a.port!)
        }
        if first == UInt8(ascii: "/") {
            if bytes.firstIndex(of: UInt8(ascii: "#")) != nil { throw .malformed("fragment in request target") }
            return .origin(raw)
        }
        if bytes.count == 1 && first == UInt8(ascii: "*") {
            guard method == "OPTIONS" else { throw .malformed("asterisk target is only valid for OPTIONS") }
            return .asterisk
        }
        return try absolute(bytes)
    }

    private static func absolute(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> RequestTarget {
        guard let colon = bytes.firstIndex(of: ByteClass.colon), colon + 2 < bytes.count,
              bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/") else {
            throw .malformed("request target is not a path or an absolute URL")
        }
        guard colon > 0, isAlpha(bytes[0]), (0..<colon).allSatisfy({ isSchemeByte(bytes[$0]) }) else {
            throw .malformed("invalid URL scheme")
        }
        guard colon == 4, ByteClass.lower(bytes[0]) == UInt8(ascii: "h"), ByteClass.lower(bytes[1]) == UInt8(ascii: "t"),
              ByteClass.lower(bytes[2]) == UInt8(ascii: "t"), ByteClass.lower(bytes[3]) == UInt8(ascii: "p") else {
            throw .unsupported("only http URLs are forwarded; use CONNECT for https")
        }
        let start = colon + 3
        if bytes.firstIndex(of: UInt8(ascii: "#"), from: start) != nil { throw .malformed("fragment in request target") }
        var authorityEnd = start
        while authorityEnd < bytes.count, bytes[authorityEnd] != UInt8(ascii: "/"), bytes[authorityEnd] != UInt8(ascii: "?") {
            authorityEnd += 1
        }
        let auth = try authority(UnsafeRawBufferPointer(rebasing: bytes[start..<authorityEnd]), requirePort: false)
        let rest = UnsafeRawBufferPointer(rebasing: bytes[authorityEnd...])
        let path = rest.first == UInt8(ascii: "/") ? String(wire: rest) : "/" + String(wire: rest)
        return .absolute(scheme: "http", host: auth.host, port: auth.port ?? 80, pathAndQuery: path)
    }

    static func authority(_ text: some StringProtocol, requirePort: Bool) throws(WireError) -> (host: String, port: UInt16?) {
        try withUTF8Bytes(text) { (bytes) throws(WireError) in try authority(bytes, requirePort: requirePort) }
    }

    /// host [":" port] with host a reg-name, IPv4 address or bracketed IPv6 literal. Userinfo is
    /// refused: it has no place in a proxied request and hides the real host from naive readers.
    static func authority(_ bytes: UnsafeRawBufferPointer, requirePort: Bool) throws(WireError) -> (host: String, port: UInt16?) {
        guard !bytes.isEmpty else { throw .malformed("empty host") }
        if bytes.firstIndex(of: UInt8(ascii: "@")) != nil { throw .malformed("userinfo in authority") }
        let host: String
        let portStart: Int?
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { throw .malformed("unterminated IPv6 literal") }
            let literal = String(wire: UnsafeRawBufferPointer(rebasing: bytes[1..<close]))
            guard literal.utf8.contains(ByteClass.colon), let ip = IPAddress(literal), !ip.isV4 else {
                throw .malformed("invalid IPv6 literal")
            }
            host = ip.description
            if close + 1 == bytes.count {
                portStart = nil
            } else {
                guard bytes[close + 1] == ByteClass.colon else { throw .malformed("invalid authority") }
                portStart = close + 2
            }
        } else {
            var colon: Int?
            var i = bytes.count
            while i > 0 {
                i -= 1
                if bytes[i] == ByteClass.colon { colon = i; break }
            }
            let nameEnd = colon ?? bytes.count
            guard nameEnd > 0, nameEnd <= 253, (0..<nameEnd).allSatisfy({ isHostByte(bytes[$0]) }) else {
                throw .malformed("invalid host name")
            }
            host = String(unsafeUninitializedCapacity: nameEnd) { out in
                for k in 0..<nameEnd { out[k] = ByteClass.lower(bytes[k]) }
                return nameEnd
            }
            portStart = colon.map { $0 + 1 }
        }
        var port: UInt16?
        if let portStart, portStart < bytes.count {
            let digits = bytes.count - portStart
            guard digits <= 5 else { throw .malformed("invalid port") }
            var value: UInt32 = 0
            for k in portStart..<bytes.count {
                guard ByteClass.isDigit(bytes[k]) else { throw .malformed("invalid port") }
                value = value * 10 + UInt32(bytes[k] - 0x30)
            }
            guard value >= 1, value <= 65535 else { throw .malformed("invalid port") }
            port = UInt16(value)
        }
        if requirePort && port == nil { throw .malformed("CONNECT target needs host:port") }
        return (host, port)
    }

    private static func isAlpha(_ b: UInt8) -> Bool { ByteClass.lower(b) &- 0x61 < 26 }

    private static func isSchemeByte(_ b: UInt8) -> Bool {
        isAlpha(b) || ByteClass.isDigit(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    /// reg-name bytes we accept: letters, digits, "-", ".", "_" (seen in real internal names).
    static func isHostByte(_ b: UInt8) -> Bool {
        isAlpha(b) || ByteClass.isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
    }
}
