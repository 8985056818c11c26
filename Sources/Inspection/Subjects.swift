import CustomsCore

/// A PI value as kept during the scan: its id in the body's `ValueTable`, never the value.
struct KeyedValue: Hashable {
    var kind: DetectorKind
    var id: Int32
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

/// Identity documents: one person holds one number of each, so two numbers are two people.
@inline(__always) func isDocument(_ kind: DetectorKind) -> Bool {
    kind == .idNumber || kind == .passport || kind == .hkID || kind == .twID
}

/// Kinds that on their own single out one person across records.
@inline(__always) func isStrong(_ kind: DetectorKind) -> Bool { identifierRank(kind) <= 5 }

/// What one object/row/line says about one person.
///
/// Values and account ids are the first `count` / `linkCount` elements of memory the fragment
/// owns, allocated with the first of each, grown by doubling and never shrunk: emptying a fragment
/// for the next scope is two stores, and a value added is a store, not an array's uniqueness
/// check. Non-copyable, so that no two fragments ever share that memory; a fragment moves
/// (`FragmentList.append(taking:)` swaps it with a spent one) or is lent, never copied.
struct Fragment: ~Copyable {
    // Counts and capacities are 32-bit and the birth date a plain yyyymmdd (0: none), so that a
    // fragment is 48 bytes, not 80: it is swapped whole into a list at every scope's end.
    /// Not read (nor freed) while its capacity is 0: then a placeholder, not memory.
    private var store = UnsafeMutablePointer<KeyedValue>(bitPattern: MemoryLayout<KeyedValue>.alignment)!
    /// Account ids (`ValueTable` ids): join people within the body, never counted or used as a key.
    private var linkStore = UnsafeMutablePointer<Int32>(bitPattern: MemoryLayout<Int32>.alignment)!
    private var storedCount: Int32 = 0
    private var capacity: Int32 = 0
    private var storedLinkCount: Int32 = 0
    private var linkCapacity: Int32 = 0
    var kinds = KindSet()
    private var birth: Int32 = 0
    var minor = false
    /// How many values are held.
    var count: Int { Int(storedCount) }
    var linkCount: Int { Int(storedLinkCount) }
    /// The birth date (yyyymmdd) a field of the fragment's scope named.
    var fieldBirth: Int? {
        get { birth == 0 ? nil : Int(birth) }
        set { birth = Int32(truncatingIfNeeded: newValue ?? 0) }
    }
    var isEmpty: Bool { count == 0 && kinds.isEmpty }
    var hasPI: Bool { count != 0 || !kinds.isEmpty }
    var hasName: Bool { kinds.contains(.name) }

    init() {}

    deinit {
        if capacity > 0 { store.deallocate() }
        if linkCapacity > 0 { linkStore.deallocate() }
    }

    /// Value `i` (below `count`), in the order added.
    @inline(__always) func value(_ i: Int) -> KeyedValue {
        assert(i >= 0 && i < count)
        return store[i]
    }

    /// Account id `i` (below `linkCount`).
    @inline(__always) func link(_ i: Int) -> Int32 {
        assert(i >= 0 && i < linkCount)
        return linkStore[i]
    }

    func contains(_ v: KeyedValue) -> Bool {
        for i in 0..<count where store[i] == v { return true }
        return false
    }

    func contains(where p: (KeyedValue) -> Bool) -> Bool {
        for i in 0..<count where p(store[i]) { return true }
        return false
    }

    /// Appends `v`, held or not (the caller knows it is not).
    @inline(__always) mutating func append(_ v: KeyedValue) {
        if storedCount == capacity { grow() }
        (store + count).initialize(to: v)
        storedCount += 1
    }

    mutating func add(_ kind: DetectorKind, id: Int32) {
        let v = KeyedValue(kind: kind, id: id)
        // Every held value's kind is in `kinds`: a kind not seen yet is a value not held yet, and
        // most values are the first of their kind in their record.
        if !kinds.contains(kind) {
            kinds.insert(kind)
            append(v)
        } else if !contains(v) {
            append(v)
        }
    }

    /// Adds account id `l` unless held (`held: false`: the caller knows it is not).
    mutating func addLink(_ l: Int32, held: Bool = true) {
        if held { for i in 0..<linkCount where linkStore[i] == l { return } }
        if storedLinkCount == linkCapacity { growLinks() }
        (linkStore + linkCount).initialize(to: l)
        storedLinkCount += 1
    }

    @inline(never) private mutating func grow() {
        var c = Int(capacity)
        if c == 0 { store = .allocate(capacity: 8); c = 8 } else { store = store.doubled(count: count, capacity: &c) }
        capacity = Int32(c)
    }

