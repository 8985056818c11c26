/// Credentials carried in `Proxy-Authorization` (RFC 9110 §11.7.1, RFC 7617).
public enum ProxyAuthorization {
    /// Decodes `Basic <base64(user:password)>`; nil for any other scheme or malformed value.
    /// The user part cannot contain ":" (RFC 7617); the password may.
    public static func basic(_ headerValue: String) -> (user: String, password: String)? {
        let value = Substring(headerValue).trimmingOWS()
        guard let space = value.firstIndex(of: " ") else { return nil }
        guard value[..<space].asciiCaseInsensitiveEquals("basic") else { return nil }
        let encoded = value[value.index(after: space)...].trimmingOWS()
        guard let decoded = base64Decode(encoded.utf8),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let userBytes = decoded[..<colon]
        let passwordBytes = decoded[(colon + 1)...]
        guard let user = String(validating: userBytes, as: UTF8.self),
              let password = String(validating: passwordBytes, as: UTF8.self) else { return nil }
        return (user, password)
    }

    /// The header value that `basic` decodes back to `user` and `password`.
    public static func basicValue(user: String, password: String) -> String {
        "Basic " + base64Encode(Array((user + ":" + password).utf8))
    }
}

private let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

private func base64Value(_ c: UInt8) -> UInt32? {
    switch c {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
    case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
    case UInt8(ascii: "+"): return 62
    case UInt8(ascii: "/"): return 63
    default: return nil
    }
}

/// Standard alphabet; padding required (length a multiple of 4), as RFC 7617 clients send it.
private func base64Decode(_ text: Substring.UTF8View) -> [UInt8]? {
    let chars = Array(text)
    guard !chars.isEmpty, chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 4 * 3)
    var index = 0
    while index < chars.count {
        let isLast = index + 4 == chars.count
        let pad = isLast ? (chars[index + 3] == UInt8(ascii: "=") ? (chars[index + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
        var group: UInt32 = 0
        for k in 0..<(4 - pad) {
            guard let v = base64Value(chars[index + k]) else { return nil }
            group = group << 6 | v
        }
        group <<= UInt32(6 * pad)
        out.append(UInt8(truncatingIfNeeded: group >> 16))
        if pad < 2 { out.append(UInt8(truncatingIfNeeded: group >> 8)) }
        if pad < 1 { out.append(UInt8(truncatingIfNeeded: group)) }
        index += 4
    }
    return out
}

private func base64Encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let n = min(3, bytes.count - index)
        var group: UInt32 = 0
        for k in 0..<3 { group = group << 8 | (k < n ? UInt32(bytes[index + k]) : 0) }
        for k in 0..<4 {
            out.append(k <= n ? base64Alphabet[Int(group >> UInt32(18 - 6 * k) & 63)] : UInt8(ascii: "="))
        }
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}
