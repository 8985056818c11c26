import CInspectKernels
import COpenSSL
import CustomsCore
import Foundation

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

/// HMAC-SHA256 with the key's inner and outer pad states computed once, so each value costs two
/// SHA-256 block runs rather than a full HMAC set-up. Same output as `SubjectKeys.key`.
/// OpenSSL 3 marks the SHA256_* calls deprecated, but its EVP replacement cannot copy a keyed
/// state without an allocation per value, which is the cost this type exists to avoid.
/// A class: a value table's key requests then pass a reference, not a copy of the two states and
/// the tables (a `memcpy` per key). Immutable once made.
final class KeyHasher: Sendable {
    private let inner: SHA256_CTX
    private let outer: SHA256_CTX
    /// The inner state after "kind:", per kind (indexed like `DetectorKind.allCases`).
    private let prefixed: [SHA256_CTX]
    /// "kind:" per kind, then "minor:acct:" for account ids, back to back; `prefixStart[t]..<prefixStart[t + 1]`.
    private let prefixes: [UInt8]
    private let prefixStart: [Int]

    /// The hasher for `secret`, keyed once per process (bodies of one gateway share one secret).
    static func shared(secret: [UInt8]) -> KeyHasher { KeyHasherCache.shared.hasher(secret: secret) }

    init(secret: [UInt8]) {
        var key = secret
        if key.count > 64 {
            var d = [UInt8](repeating: 0, count: 32)
            SHA256(secret, secret.count, &d)
            key = d
        }
        key += [UInt8](repeating: 0, count: 64 - key.count)
        let ipad = key.map { $0 ^ 0x36 }, opad = key.map { $0 ^ 0x5c }
        var inner = SHA256_CTX(), outer = SHA256_CTX()
        SHA256_Init(&inner); SHA256_Update(&inner, ipad, 64)
        SHA256_Init(&outer); SHA256_Update(&outer, opad, 64)
        var prefixed: [SHA256_CTX] = [], prefixes: [UInt8] = [], prefixStart = [0]
        for kind in DetectorKind.allCases {
            var c = inner
            let p = Array((kind.rawValue + ":").utf8)
            SHA256_Update(&c, p, p.count)
            prefixed.append(c)
            prefixes += p
            prefixStart.append(prefixes.count)
        }
        prefixes += Array((DetectorKind.minor.rawValue + ":acct:").utf8)
        prefixStart.append(prefixes.count)
        (self.inner, self.outer, self.prefixed, self.prefixes, self.prefixStart) = (inner, outer, prefixed, prefixes, prefixStart)
    }

    func key(kind: DetectorKind, _ normalized: String) -> SubjectKey {
        var n = normalized
        return n.withUTF8 { key(tag: kind.tag, $0) }
    }

    /// Whether `ck_hmac_sha256_pair` can run here (checked once per process).
    static let pairs = ck_sha_ni() != 0

    private func prefixRange(_ tag: UInt8) -> Range<Int> {
        let t = tag == ValueTable.accountTag ? prefixStart.count - 2 : Int(tag)
        return prefixStart[t]..<prefixStart[t + 1]
    }

    /// Identifiers fit one block with their padding (at most 55 bytes of message): then both
    /// halves of the HMAC are one block run each, padded here, without SHA256_Update/Final's copies
    /// and cleansing. Longer values take the general path.
    func fitsOneBlock(tag: UInt8, count: Int) -> Bool { prefixRange(tag).count + count <= 55 }

    /// The inner message's only block: "kind:", the value, 0x80, zeros, and the bit length of the
    /// 64-byte pad block and the message. Only when `fitsOneBlock`.
    private func fillBlock(_ b: UnsafeMutableRawBufferPointer, tag: UInt8, _ normalized: UnsafeBufferPointer<UInt8>) {
        let prefix = prefixRange(tag)
        Self.zero(b)
        prefixes.withUnsafeBytes { ByteSkip.copy($0.baseAddress! + prefix.lowerBound, to: b.baseAddress!, count: prefix.count) }
        if normalized.count > 0 {
            ByteSkip.copy(normalized.baseAddress!, to: b.baseAddress! + prefix.count, count: normalized.count)
        }
        let m = prefix.count + normalized.count
        b[m] = 0x80
        b.storeBytes(of: (UInt64(64 + m) * 8).bigEndian, toByteOffset: 56, as: UInt64.self)
    }

    /// Zeroes a 64-byte block a word at a time (the short copies and zeroing here were `memset` and
    /// `memmove` calls, together about as costly as the block's own work outside SHA-256).
    @inline(__always) private static func zero(_ b: UnsafeMutableRawBufferPointer) {
        for w in 0..<8 { b.storeBytes(of: 0 as UInt64, toByteOffset: w * 8, as: UInt64.self) }
    }