    @inline(never) private mutating func growLinks() {
        var c = Int(linkCapacity)
        if c == 0 { linkStore = .allocate(capacity: 4); c = 4 } else { linkStore = linkStore.doubled(count: linkCount, capacity: &c) }
        linkCapacity = Int32(c)
    }

    /// Empty again, keeping the storage.
    mutating func reset() {
        storedCount = 0
        storedLinkCount = 0
        kinds = KindSet()
        minor = false
        birth = 0
    }

    /// Adds what `o` holds. `o` is only read; it is lent (`inout`), where it lies in its list.
    mutating func absorb(_ o: inout Fragment) {
        for k in 0..<o.count {
            let v = o.value(k)
            if !contains(v) { append(v) }
        }
        kinds.formUnion(o.kinds)
        for k in 0..<o.linkCount { addLink(o.link(k)) }
        minor = minor || o.minor
        if birth == 0 { birth = o.birth }
    }

    /// Whether `b` holds a strong value or a name this fragment holds. Both are only read; both
    /// are lent (`mutating`, `inout`), see `FragmentList.firstJoinable`.
    mutating func shares(with b: inout Fragment) -> Bool {
        for k in 0..<b.count {
            let v = b.value(k)
            if (isStrong(v.kind) || v.kind == .name) && contains(v) { return true }
        }
        return false
    }

    /// Two records of the same kind of document with different numbers are different people.
    /// E-mail addresses and bank cards do not count (as across records, `holdsOtherDocuments`):
    /// one person often has several, as a list of card objects under their record shows.
    /// (Only reads both; lent as `shares` is.)
    mutating func conflicts(with o: inout Fragment) -> Bool {
        for i in 0..<count {
            let v = store[i]
            guard isStrong(v.kind), v.kind != .email, v.kind != .bankCard else { continue }
            var sameKind = false
            for j in 0..<o.count {
                let w = o.store[j]
                guard w.kind == v.kind else { continue }
                if w.id == v.id { sameKind = false; break }
                sameKind = true
            }
            if sameKind { return true }
        }
        return false
    }
}

/// Fragments in slots whose storage is reused: steady state allocates nothing per record.
///
/// The slots are memory the list owns (`slots` of them initialised, the first `count` in use),
/// reached through a pointer: an array of fragments checked its uniqueness on every slot lent,
/// absorbed into or moved into. Non-copyable, so that no two lists ever share it.
struct FragmentList: ~Copyable {
    /// Not read (nor freed) while its capacity is 0: then a placeholder, not memory.
    private var items = UnsafeMutablePointer<Fragment>(bitPattern: MemoryLayout<Fragment>.alignment)!
    private var capacity = 0
    /// Slots initialised (spent or in use); those past `count` are kept for their arrays' storage.
    private var slots = 0
    private(set) var count = 0
    var isEmpty: Bool { count == 0 }

    init() {}

    deinit {
        guard capacity > 0 else { return }
        items.deinitialize(count: slots)
        items.deallocate()
    }

    /// Moves `f` in without copying its values: `f` gets the storage of a spent slot, to be reset
    /// before it is used again.
    @inline(__always) mutating func append(taking f: inout Fragment) {
        if count == slots { addSlot() }
        swap(&items[count], &f)
        count += 1
    }

    /// One more initialised slot (grown first when full).
    @inline(never) private mutating func addSlot() {
        if slots == capacity {
            if capacity == 0 { items = .allocate(capacity: 8); capacity = 8 } else { items = items.doubled(count: slots, capacity: &capacity) }
        }
        (items + slots).initialize(to: Fragment())
        slots += 1
    }

    /// Adds what `f` holds (only read; lent, see `Fragment.absorb`) to fragment `i`.
    mutating func absorb(_ f: inout Fragment, into i: Int) { items[i].absorb(&f) }

    /// Lends slot `i` where it lies (no copy, no reference counting, no uniqueness check).
    @inline(__always) mutating func withFragment<R>(_ i: Int, _ body: (inout Fragment) -> R) -> R {
        body(&items[i])
    }

    mutating func removeAll() { count = 0 }

    /// Which fragments `firstJoinable` considers: one sharing a strong value or a name with the
    /// fragment (`sharing`), one with a name (`named`), or any.
    enum JoinRule { case sharing, named, any }

    /// The first fragment `f` may join under `rule`, never one holding a different number of a
    /// kind of document `f` holds. `f` is only read; lent (`inout`) where it lies in its own list.
    mutating func firstJoinable(_ f: inout Fragment, _ rule: JoinRule) -> Int? {
        // Every value's kind is in its fragment's `kinds`: without a strong kind or a name in
        // common two fragments share no such value, and without a strong kind in common they
        // cannot conflict. Judged on the kinds first, a fragment is rarely looked into.
        let fKinds = f.kinds.bits, strong = strongKinds, sharable = strong | nameKind
        for i in 0..<count {
            let common = items[i].kinds.bits & fKinds
            switch rule {
            case .sharing: guard common & sharable != 0, items[i].shares(with: &f) else { continue }
            case .named: guard items[i].hasName else { continue }
            case .any: break
            }
            if common & strong == 0 || !items[i].conflicts(with: &f) { return i }
        }
        return nil
    }

