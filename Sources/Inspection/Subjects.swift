import CustomsCore

/// A PI value as kept after the scan: its keyed hash, never the value.
struct KeyedValue: Hashable {
    var kind: DetectorKind
    var key: SubjectKey
}

/// How strongly a kind identifies a person (lower is stronger); the subject key comes from the strongest.
func identifierRank(_ kind: DetectorKind) -> Int {
    switch kind {
    case .idNumber: return 0
    case .passport: return 1
    case .hkID, .twID: return 2
    case .mobile: return 3
    case .email: return 4
    case .bankCard: return 5
    case .name: return 7
    case .address: return 8
    default: return 9
    }
}

/// Kinds that on their own single out one person across records.
@inline(__always) func isStrong(_ kind: DetectorKind) -> Bool { identifierRank(kind) <= 5 }

/// What one object/row/line says about one person.
struct Fragment {
    var values: [KeyedValue] = []
    /// Last four characters per value, for the masked form of the subject.
    var tails: [String] = []
    var kinds: Set<DetectorKind> = []
    /// Account ids: join people within the body, never counted or used as a key.
    var links: [SubjectKey] = []
    var minor = false
    var fieldBirth: Int?
    var isEmpty: Bool { values.isEmpty && kinds.isEmpty }
    var hasPI: Bool { !values.isEmpty || !kinds.isEmpty }
    var hasName: Bool { kinds.contains(.name) }

    mutating func add(_ kind: DetectorKind, key: SubjectKey, tail: String) {
        kinds.insert(kind)
        let v = KeyedValue(kind: kind, key: key)
        if !values.contains(v) { values.append(v); tails.append(tail) }
    }

    mutating func absorb(_ o: Fragment) {
        for (i, v) in o.values.enumerated() where !values.contains(v) { values.append(v); tails.append(o.tails[i]) }
        kinds.formUnion(o.kinds)
        for l in o.links where !links.contains(l) { links.append(l) }
        minor = minor || o.minor
        if fieldBirth == nil { fieldBirth = o.fieldBirth }
    }

    /// Two records of the same kind of document with different numbers are different people.
    func conflicts(with o: Fragment) -> Bool {
        for v in values where isStrong(v.kind) {
            let others = o.values.filter { $0.kind == v.kind }
            if !others.isEmpty && !others.contains(v) { return true }
        }
        return false
    }
}

/// Distinct people across the whole body: union-find over identifier keys.
struct SubjectTable {
    private var parent: [Int32] = []
    private var people: [Fragment] = []
    private var byValue: [SubjectKey: Int32] = [:]
    private(set) var kindValues: [DetectorKind: Set<SubjectKey>] = [:]
    /// Free text names people without identifiers; rows and objects do so on purpose.
    var nameOnlyJoinsNamed = false
    /// In free text the same name in two notes is, far more often than not, the same person.
    var nameLinks = false

    private mutating func find(_ x: Int32) -> Int32 {
        var r = x
        while parent[Int(r)] != r { r = parent[Int(r)] }
        var c = x
        while parent[Int(c)] != r { let n = parent[Int(c)]; parent[Int(c)] = r; c = n }
        return r
    }

    /// Adds one person of one record; links them to everyone already seen sharing a linking value.
    mutating func add(_ p: Fragment) {
        guard p.hasPI else { return }
        for v in p.values { kindValues[v.kind, default: []].insert(v.key) }
        let id = Int32(people.count)
        parent.append(id)
        people.append(p)
        var root = id
        let strongLinks = p.values.reduce(0) { $0 + (isStrong($1.kind) ? 1 : 0) } + p.links.count
        for (i, v) in linkingValues(p).enumerated() {
            if let other = byValue[v] {
                let a = find(other), b = find(root)
                // A shared name (or name + address) is weaker evidence than a document: two people
                // of the same name holding different numbers of one kind stay two people.
                if a != b, i >= strongLinks, people[Int(a)].conflicts(with: people[Int(b)]) { continue }
                if a != b {
                    // Keep the older root so component data accumulates in one place.
                    let (keep, drop) = a < b ? (a, b) : (b, a)
                    parent[Int(drop)] = keep
                    people[Int(keep)].absorb(people[Int(drop)])
                    root = keep
                }
            } else {
                byValue[v] = find(root)
            }
        }
    }

