import Foundation

/// Roles of member names under the built-in field dictionaries, shared by every body in the
/// process: bodies of one API repeat the same names, and classifying a name costs far more than
/// looking it up. Only for configurations without extra field names.
final class SharedNameRoles: @unchecked Sendable {  // `roles` is only touched under `lock`
    static let builtIn = SharedNameRoles()
    private let lock = NSLock()
    private var roles: [UInt64: (bytes: [UInt8], role: FieldRole)] = [:]
    private let limit = 16_384

    func role(hash: UInt64, bytes: [UInt8]) -> FieldRole? {
        lock.lock(); defer { lock.unlock() }
        guard let e = roles[hash], e.bytes == bytes else { return nil }
        return e.role
    }

    func remember(hash: UInt64, bytes: [UInt8], role: FieldRole) {
        lock.lock(); defer { lock.unlock() }
        if roles.count < limit && roles[hash] == nil { roles[hash] = (bytes, role) }
    }
}

/// The hash field names are interned under (per body and per process): only for bucketing, as
/// every table that uses it compares the bytes too. Eight bytes a step; the tail read as one
/// overlapping word (or two half-words), not byte by byte.
@inline(__always) func nameHash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
    @inline(__always) func mix(_ a: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return m.high ^ m.low
    }
    let n = b.count
    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(n)
    guard let base = b.baseAddress else { return mix(h) }
    let raw = UnsafeRawPointer(base)
    var i = 0
    while i + 8 <= n {
        h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        i += 8
    }
    guard i < n else { return h }
    if n >= 8 { return mix(h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
    if n >= 4 {
        return mix(h ^ (UInt64(raw.loadUnaligned(as: UInt32.self)) | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32))
    }
    var last: UInt64 = 0
    for k in 0..<n { last |= UInt64(base[k]) << (8 * UInt64(k)) }
    return mix(h ^ last)
}

/// `nameHash` of any sequence of bytes (the same value as for its bytes in a buffer).
func nameHash<S: Sequence<UInt8>>(_ bytes: S) -> UInt64 {
    if let h = bytes.withContiguousStorageIfAvailable({ nameHash($0) }) { return h }
    return Array(bytes).withUnsafeBufferPointer { nameHash($0) }
}