    /// The `KindSet` bits of the strong kinds and of names: fields, not static properties (whose
    /// lazy initialisation check is a call per read).
    private let strongKinds = FragmentList.bits { isStrong($0) }
    private let nameKind = FragmentList.bits { $0 == .name }

    private static func bits(of included: (DetectorKind) -> Bool) -> UInt32 {
        var k = KindSet()
        for kind in KindSet.all where included(kind) { k.insert(kind) }
        return k.bits
    }
}

/// Distinct people across the whole body: union-find over identifier ids.
///
/// The people, their union-find parents and their value chains are storage the table owns
/// (`PeopleStore`), written through pointers after one uniqueness check per person added, not one
/// per array written; the table stays a value (a shared store is copied before a write).
struct SubjectTable {
    /// Every distinct value of the body; HMACs only for what becomes a subject key.
    var values: ValueTable
    private var people = PeopleStore()
    /// Linking value → a person holding it. Keys: a strong value's or account's id; name+address /
    /// name+birth pairs (top bit); composites of names and addresses (second bit).
    private var byValue = FlatMap64()
    /// Free text names people without identifiers; rows and objects do so on purpose.
    var nameOnlyJoinsNamed = false
    /// In free text the same name in two notes is, far more often than not, the same person.
    var nameLinks = false
    /// A person who repeats one already held is not appended (`add`); off only in tests, which
    /// compare the two ways.
    var repeatsJoinDirectly = true
    /// People appended so far (joined ones included).
    var peopleAppended: Int { people.count }
    /// At most this many name + address / birth date pairs link one fragment's person.
    static let maxPairLinks = 1024
    /// The mask of a subject without an identifier value.
    private static let bareMask = MaskText("****")

    init(secret: [UInt8]) {
        values = ValueTable(secret: secret)
    }

    @inline(__always) private mutating func writablePeople() -> PeopleStore {
        if !isKnownUniquelyReferenced(&people) { people = people.copy() }
        return people
    }

    /// Empty again for the next body of a reused state, keeping the storage.
    mutating func reset() {
        values.reset()
        writablePeople().reset()
        byValue.reset()
        nameOnlyJoinsNamed = false
        nameLinks = false
    }

    var footprint: Int { values.footprint + people.footprint }

    /// Adds one person of one record; links them to everyone already seen sharing a linking value.
    mutating func add(_ p: borrowing Fragment) {
        guard p.hasPI else { return }
        values.markCounted(p)
        let s = writablePeople()
        let (strongLinks, linked) = linkingValues(p, into: s)
        // Every linking value looked up at once, those seen first here linked to this person (the
        // index `append` gives them): a later join does not change whom they lead to (`find`
        // answers the same root for the person and the root it joins).
        let id = Int32(s.count)
        let others = s.links
        let unknown = byValue.valuesOrInsert(others, id)
        // A person holds one resident ID (passport, HK/TW ID) at a time, while a phone or e-mail
        // is often a family's: a child registered under a parent's phone is not the parent.
        let document = p.kinds.contains(.idNumber) || p.kinds.contains(.passport) || p.kinds.contains(.hkID) || p.kinds.contains(.twID)
        // Most people of a body come again (a customer on every order): every linking value known
        // and leading to one person who holds every value already. Appended, they would join that
        // person (below: a strong link joins unless this person holds a document and it is not
        // one; then their document numbers are known, so a document link joins, or they hold none,
        // so none differs) and add nothing but kinds; so only the kinds are added. A person never
        // appended changes no other person's index order, so every later join keeps the same
        // root. A value a known linking value stands for is held: the person who first had that
        // link held it, and a root's chain holds every value its people held.
        if repeatsJoinDirectly, unknown == 0, strongLinks > 0, let r = s.soleRoot(of: others),
           s.holdsAll(p, root: r, linked: linked) {
            s.addKinds(of: p, to: r)
            return
        }
        let appended = s.append(p)
        assert(appended == id)
        // Always a root: it starts as one, and a join keeps the older of two roots.
        var root = id
        for i in others.indices where others[i] != UInt64.max {
            let a = s.find(Int32(truncatingIfNeeded: others[i])), b = root
            // A shared name (or name + address) is weaker evidence than a document: two people
            // of the same name holding different numbers of one kind stay two people.
            if a != b, i >= strongLinks, s.holdsOtherDocuments(Int(a), than: Int(b)) { continue }
            if a != b, i < strongLinks, document, !Self.isDocumentLink(p, i), s.holdsOtherDocuments(Int(a), than: Int(b), mobiles: false) { continue }
            if a != b {
                // Keep the older root so component data accumulates in one place.
                let (keep, drop) = a < b ? (a, b) : (b, a)
                s.parent[Int(drop)] = keep
                s.absorb(Int(drop), into: Int(keep))
                root = keep
            }
        }
    }

