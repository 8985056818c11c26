import CustomsCore

/// Request-target forms (RFC 9112 §3.2) and authorities (RFC 3986 §3.2).
enum TargetParser {
    static func parse(_ raw: String, method: String) throws(WireError) -> RequestTarget {
        let bytes = raw.utf8
        guard let first = bytes.first else { throw .malformed("empty request target") }
        if method == "CONNECT" {
            let a = try authority(Substring(raw), requirePort: true)
            return .authority(host: a.host, port: a.port!)
        }
        if first == UInt8(ascii: "/") {
            if bytes.contains(UInt8(ascii: "#")) { throw .malformed("fragment in request target") }
            return .origin(raw)
        }
        if raw == "*" {
            guard method == "OPTIONS" else { throw .malformed("asterisk target is only valid for OPTIONS") }
            return .asterisk
        }
        return try absolute(raw)
    }

    private static func absolute(_ raw: String) throws(WireError) -> RequestTarget {
        guard let sep = raw.range(of: "://") else { throw .malformed("request target is not a path or an absolute URL") }
        let scheme = raw[..<sep.lowerBound]
        guard !scheme.isEmpty, scheme.utf8.allSatisfy(isSchemeByte),
              let f = scheme.utf8.first, ByteClass.lower(f) &- 0x61 < 26 else {
            throw .malformed("invalid URL scheme")
        }
        guard scheme.asciiCaseInsensitiveEquals("http") else {
            throw .unsupported("only http URLs are forwarded; use CONNECT for https")
        }
        let rest = raw[sep.upperBound...]
        if rest.utf8.contains(UInt8(ascii: "#")) { throw .malformed("fragment in request target") }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let auth = try authority(rest[..<authorityEnd], requirePort: false)
        var path = String(rest[authorityEnd...])
        if path.utf8.first != UInt8(ascii: "/") { path = "/" + path }
        return .absolute(scheme: "http", host: auth.host, port: auth.port ?? 80, pathAndQuery: path)
    }

    private static func isSchemeByte(_ b: UInt8) -> Bool {
        ByteClass.lower(b) &- 0x61 < 26 || ByteClass.isDigit(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
    }

    /// host [":" port] with host a reg-name, IPv4 address or bracketed IPv6 literal. Userinfo is
    /// refused: it has no place in a proxied request and hides the real host from naive readers.
    static func authority(_ text: Substring, requirePort: Bool) throws(WireError) -> (host: String, port: UInt16?) {
        guard !text.isEmpty else { throw .malformed("empty host") }
        if text.utf8.contains(UInt8(ascii: "@")) { throw .malformed("userinfo in authority") }
        let host: String
        let portText: Substring?
        if text.utf8.first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: "]") else { throw .malformed("unterminated IPv6 literal") }
            let literal = text[text.index(after: text.startIndex)..<close]
            guard literal.contains(":"), let ip = IPAddress(literal), !ip.isV4 else { throw .malformed("invalid IPv6 literal") }
            host = ip.description
            let after = text[text.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else {
                guard after.first == ":" else { throw .malformed("invalid authority") }
                portText = after.dropFirst()
            }
        } else {
            let colon = text.lastIndex(of: ":")
            let name = colon.map { text[..<$0] } ?? text
            portText = colon.map { text[text.index(after: $0)...] }
            guard !name.isEmpty, name.utf8.count <= 253, name.utf8.allSatisfy(isHostByte) else {
                throw .malformed("invalid host name")
            }
            host = name.lowercased()
        }
        var port: UInt16?
        if let portText, !portText.isEmpty {
            guard portText.utf8.count <= 5, portText.utf8.allSatisfy(ByteClass.isDigit),
                  let value = UInt32(portText), value >= 1, value <= 65535 else {
                throw .malformed("invalid port")
            }
            port = UInt16(value)
        }
        if requirePort && port == nil { throw .malformed("CONNECT target needs host:port") }
        return (host, port)
    }

    /// reg-name bytes we accept: letters, digits, "-", ".", "_" (seen in real internal names).
    private static func isHostByte(_ b: UInt8) -> Bool {
        ByteClass.lower(b) &- 0x61 < 26 || ByteClass.isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
    }
}