    /// Strong identifiers, account ids, and name+address / name+birth date pairs link; with none of
    /// these, the weaker composite of what there is (a name, an address…).
    private func linkingValues(_ p: Fragment) -> [SubjectKey] {
        var out = p.values.filter { isStrong($0.kind) }.map(\.key) + p.links
        let names = p.values.filter { $0.kind == .name }
        if nameLinks { out += names.map(\.key) }
        for other in p.values where other.kind == .address || other.kind == .birthDate {
            for n in names { out.append(Self.pair(n.key, other.key)) }
        }
        if out.isEmpty { out.append(compositeKey(p)) }
        return out
    }

    private static func pair(_ a: SubjectKey, _ b: SubjectKey) -> SubjectKey {
        SubjectKey(hi: (a.hi &* 0x9E37_79B9_7F4A_7C15) ^ b.lo ^ 0x5151, lo: (a.lo &* 0xC2B2_AE3D_27D4_EB4F) ^ b.hi)
    }

    private func compositeKey(_ p: Fragment) -> SubjectKey {
        var hi: UInt64 = 0x9E37_79B9_7F4A_7C15, lo: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        for v in p.values.sorted(by: { $0.key < $1.key }) where v.kind == .name || v.kind == .address {
            hi = (hi ^ v.key.hi) &* 0x100_0000_01B3; lo = (lo ^ v.key.lo) &* 0x100_0000_01B3
            hi = hi ^ (lo >> 29)
        }
        if p.values.allSatisfy({ $0.kind != .name && $0.kind != .address }), let f = p.values.min(by: { $0.key < $1.key }) {
            return f.key
        }
        return SubjectKey(hi: hi, lo: lo)
    }

    func snapshot(sensitivity: SensitivityMapping) -> (subjects: [DetectedSubject], minors: Int) {
        var roots: [Int] = []
        for i in people.indices {
            var r = Int32(i)
            while parent[Int(r)] != r { r = parent[Int(r)] }
            if r == Int32(i) { roots.append(i) }
        }
        // A person named without any identifier (a ticket that only says "张三") is a person of
        // that name seen with identifiers elsewhere in the body. When several people share the
        // name we cannot tell which, but it is one of them, not one more: the count is the same
        // whichever it joins, so it joins the first.
        var named: [SubjectKey: Int] = [:]
        for i in roots where people[i].values.contains(where: { isStrong($0.kind) }) {
            for v in people[i].values where v.kind == .name && named[v.key] == nil { named[v.key] = i }
        }
        var merged = [Int: Fragment]()
        var absorbed = Set<Int>()
        for i in roots where nameOnlyJoinsNamed && !people[i].values.contains(where: { isStrong($0.kind) }) {
            let targets = Set(people[i].values.filter { $0.kind == .name }.compactMap { named[$0.key] })
            if targets.count == 1, let t = targets.first {
                merged[t, default: people[t]].absorb(people[i])
                absorbed.insert(i)
            }
        }
        var out: [DetectedSubject] = []
        var minors = 0
        for i in roots where !absorbed.contains(i) {
            let p = merged[i] ?? people[i]
            var best: Int?
            for (j, v) in p.values.enumerated() {
                if let b = best {
                    let bv = p.values[b]
                    let (rv, rb) = (identifierRank(v.kind), identifierRank(bv.kind))
                    if rv < rb || (rv == rb && v.key < bv.key) { best = j }
                } else { best = j }
            }
            var kinds = p.kinds
            if p.minor { kinds.insert(.minor); minors += 1 }
            let key: SubjectKey
            let masked: String
            if let b = best {
                let bv = p.values[b]
                key = identifierRank(bv.kind) <= 5 ? bv.key : compositeKey(p)
                masked = "****" + p.tails[b]
            } else {
                key = compositeKey(p); masked = "****"
            }
            out.append(DetectedSubject(key: key, kinds: kinds, isSensitive: sensitivity.isSensitive(kinds), masked: masked))
        }
        return (out, minors)
    }
}