    /// Whether strong link `i` of `p` (`linkingValues` writes its strong values first, in order,
    /// then its account ids) is a document number: people sharing one are one person, unchecked.
    private static func isDocumentLink(_ p: borrowing Fragment, _ i: Int) -> Bool {
        var k = 0
        for j in 0..<p.count where isStrong(p.value(j).kind) {
            if k == i {
                let kind = p.value(j).kind
                return kind == .idNumber || kind == .passport || kind == .hkID || kind == .twID
            }
            k += 1
        }
        return false
    }

    /// Strong identifiers, account ids, and name+address / name+birth date pairs link; with none of
    /// these, the weaker composite of what there is (a name, an address…). Into `links`, strong
    /// ones first; returns how many are strong, and which kinds of value are written as (or in)
    /// a linking value.
    private mutating func linkingValues(_ p: borrowing Fragment, into s: PeopleStore) -> (strong: Int, linked: LinkedValues) {
        // One pass writes the strong values and account ids (room for all values made first) and
        // counts the names and what pairs with them; a second only when there are pairs to write.
        var names = 0, paired = 0
        var out = s.linkRoom(p.count + p.linkCount, from: 0)
        var strong = 0
        for j in 0..<p.count {
            let v = p.value(j)
            if isStrong(v.kind) { out[strong] = UInt64(UInt32(v.id)); strong += 1 }
            else if v.kind == .name { names += 1 }
            else if v.kind == .address || v.kind == .birthDate { paired += 1 }
        }
        for j in 0..<p.linkCount { out[strong] = UInt64(UInt32(p.link(j))); strong += 1 }
        s.linkCount = strong
        let nameLinks = nameLinks
        // Every name pairs with every address and birth date: a fragment holding thousands of
        // each (arrays of them in one object, no one person's record) would make millions of
        // links, each a probe and a slot. Past `maxPairLinks` the pairs are not made (its names
        // and addresses still count, and link by name where names link).
        if names * paired > Self.maxPairLinks { paired = 0 }
        let extra = names * (paired + (nameLinks ? 1 : 0))
        guard strong + extra > 0 else {
            let composite = linkComposite(p)
            s.linkRoom(1, from: 0)[0] = composite
            s.linkCount = 1
            return (0, LinkedValues())
        }
        guard extra > 0 else { return (strong, LinkedValues()) }
        out = s.linkRoom(extra, from: strong)
        var k = 0
        for j in 0..<p.count where p.value(j).kind == .name {
            let n = p.value(j)
            if nameLinks { out[k] = UInt64(UInt32(n.id)); k += 1 }
            guard paired > 0 else { continue }
            for o in 0..<p.count where p.value(o).kind == .address || p.value(o).kind == .birthDate {
                out[k] = 1 << 63 | UInt64(UInt32(n.id)) << 31 | UInt64(UInt32(p.value(o).id)); k += 1
            }
        }
        s.linkCount = strong + k
        return (strong, LinkedValues(names: true, paired: paired > 0))
    }

    /// Identity of a person known only by weak values: the set of their names and addresses, else
    /// their value that sorts first by subject key (as the subject key itself would be chosen).
    private mutating func linkComposite(_ p: borrowing Fragment) -> UInt64 {
        var ids: [UInt32] = []
        for k in 0..<p.count where p.value(k).kind == .name || p.value(k).kind == .address { ids.append(UInt32(p.value(k).id)) }
        if ids.isEmpty, p.count > 0 {
            // The first of the values with the smallest key.
            var least = p.value(0).id
            for k in 1..<p.count where values.subjectKey(p.value(k).id) < values.subjectKey(least) { least = p.value(k).id }
            return UInt64(UInt32(least))
        }
        ids.sort()
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in ids { h = (h ^ UInt64(i)).multipliedFullWidth(by: 0xC2B2_AE3D_27D4_EB4F).high ^ (h &* 0x100_0000_01B3) ^ UInt64(i) }
        return 1 << 62 | (h & (1 << 62 - 1))
    }