    /// `tag` is `DetectorKind.tag`, or `ValueTable.accountTag` for account ids ("minor:acct:…").
    func key(tag: UInt8, _ normalized: UnsafeBufferPointer<UInt8>) -> SubjectKey {
        guard fitsOneBlock(tag: tag, count: normalized.count) else { return keyByUpdates(tag: tag, normalized) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { block in
            let b = UnsafeMutableRawBufferPointer(block)
            fillBlock(b, tag: tag, normalized)
            var i = inner
            SHA256_Transform(&i, block.baseAddress!)
            // The outer message: the pad block and the inner digest (32 bytes).
            Self.zero(b)
            withUnsafeBytes(of: i.h) { h in
                for w in 0..<8 { b.storeBytes(of: h.load(fromByteOffset: w * 4, as: UInt32.self).bigEndian, toByteOffset: w * 4, as: UInt32.self) }
            }
            b[32] = 0x80
            b.storeBytes(of: (UInt64(64 + 32) * 8).bigEndian, toByteOffset: 56, as: UInt64.self)
            var o = outer
            SHA256_Transform(&o, block.baseAddress!)
            return withUnsafeBytes(of: o.h) { Self.subjectKey($0) }
        }
    }

    /// Two keys at once (`key(tag:_:)` of each), both SHA-256 chains side by side where the CPU
    /// has the SHA extensions (`KeyHasher.pairs`), else one after the other. Both values must
    /// `fitsOneBlock`.
    func keys(tag tagA: UInt8, _ a: UnsafeBufferPointer<UInt8>, tag tagB: UInt8, _ b: UnsafeBufferPointer<UInt8>) -> (SubjectKey, SubjectKey) {
        guard Self.pairs else { return (key(tag: tagA, a), key(tag: tagB, b)) }
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 56) { space in
            let blocks = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: space[0..<32]))
            fillBlock(UnsafeMutableRawBufferPointer(rebasing: blocks[0..<64]), tag: tagA, a)
            fillBlock(UnsafeMutableRawBufferPointer(rebasing: blocks[64..<128]), tag: tagB, b)
            let states = space.baseAddress! + 32, out = space.baseAddress! + 48
            withUnsafeBytes(of: inner.h) { UnsafeMutableRawPointer(states).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            withUnsafeBytes(of: outer.h) { UnsafeMutableRawPointer(states + 8).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            ck_hmac_sha256_pair(states, states + 8, blocks.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                blocks.baseAddress!.assumingMemoryBound(to: UInt8.self) + 64, out, out + 4)
            return (Self.subjectKey(UnsafeRawBufferPointer(start: out, count: 16)),
                    Self.subjectKey(UnsafeRawBufferPointer(start: out + 4, count: 16)))
        }
    }

    /// The first 128 bits of a digest held as host-order words h0..h3.
    private static func subjectKey(_ h: UnsafeRawBufferPointer) -> SubjectKey {
        func word(_ k: Int) -> UInt64 { UInt64(h.load(fromByteOffset: k * 4, as: UInt32.self)) }
        return SubjectKey(hi: word(0) << 32 | word(1), lo: word(2) << 32 | word(3))
    }

    private func keyByUpdates(tag: UInt8, _ normalized: UnsafeBufferPointer<UInt8>) -> SubjectKey {
        var i: SHA256_CTX, o = outer
        if tag == ValueTable.accountTag {
            i = prefixed[Int(DetectorKind.minor.tag)]
            _ = SHA256_Update(&i, "acct:", 5)
        } else {
            i = prefixed[Int(tag)]
        }
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        _ = SHA256_Update(&i, normalized.baseAddress, normalized.count)
        return withUnsafeMutableBytes(of: &digest) { d in
            let p = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            SHA256_Final(p, &i)
            SHA256_Update(&o, p, 32)
            SHA256_Final(p, &o)
            return SubjectKey(hi: UInt64(bigEndian: d.load(fromByteOffset: 0, as: UInt64.self)),
                              lo: UInt64(bigEndian: d.load(fromByteOffset: 8, as: UInt64.self)))
        }
    }
}

/// The last secret's keyed states: computing them costs as much as a dozen keys.
private final class KeyHasherCache: @unchecked Sendable {  // `last` is only touched under `lock`
    static let shared = KeyHasherCache()
    private let lock = NSLock()
    private var last: (secret: [UInt8], hasher: KeyHasher)?

    func hasher(secret: [UInt8]) -> KeyHasher {
        lock.lock(); defer { lock.unlock() }
        if let last, last.secret == secret { return last.hasher }
        let h = KeyHasher(secret: secret)
        last = (secret, h)
        return h
    }
}
