import COpenSSL
import CustomsCore

/// Keyed, irreversible subject keys: HMAC-SHA256(secret, kind ":" normalised value), first 128 bits.
/// The kind is mixed in so an e-mail and a name that happen to spell the same never collide.
public enum SubjectKeys {
    public static func key(for normalizedIdentifier: String, kind: DetectorKind, secret: [UInt8]) -> SubjectKey {
        var message = Array(kind.rawValue.utf8)
        message.append(UInt8(ascii: ":"))
        message.append(contentsOf: normalizedIdentifier.utf8)
        return key(message: message, secret: secret)
    }

    static func key(message: [UInt8], secret: [UInt8]) -> SubjectKey {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        secret.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                         m.count, &out, &length)
            }
        }
        return SubjectKey(digest: out[0..<16])
    }
}