    /// The subject key of a person without a strong identifier: a keyed composite of their names and
    /// addresses (or their value with the smallest key).
    private mutating func compositeKey(_ p: borrowing Fragment) -> SubjectKey {
        var hi: UInt64 = 0x9E37_79B9_7F4A_7C15, lo: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        var keys: [SubjectKey] = []
        for k in 0..<p.count where p.value(k).kind == .name || p.value(k).kind == .address { keys.append(values.subjectKey(p.value(k).id)) }
        if keys.isEmpty {
            var least: SubjectKey?
            for j in 0..<p.count { let k = values.subjectKey(p.value(j).id); if least == nil || k < least! { least = k } }
            if let least { return least }
        }
        for k in keys.sorted() {
            hi = (hi ^ k.hi) &* 0x100_0000_01B3; lo = (lo ^ k.lo) &* 0x100_0000_01B3
            hi = hi ^ (lo >> 29)
        }
        return SubjectKey(hi: hi, lo: lo)
    }

    mutating func snapshot(sensitivity: SensitivityMapping) -> (subjects: [DetectedSubject], minors: Int) {
        let people = self.people
        var roots: [Int] = []
        roots.reserveCapacity(people.count)
        for i in 0..<people.count {
            var r = Int32(i)
            while people.parent[Int(r)] != r { r = people.parent[Int(r)] }
            if r == Int32(i) { roots.append(i) }
        }
        // A person named without any identifier (a ticket that only says "张三") is a person of
        // that name seen with identifiers elsewhere in the body. When several people share the
        // name we cannot tell which, but it is one of them, not one more: the count is the same
        // whichever it joins, so it joins the first.
        var named: [Int32: Int] = [:]
        // The people others joined, each in a fragment of `merged`: person → slot.
        var mergedAt: [Int: Int] = [:]
        var merged = FragmentList()
        var absorbed = Set<Int>()
        var scratch = Fragment()
        if nameOnlyJoinsNamed {
            for i in roots {
                people.fill(&scratch, person: i)
                guard scratch.contains(where: { isStrong($0.kind) }) else { continue }
                for k in 0..<scratch.count where scratch.value(k).kind == .name && named[scratch.value(k).id] == nil {
                    named[scratch.value(k).id] = i
                }
            }
            for i in roots {
                people.fill(&scratch, person: i)
                guard !scratch.contains(where: { isStrong($0.kind) }) else { continue }
                var targets = Set<Int>()
                for k in 0..<scratch.count where scratch.value(k).kind == .name {
                    if let t = named[scratch.value(k).id] { targets.insert(t) }
                }
                if targets.count == 1, let t = targets.first {
                    let slot: Int
                    if let k = mergedAt[t] { slot = k } else {
                        var m = Fragment()
                        people.fill(&m, person: t)
                        slot = merged.count
                        merged.append(taking: &m)
                        mergedAt[t] = slot
                    }
                    merged.absorb(&scratch, into: slot)
                    absorbed.insert(i)
                }
            }
        }
        // The keys are computed ahead, two at a time where the CPU can run two SHA-256 chains side
        // by side; `detected` then finds them made.
        if values.hashesInPairs {
            var ids: [Int32] = []
            ids.reserveCapacity(roots.count * 2)
            for i in roots where mergedAt.isEmpty || (!absorbed.contains(i) && mergedAt[i] == nil) {
                people.keyedIDs(person: i, into: &ids)
            }
            values.prepareKeys(ids)
        }
        var minors = 0
        var sensitiveKinds = KindSet()
        for k in sensitivity.sensitiveKinds { sensitiveKinds.insert(k) }
        // Written in place: at most one subject per root (an append per subject checked the
        // array's uniqueness and capacity and copied the subject twice).
        let out = [DetectedSubject](unsafeUninitializedCapacity: roots.count) { buffer, written in
            // Only free text merges people here; elsewhere the two tables are empty and not hashed into.
            for i in roots where mergedAt.isEmpty || !absorbed.contains(i) {
                let subject: DetectedSubject
                if !mergedAt.isEmpty, let k = mergedAt[i] {
                    subject = merged.withFragment(k) { m in
                        if m.minor { minors += 1 }
                        return detected(m, sensitiveKinds: sensitiveKinds)
                    }
                } else if let one = people.soleStrongest(person: i) {
                    // Most people: one value of their strongest kind, a document or contact. The key,
                    // mask and kinds are read where they lie; no copy of the person's values is made.
                    let (kinds, minor) = people.kinds(person: i)
                    subject = detected(one, kinds: kinds, minor: minor, sensitiveKinds: sensitiveKinds)
                    if minor { minors += 1 }
                } else {
                    people.fill(&scratch, person: i)
                    subject = detected(scratch, sensitiveKinds: sensitiveKinds)
                    if scratch.minor { minors += 1 }
                }
                (buffer.baseAddress! + written).initialize(to: subject)
                written += 1
            }
        }
        return (out, minors)
    }

