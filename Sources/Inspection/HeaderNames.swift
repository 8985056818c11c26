/// Roles of CSV/TSV header names already classified by one pooled state, found from the names'
/// bytes: exports repeat their header line from body to body, and classifying a name afresh (a
/// `String`, an array, a locked shared table) costs more per body than reading a small export.
/// Bounded: emptied once it holds `maxNames`.
final class HeaderNames {
    private var slots = FlatMap64()
    private var roles: [FieldRole] = []
    /// Per name, `PersonColumns.person` of it.
    private var persons: [UInt8] = []
    private var starts: [Int] = [0]
    private var arena: [UInt8] = []
    private static let maxNames = 1024

    /// The role of the name whose bytes are `b`; `classify` (given the name decoded as the parser
    /// would, its UTF-8 and `nameHash` of that) for a name not seen yet.
    func role(_ b: UnsafeBufferPointer<UInt8>, classify: (Substring, [UInt8], UInt64) -> FieldRole) -> FieldRole {
        roleAndPerson(b, classify: classify).role
    }

    /// `role`, and which person of a row the name describes (`PersonColumns.person`).
    func roleAndPerson(_ b: UnsafeBufferPointer<UInt8>, classify: (Substring, [UInt8], UInt64) -> FieldRole) -> (role: FieldRole, person: UInt8) {
        let h = nameHash(b)
        if let i = slots[h].map(Int.init), equals(i, b) { return (roles[i], persons[i]) }
        let name = Substring(String(decoding: b, as: UTF8.self))
        let bytes = Array(name.utf8)
        let role = classify(name, bytes, nameHash(bytes))
        let person = PersonColumns.person(of: name)
        if roles.count >= Self.maxNames {
            slots = FlatMap64(); roles.removeAll(); persons.removeAll(); starts = [0]; arena.removeAll()
        }
        if slots[h] == nil {
            slots[h] = Int32(roles.count)
            roles.append(role)
            persons.append(person)
            arena.append(contentsOf: b)
            starts.append(arena.count)
        }
        return (role, person)
    }

    private func equals(_ i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[i], end = starts[i + 1]
        guard end - start == b.count else { return false }
        return arena.withUnsafeBufferPointer { a in b.isEmpty || ByteSkip.equal(a.baseAddress! + start, b.baseAddress!, count: b.count) }
    }
}
