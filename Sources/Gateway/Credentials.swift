import COpenSSL
import Foundation

/// Users allowed through when `--credentials` is set: `user:password` or `user:{SHA256}hex` lines,
/// `#` comments and blank lines ignored.
struct Credentials: Sendable {
    private enum Secret: Sendable { case plain([UInt8]); case sha256([UInt8]) }
    private let users: [String: Secret]

    init(path: String) throws(GatewayError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw GatewayError(.credentialsFile, "cannot read credentials file \(path)")
        }
        try self.init(text: text, source: path)
    }

    init(text: String, source: String) throws(GatewayError) {
        var users: [String: Secret] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw GatewayError(.credentialsFile, "\(source):\(i + 1): expected user:password or user:{SHA256}hex")
            }
            let user = String(line[..<colon]), secret = line[line.index(after: colon)...]
            if secret.hasPrefix("{SHA256}") {
                guard let digest = Self.hexBytes(secret.dropFirst(8)), digest.count == 32 else {
                    throw GatewayError(.credentialsFile, "\(source):\(i + 1): {SHA256} needs 64 hex digits")
                }
                users[user] = .sha256(digest)
            } else {
                users[user] = .plain(Array(secret.utf8))
            }
        }
        self.users = users
    }

    /// Whether `user`/`password` match a line, compared in constant time.
    func check(user: String, password: String) -> Bool {
        guard let secret = users[user] else { return false }
        switch secret {
        case .plain(let p): return Self.equal(p, Array(password.utf8))
        case .sha256(let d): return Self.equal(d, Self.sha256(Array(password.utf8)))
        }
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { o in
            _ = SHA256(b.baseAddress, b.count, o.baseAddress)
        } }
        return out
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    private static func hexBytes(_ s: Substring) -> [UInt8]? {
        var out: [UInt8] = [], hi: UInt8? = nil
        for c in s.utf8 {
            guard let v = hexValue(c) else { return nil }
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return hi == nil ? out : nil
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