    /// `detected` of a person whose only value of their strongest kind is `best`, a strong one.
    private mutating func detected(_ best: Int32, kinds: KindSet, minor: Bool, sensitiveKinds: KindSet) -> DetectedSubject {
        var kindBits = kinds
        if minor { kindBits.insert(.minor) }
        return DetectedSubject(key: values.subjectKey(best), kinds: DetectorKinds(bits: kindBits.bits),
                               isSensitive: kindBits.bits & sensitiveKinds.bits != 0, mask: values.maskText(best))
    }

    private mutating func detected(_ p: borrowing Fragment, sensitiveKinds: KindSet) -> DetectedSubject {
        // The strongest kind; among values of that rank, the smallest key.
        var best: KeyedValue?
        var bestKey: SubjectKey?
        for k in 0..<p.count {
            let v = p.value(k)
            guard let b = best else { best = v; continue }
            let (rv, rb) = (identifierRank(v.kind), identifierRank(b.kind))
            if rv < rb { best = v; bestKey = nil; continue }
            guard rv == rb else { continue }
            let bk = bestKey ?? values.subjectKey(b.id)
            let vk = values.subjectKey(v.id)
            if vk < bk { best = v; bestKey = vk } else { bestKey = bk }
        }
        var kindBits = p.kinds
        if p.minor { kindBits.insert(.minor) }
        let key: SubjectKey
        let mask: MaskText
        if let b = best {
            key = identifierRank(b.kind) <= 5 ? (bestKey ?? values.subjectKey(b.id)) : compositeKey(p)
            mask = values.maskText(b.id)
        } else {
            key = compositeKey(p); mask = Self.bareMask
        }
        return DetectedSubject(key: key, kinds: DetectorKinds(bits: kindBits.bits),
                               isSensitive: kindBits.bits & sensitiveKinds.bits != 0, mask: mask)
    }
}

/// Which values of a person `SubjectTable.linkingValues` wrote a linking value for: always the
/// strong ones; names when they link (alone or paired); addresses and birth dates when paired.
struct LinkedValues {
    var names = false
    var paired = false

    @inline(__always) func covers(_ kind: DetectorKind) -> Bool {
        isStrong(kind) || (kind == .name ? names : paired && (kind == .address || kind == .birthDate))
    }
}

/// The union-find's people in flat storage the table owns (no arrays per person to allocate, copy
/// and free): each person's values are a chain of `nodes`; a person joined into another hands
/// their nodes over. Everything only grows; the first `count` people and `nodeCount` nodes are in
/// use. Written through pointers: `SubjectTable` checks once per person that it is not shared.
private final class PeopleStore {
    private(set) var count = 0
    private var capacity = 64
    /// Per person, their union-find parent (a root is their own).
    private(set) var parent: UnsafeMutablePointer<Int32>
    private var people: UnsafeMutablePointer<Person>
    private var nodes: UnsafeMutablePointer<Node>
    private var nodeCount = 0
    private var nodeCapacity = 256
    /// Per value id, the last `absorb` whose receiving chain held it (and its kind): whether a
    /// value is held already is one read, not a walk of the chain per value moved. The first
    /// `markCount` are written (stamp 0 when never marked).
    private var marks: UnsafeMutablePointer<Mark>
    private var markCount = 0
    private var markCapacity = 256
    private var stamp: UInt32 = 0
    /// One person's linking values (`SubjectTable.linkingValues`): the first `linkCount`.
    private var linkStore: UnsafeMutablePointer<UInt64>
    var linkCount = 0
    private var linkCapacity = 32

    init() {
        parent = .allocate(capacity: capacity)
        people = .allocate(capacity: capacity)
        nodes = .allocate(capacity: nodeCapacity)
        marks = .allocate(capacity: markCapacity)
        linkStore = .allocate(capacity: linkCapacity)
    }

    deinit {
        parent.deallocate()
        people.deallocate()
        nodes.deallocate()
        marks.deallocate()
        linkStore.deallocate()
    }

    /// An independent store holding the same (for a write to a shared one).
    func copy() -> PeopleStore {
        let c = PeopleStore()
        c.reserve(people: count, nodes: nodeCount, marks: markCount, links: linkCount)
        c.parent.initialize(from: parent, count: count)
        c.people.initialize(from: people, count: count)
        c.nodes.initialize(from: nodes, count: nodeCount)
        c.marks.initialize(from: marks, count: markCount)
        c.linkStore.initialize(from: linkStore, count: linkCount)
        c.count = count
        c.nodeCount = nodeCount
        c.markCount = markCount
        c.stamp = stamp
        c.linkCount = linkCount
        return c
    }

    private func reserve(people n: Int, nodes nn: Int, marks nm: Int, links nl: Int) {
        while capacity < n {
            var pc = capacity
            parent = parent.doubled(count: count, capacity: &pc)
            people = people.doubled(count: count, capacity: &capacity)
        }
        while nodeCapacity < nn { nodes = nodes.doubled(count: nodeCount, capacity: &nodeCapacity) }
        while markCapacity < nm { marks = marks.doubled(count: markCount, capacity: &markCapacity) }
        while linkCapacity < nl { linkStore = linkStore.doubled(count: linkCount, capacity: &linkCapacity) }
    }

