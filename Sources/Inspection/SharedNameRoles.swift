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

/// FNV-1a of a field name's bytes: the key names are interned under (per body and per process).
@inline(__always) func nameHash<S: Sequence<UInt8>>(_ bytes: S) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for c in bytes { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
    return h
}