    func reset() {
        count = 0
        nodeCount = 0
        linkCount = 0
    }

    var footprint: Int {
        capacity * (MemoryLayout<Person>.stride + 4) + nodeCapacity * MemoryLayout<Node>.stride
            + markCapacity * MemoryLayout<Mark>.stride + linkCapacity * 8
    }

    /// The linking values written so far.
    var links: UnsafeMutableBufferPointer<UInt64> { UnsafeMutableBufferPointer(start: linkStore, count: linkCount) }

    /// Room for `room` linking values from `start` on (the first `start` kept); the caller sets
    /// `linkCount` after writing them.
    @inline(__always) func linkRoom(_ room: Int, from start: Int) -> UnsafeMutablePointer<UInt64> {
        while linkCapacity < start + room { linkStore = linkStore.doubled(count: start, capacity: &linkCapacity) }
        return linkStore + start
    }

    /// Adds `p` as a new person, their own root; returns their index.
    @inline(__always) func append(_ p: borrowing Fragment) -> Int32 {
        let id = count
        if id == capacity { reserve(people: id + 1, nodes: 0, marks: 0, links: 0) }
        var person = Person(kinds: p.kinds, minor: p.minor)
        let n = p.count
        if n > 0 {
            let first = nodeCount
            if nodeCapacity < first + n { reserve(people: 0, nodes: first + n, marks: 0, links: 0) }
            // A new person's nodes are consecutive: each links to the next. (Through a local
            // pointer: the property would be read again after every node written.)
            var maxID: Int32 = 0
            let nodes = nodes
            for k in 0..<n {
                let v = p.value(k)
                (nodes + first + k).initialize(to: Node(value: v, next: Int32(first + k + 1)))
                maxID = max(maxID, v.id)
            }
            nodes[first + n - 1].next = -1
            let needed = Int(maxID) + 1
            if markCount < needed {
                if markCapacity < needed { reserve(people: 0, nodes: 0, marks: needed, links: 0) }
                (marks + markCount).initialize(repeating: Mark(), count: needed - markCount)
                markCount = needed
            }
            person.head = Int32(first)
            person.tail = Int32(first + n - 1)
            nodeCount = first + n
        }
        (people + id).initialize(to: person)
        (parent + id).initialize(to: Int32(id))
        count = id + 1
        return Int32(id)
    }

    func find(_ x: Int32) -> Int32 {
        var r = x
        while parent[Int(r)] != r { r = parent[Int(r)] }
        var c = x
        while parent[Int(c)] != r { let n = parent[Int(c)]; parent[Int(c)] = r; c = n }
        return r
    }

    /// Moves the values `keep` does not hold yet from `drop` to the end of `keep`'s chain.
    func absorb(_ drop: Int, into keep: Int) {
        var head = people[keep].head, tail = people[keep].tail
        var n = people[drop].head
        stamp &+= 1
        if stamp == 0 {
            marks.update(repeating: Mark(), count: markCount)
            stamp = 1
        }
        // In locals: written through, the properties would be read again after every store.
        let stamp = stamp, nodes = nodes, marks = marks
        var m = head
        while m >= 0 {
            let v = nodes[Int(m)].value
            marks[Int(v.id)] = Mark(stamp: stamp, kind: v.kind)
            m = nodes[Int(m)].next
        }
        while n >= 0 {
            let next = nodes[Int(n)].next
            let v = nodes[Int(n)].value
            let mark = marks[Int(v.id)]
            var held = mark.stamp == stamp && mark.kind == v.kind
            if mark.stamp == stamp && !held {
                // The id marked with another kind: the chain itself answers.
                var m = head
                while m >= 0 {
                    if nodes[Int(m)].value == v { held = true; break }
                    m = nodes[Int(m)].next
                }
            }
            if !held {
                nodes[Int(n)].next = -1
                if tail >= 0 { nodes[Int(tail)].next = n } else { head = n }
                tail = n
                marks[Int(v.id)] = Mark(stamp: stamp, kind: v.kind)
            }
            n = next
        }
        people[keep].head = head
        people[keep].tail = tail
        people[drop].head = -1
        people[drop].tail = -1
        people[keep].kinds.formUnion(people[drop].kinds)
        people[keep].minor = people[keep].minor || people[drop].minor
    }

    /// The one root every linking value (as `FlatMap64.valuesOrInsert` answered: all known) leads
    /// to; nil when two lead to different people.
    @inline(__always) func soleRoot(of links: UnsafeMutableBufferPointer<UInt64>) -> Int32? {
        let root = find(Int32(truncatingIfNeeded: links[0]))
        for l in links.dropFirst() where find(Int32(truncatingIfNeeded: l)) != root { return nil }
        return root
    }

    /// Whether the chain of `root` holds every value of `p` that no linking value of `p` stands
    /// for (`linked`); false also when that takes more than `maxWalk` nodes to tell.
    @inline(__always) func holdsAll(_ p: borrowing Fragment, root: Int32, linked: LinkedValues) -> Bool {
        let nodes = nodes, head = people[Int(root)].head
        for k in 0..<p.count {
            let v = p.value(k)
            guard !linked.covers(v.kind) else { continue }
            var m = head, walked = 0
            while m >= 0 && nodes[Int(m)].value != v {
                m = nodes[Int(m)].next
                walked += 1
                if walked == Self.maxWalk { return false }
            }
            if m < 0 { return false }
        }
        return true
    }

    /// Nodes of a chain `holdsAll` reads for one value before leaving the person to `append` and
    /// `absorb` (which read it whole anyway).
    static let maxWalk = 64

    /// What joining `p` into `root` adds when `root` holds all of `p`'s values.
    func addKinds(of p: borrowing Fragment, to root: Int32) {
        people[Int(root)].kinds.formUnion(p.kinds)
        people[Int(root)].minor = people[Int(root)].minor || p.minor
    }

    /// Two people who each hold a number of a kind one person has only one of (resident ID,
    /// passport, HK/TW ID, mobile) and share none of them are two people, whatever their names say.
    /// E-mail addresses and bank cards do not count: one person often has several. `mobiles: false`
    /// leaves phones out too (people linked by an identifier may have changed phone).
    func holdsOtherDocuments(_ a: Int, than b: Int, mobiles: Bool = true) -> Bool {
        var n = people[a].head
        while n >= 0 {
            let v = nodes[Int(n)].value
            n = nodes[Int(n)].next
            guard v.kind == .idNumber || v.kind == .passport || v.kind == .hkID || v.kind == .twID || (mobiles && v.kind == .mobile) else { continue }
            var sameKind = false
            var m = people[b].head
            while m >= 0 {
                let w = nodes[Int(m)].value
                m = nodes[Int(m)].next
                guard w.kind == v.kind else { continue }
                if w.id == v.id { sameKind = false; break }
                sameKind = true
            }
            if sameKind { return true }
        }
        return false
    }

    /// Appends the ids of person `i`'s values whose subject keys `SubjectTable.detected` reads:
    /// the values of the strongest kind present, and for a person without a strong identifier
    /// also the names and addresses the composite key is made of.
    func keyedIDs(person i: Int, into ids: inout [Int32]) {
        var rank = Int.max
        var n = people[i].head
        while n >= 0 { rank = min(rank, identifierRank(nodes[Int(n)].value.kind)); n = nodes[Int(n)].next }
        n = people[i].head
        while n >= 0 {
            let v = nodes[Int(n)].value
            n = nodes[Int(n)].next
            let r = identifierRank(v.kind)
            if r == rank || (rank > 5 && (v.kind == .name || v.kind == .address)) { ids.append(v.id) }
        }
    }

    /// The id of person `i`'s value of their strongest kind when that kind is strong and they hold
    /// one value of its rank; nil otherwise (several to choose from by key, or no strong value).
    func soleStrongest(person i: Int) -> Int32? {
        var rank = Int.max, best: Int32 = -1, ties = false
        var n = people[i].head
        while n >= 0 {
            let v = nodes[Int(n)].value
            n = nodes[Int(n)].next
            let r = identifierRank(v.kind)
            if r < rank { rank = r; best = v.id; ties = false } else if r == rank { ties = true }
        }
        return rank <= 5 && !ties ? best : nil
    }

    func kinds(person i: Int) -> (KindSet, minor: Bool) { (people[i].kinds, people[i].minor) }

    /// `f` holds person `i` (its storage reused).
    func fill(_ f: inout Fragment, person i: Int) {
        f.reset()
        var n = people[i].head
        while n >= 0 {
            f.append(nodes[Int(n)].value)
            n = nodes[Int(n)].next
        }
        f.kinds = people[i].kinds
        f.minor = people[i].minor
    }
}

/// A value id seen in the chain of the current `PeopleStore.absorb` (`stamp`), with the kind it had.
private struct Mark {
    var stamp: UInt32 = 0
    var kind: DetectorKind = .name
}

/// One person: the ends of their value chain in `PeopleStore.nodes`.
private struct Person {
    var head: Int32 = -1
    var tail: Int32 = -1
    var kinds: KindSet
    var minor: Bool
}

private struct Node {
    var value: KeyedValue
    var next: Int32
}
