import CustomsCore
import Foundation

/// Turns what parsers see (scopes, field names, values) into records and people.
///
/// A scope is an object, a row, a form or a line. The smallest scope holding PI is a fragment of a
/// person; the fragments of one record are joined into people (same name or identifier, or the
/// un-named parts of a record that names one person), and people are joined across records by
/// identifiers in `SubjectTable`.
final class RecordAssembler {
    private struct Scope: ~Copyable {
        var key: Substring?
        /// Whether a person's name here is someone else's, when the parser resolved it from the
        /// scope's name (then `key` is not kept); nil: decided from `key`.
        var namesExcluded: Bool?
        var fragment = Fragment()
        var latitude: Coordinate?
        var longitude: Coordinate?
        /// The numbers of a geo-named array, read as coordinates up to ±180 (nil: not one; checked
        /// when the array ends).
        var geoNumbers: [Coordinate?] = []
        /// The fragment's values and account ids as sets, once it holds `indexedFrom` of them
        /// (see `add(_:id:)`); the first `indexedValues` / `indexedLinks` of them are in the sets.
        var valueIndex: Set<KeyedValue>?
        var indexedValues = 0
        var linkIndex: Set<Int32>?
        var indexedLinks = 0

        /// `fragment.add`: a scope with thousands of values of one kind (an array of e-mail
        /// addresses) would cost a pass over all of them per value; past `indexedFrom`, whether
        /// one is held is asked of a set. A value of a kind not held yet is new without asking
        /// (such values, at most one a kind, join the set when it is next asked).
        /// Not added, and `false`, when `kind` is a document (`isDocument`) and the fragment holds
        /// another: a second resident ID is a second person (the caller starts their fragment).
        @inline(__always) @discardableResult
        mutating func add(_ kind: DetectorKind, id: Int32) -> Bool {
            let v = KeyedValue(kind: kind, id: id)
            if !fragment.kinds.contains(kind) {
                fragment.kinds.insert(kind)
                fragment.append(v)
            } else if fragment.count < RecordAssembler.indexedFrom {
                if !fragment.contains(v) {
                    if isDocument(kind) { return false }
                    fragment.append(v)
                }
            } else {
                return addIndexed(v)
            }
            return true
        }

        @inline(never) private mutating func addIndexed(_ v: KeyedValue) -> Bool {
            if valueIndex == nil { valueIndex = []; indexedValues = 0 }
            while indexedValues < fragment.count { valueIndex!.insert(fragment.value(indexedValues)); indexedValues += 1 }
            if valueIndex!.contains(v) { return true }
            if isDocument(v.kind) { return false }
            valueIndex!.insert(v)
            fragment.append(v)
            indexedValues += 1
            return true
        }

        /// An empty fragment for the next person in this scope (the last one's was moved out).
        mutating func nextFragment() {
            fragment.reset()
            if valueIndex != nil { valueIndex = nil }
            if linkIndex != nil { linkIndex = nil }
        }

        /// `fragment.addLink`, past `indexedFrom` account ids by a set (as `add`).
        @inline(__always) mutating func addLink(_ l: Int32) {
            if fragment.linkCount < RecordAssembler.indexedFrom { fragment.addLink(l) } else { addLinkIndexed(l) }
        }

        @inline(never) private mutating func addLinkIndexed(_ l: Int32) {
            if linkIndex == nil { linkIndex = []; indexedLinks = 0 }
            while indexedLinks < fragment.linkCount { linkIndex!.insert(fragment.link(indexedLinks)); indexedLinks += 1 }
            if linkIndex!.insert(l).inserted {
                fragment.addLink(l, held: false)
                indexedLinks += 1
            }
        }

        /// Reused for the next scope at this depth, keeping the arrays' storage. Fields that are
        /// already empty are not written: each write releases the old value, even a nil one.
        @inline(__always) mutating func reset(key: Substring?, namesExcluded: Bool? = nil) {
            if self.key != nil || key != nil { self.key = key }
            self.namesExcluded = namesExcluded
            fragment.reset()
            if latitude != nil { latitude = nil }
            if longitude != nil { longitude = nil }
            if !geoNumbers.isEmpty { geoNumbers.removeAll(keepingCapacity: true) }
            if valueIndex != nil { valueIndex = nil }
            if linkIndex != nil { linkIndex = nil }
        }
    }

    /// Fragments of this many values (or account ids) and more are checked by a set per scope.
    static let indexedFrom = 32

    private let configuration: InspectionConfiguration
    private var fields: FieldDictionary
    private let scanner: ValueScanner
    private let todayYMD: Int
    /// Open scopes are `scopes[0..<depth]`; the slots beyond (up to `scopeSlots`, all initialised)
    /// are kept for reuse. In memory this object owns: an array property would check its
    /// uniqueness on every write to the innermost scope (each value found).
    private var scopes: UnsafeMutablePointer<Scope>
    private var scopeSlots = 0
    private var scopeCapacity = 16  // what `init` allocates
    private var depth = 0
    private var recordOpen = false
    private var recordFragments = FragmentList()
    private var looseFragments = FragmentList()
    /// Working lists of `commit`, reused from record to record.
    private var groups = FragmentList()
    private var merged = FragmentList()
    /// `commit`'s un-named fragments, the first `namelessCount` (emptied by a store: each
    /// `removeAll(keepingCapacity:)` was a generic call of ≈ 60 instructions).
    private var nameless: [Int] = []
    private var namelessCount = 0
    var table: SubjectTable
    /// The effects of the values inspected in this body, to replay for a value seen again.
    private let memo = ValueMemo()
    /// `memo.roles`, read per value without going through the memo.
    private var memoRoles: UInt32
    /// Whether a value's effects are being recorded for the memo (`memoized`).
    private var recording = false
    /// A person was started (`nextPerson`) while recording.
    private var startedPerson = false
    private(set) var records = 0
    private var scratch: [UInt8] = []
    /// Set by the inspector while the parser reads bytes the charset decoder has checked as UTF-8.
    var inputValidated = false
    /// The value being inspected lies in such bytes, cut at ASCII delimiters: its text needs no check.
    private var valueValidated = false

    init(configuration: InspectionConfiguration) {
        self.configuration = configuration
        self.fields = FieldDictionary(extra: configuration.extraFieldNames)
        todayYMD = Self.civilYMD(configuration.now)
        scanner = ValueScanner(today: todayYMD)
        table = SubjectTable(secret: configuration.secret)
        memoRoles = memo.roles
        scopes = .allocate(capacity: 16)
        scratch.reserveCapacity(256)
    }

    deinit {
        scopes.deinitialize(count: scopeSlots)
        scopes.deallocate()
    }

    /// A new slot at `scopeSlots` (the open scopes fill every slot before it).
    private func appendScope(_ s: consuming Scope) {
        if scopeSlots == scopeCapacity { scopes = scopes.doubled(count: scopeSlots, capacity: &scopeCapacity) }
        (scopes + scopeSlots).initialize(to: s)
        scopeSlots += 1
    }

    /// yyyymmdd of the flow date: a reused state serves only bodies of the same date.
    var flowDate: Int { todayYMD }

    /// Ready for the next body (of a configuration with the same secret, date and field names):
    /// everything the last body found is dropped; the storage and the field-name roles are kept.
    func reset() {
        depth = 0
        recordOpen = false
        recordFragments.removeAll()
        looseFragments.removeAll()
        groups.removeAll()
        merged.removeAll()
        namelessCount = 0
        table.reset()
        memo.reset()
        memoRoles = memo.roles
        recording = false
        records = 0
        inputValidated = false
    }

    /// yyyymmdd of `date` in UTC+8, by the days-to-civil algorithm (Foundation's Calendar is
    /// costly to build once per body).
    static func civilYMD(_ date: Date) -> Int {
        let (y, m, d) = CivilDays.date(fromDayNumber: Int(((date.timeIntervalSince1970 + 8 * 3600) / 86_400).rounded(.down)))
        return y * 10_000 + m * 100 + d
    }

    // MARK: structure

    func beginRecord() {
        if recordOpen { endRecord() }
        recordOpen = true
        records += 1
    }

    func endRecord() {
        guard recordOpen else { return }
        recordOpen = false
        commit(&recordFragments)
    }

    var inRecord: Bool { recordOpen }

    /// End of one top-level document (a JSON value, an NDJSON line): PI found outside any record
    /// (a single object posted on its own) makes one record.
    func endDocument() {
        while depth > 0 { closeScope() }
        endRecord()
        if !looseFragments.isEmpty {
            records += 1
            commit(&looseFragments)
        }
    }

    func openScope(key: Substring?) {
        // A scope without a name (a row, a form, a line) excludes no names: judged here, so that
        // its names' role is not looked up from an absent parent name per value.
        guard let key else { openScope(namesExcluded: false); return }
        if depth < scopeSlots { scopes[depth].reset(key: key) } else { appendScope(Scope(key: key)) }
        depth += 1
    }

    /// A scope whose name the parser has already judged (see `Scope.namesExcluded`).
    @inline(__always) func openScope(namesExcluded: Bool) {
        if depth < scopeSlots {
            scopes[depth].reset(key: nil, namesExcluded: namesExcluded)
        } else {
            appendScope(Scope(key: nil, namesExcluded: namesExcluded))
        }
        depth += 1
    }

    @inline(__always) func closeScope() {
        guard depth > 0 else { return }
        depth -= 1
        // Most scopes hold no coordinates: `finishGeo` is called only when it has a point to make.
        if (scopes[depth].latitude != nil && scopes[depth].longitude != nil) || scopes[depth].geoNumbers.count >= 2 {
            finishGeo(&scopes[depth])
        }
        guard scopes[depth].fragment.hasPI || scopes[depth].fragment.linkCount > 0 else { return }
        // The closed slot is reset when a scope opens there again, so its fragment is moved, not copied.
        setAside(&scopes[depth].fragment)
    }

    /// A person's fragment, moved to the open record's list (or the loose one outside records).
    @inline(__always) private func setAside(_ fragment: inout Fragment) {
        if recordOpen { recordFragments.append(taking: &fragment) } else { looseFragments.append(taking: &fragment) }
    }

    private var parentKey: Substring? { depth > 0 ? scopes[depth - 1].key : nil }

    // MARK: values

    /// One scalar. `key` is its field name (nil in free text); `isNumber` for unquoted JSON numbers.
    func value(key: Substring?, _ v: UnsafeBufferPointer<UInt8>, isNumber: Bool = false) {
        value(key: key, baseRole: nil, v, isNumber: isNumber)
    }

    /// The role of a field name regardless of its parent, for parsers that cache it per name.
    func baseRole(_ key: Substring) -> FieldRole { fields.baseRole(key) }

    /// Header names of the delimited bodies this state has read (kept across its bodies).
    private let headerNames = HeaderNames()

    /// `sharedBaseRole` of the CSV/TSV header name whose bytes are `b`, looked up by its bytes first.
    /// With it, which person of a row the name describes (`PersonColumns`).
    func headerRole(_ b: UnsafeBufferPointer<UInt8>) -> (role: FieldRole, person: UInt8) {
        headerNames.roleAndPerson(b) { name, bytes, hash in sharedBaseRole(name, bytes: bytes, hash: hash) }
    }

    /// `baseRole` of a field name whose bytes hash to `hash` (FNV-1a): without extra field names
    /// a name means the same in every body, so its role is shared across bodies (`SharedNameRoles`).
    func sharedBaseRole(_ name: Substring, bytes: [UInt8], hash: UInt64) -> FieldRole {
        guard configuration.extraFieldNames.isEmpty else { return fields.baseRole(name) }
        if let r = SharedNameRoles.builtIn.role(hash: hash, bytes: bytes) { return r }
        let r = fields.baseRole(name)
        SharedNameRoles.builtIn.remember(hash: hash, bytes: bytes, role: r)
        return r
    }

    /// `baseRole`, when the parser has it cached, saves looking the name up for every value.
    /// `inPlace`: `v` lies in the bytes the parser was just given, between ASCII delimiters, or is
    /// a whole copy of a value it was given (never windowed: the input's bytes less ASCII quotes and
    /// escapes, with escapes decoded to whole UTF-8 sequences), so it is UTF-8 if the input was. `clear`: no digit, `@` or 0xEF lies before it in `v`
    /// (the parser found that while finding the value's end).
    func value(key: Substring?, baseRole: FieldRole?, _ v: UnsafeBufferPointer<UInt8>, isNumber: Bool = false,
               inPlace: Bool = false, clear: Int = 0) {
        take(key: key, baseRole: baseRole, v, isNumber: isNumber, inPlace: inPlace, clear: clear)
    }

    /// `value(key: nil, …)`, the parsers' entry (every JSON and CSV value): without the name's four
    /// words every argument travels in a register.
    func value(baseRole: FieldRole?, _ v: UnsafeBufferPointer<UInt8>, isNumber: Bool = false, inPlace: Bool = false, clear: Int = 0) {
        take(key: nil, baseRole: baseRole, v, isNumber: isNumber, inPlace: inPlace, clear: clear)
    }

    @inline(__always) private func take(key: Substring?, baseRole: FieldRole?, _ v: UnsafeBufferPointer<UInt8>, isNumber: Bool,
                                        inPlace: Bool, clear: Int) {
        valueValidated = inPlace && inputValidated
        defer { valueValidated = false }
        if depth == 0 { openScope(key: nil) }
        let role: FieldRole
        // Only a name's role depends on its parent (reading the parent's name costs a retain).
        if let baseRole, baseRole != .name { role = baseRole }
        else if baseRole != nil, let excluded = scopes[depth - 1].namesExcluded { role = excluded ? .notPerson : .name }
        else { role = looked(key: key, baseRole: baseRole) }
        // The rarer paths are functions of their own: this one, called for every value, stays
        // small enough to start and return cheaply.
        switch role {
        case .latitude, .longitude, .geo:
            if geoValue(role: role, v, isNumber: isNumber) { return }
        case .accountID:
            accountValue(v)
            return
        default: break
        }
        if v.isEmpty { return }
        // A value seen before in this body (under the same role) does again what it did then,
        // found before any pass over it.
        // (A role's raw value is below 32: the masking shift needs no range check.)
        if v.count <= ValueMemo.maxLength && memoRoles &>> UInt32(role.rawValue) & 1 != 0 {
            memoized(v, role: role, clear: clear)
        } else {
            scanned(v, role: role, clear: clear)
        }
    }

    /// `inspect`, or the replay of what it did the last time it was given `v` under `role`.
    @inline(never) private func memoized(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, clear: Int) {
        let h = memo.hash(v, role: role)
        var slot = 0
        let seen = memo.find(v, role: role, hash: h, slot: &slot)
        if seen >= 0 { replay(seen); return }
        memo.begin()
        recording = true
        startedPerson = false
        scanned(v, role: role, clear: clear)
        recording = false
        if !startedPerson { memo.remember(v, role: role, hash: h, slot: slot) }
    }

    /// `clear`: as `value`'s.
    @inline(__always) private func scanned(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, clear: Int) {
        // One pass finds the first byte the full-width check or the identifier scan could act on;
        // most names, addresses and notes have none, and then neither reads the value again.
        let first = ByteSkip.scanStart(in: v, from: clear, end: v.count)
        // Nothing to scan, and a role that reads no plain text (a tier, a status, a note): done.
        if first == v.count {
            // (A switch, not `role.kind`: that is a call per value.)
            switch role {
            case .name, .address, .birthDate, .health, .biometric, .religion, .financial, .passport: break
            default: return
            }
        }
        inspect(v, role: role, first: first)
    }

    /// `first`: where `ByteSkip.scanStart` stopped.
    @inline(__always) private func inspect(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, first: Int) {
        if first < v.count && containsFullWidth(v, from: first) {
            foldedValue(v, role: role)
        } else {
            inspect(v, role: role, scanFrom: first)
        }
    }

    /// What inspecting the memo's entry `i` did, done to the innermost scope.
    @inline(__always) private func replay(_ i: Int) {
        let (effects, fieldBirth, minor) = memo.entry(i)
        for v in effects where !scopes[depth - 1].add(v.kind, id: v.id) { nextPerson(v.kind, id: v.id) }
        if fieldBirth != 0 { scopes[depth - 1].fragment.fieldBirth = Int(fieldBirth) }
        if minor { scopes[depth - 1].fragment.minor = true }
    }

    /// Adds value `id` to the innermost scope, and to what the memo records of the value inspected.
    @inline(__always) private func addToScope(_ kind: DetectorKind, id: Int32) {
        if !scopes[depth - 1].add(kind, id: id) { nextPerson(kind, id: id) }
        if recording { memo.added(KeyedValue(kind: kind, id: id)) }
    }

    /// A second document of one kind in one scope (`张三 110… 李四 110…` on one line,
    /// `"ids":"110…;110…"`, `{"idNo":…,"spouseIdNo":…}`): what the scope held so far is one
    /// person, and `kind`/`id` and what follows it are the next one's.
    @inline(never) private func nextPerson(_ kind: DetectorKind, id: Int32) {
        let i = depth - 1
        setAside(&scopes[i].fragment)
        scopes[i].nextFragment()
        scopes[i].add(kind, id: id)
        // A replay sets the value's minor flag after all its values: right only if the value
        // started no person of its own, so such a value is not remembered.
        if recording { startedPerson = true }
    }

    /// The role of a value whose field's name the parser did not resolve, or a name's under a
    /// parent the parser did not judge.
    @inline(never) private func looked(key: Substring?, baseRole: FieldRole?) -> FieldRole {
        if baseRole != nil { return fields.placed(.name, parent: parentKey) }
        return key.map { fields.role(key: $0, parent: parentKey) } ?? .none
    }

    /// Bytes of storage the memo of this body's values holds.
    var memoFootprint: Int { memo.footprint }

    /// A value holding full-width forms, inspected as their ASCII.
    @inline(never) private func foldedValue(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole) {
        scratch.removeAll(keepingCapacity: true)
        foldFullWidth(v, into: &scratch)
        scratch.withUnsafeBufferPointer { inspect($0, role: role, scanFrom: 0) }
    }

    /// An application's account id: a link between its records, and its identifiers.
    @inline(never) private func accountValue(_ v: UnsafeBufferPointer<UInt8>) {
        if !v.isEmpty && v.count <= 64 {
            // Account ids are interned under their own tag, apart from every detector kind.
            let k = table.values.intern(tag: ValueTable.accountTag, v)
            scopes[depth - 1].addLink(k)
        }
        // Applications key people by their resident ID or e-mail (`passenger_id`, `uid`): those
        // identify the person whatever the field is called. Digits that would only pass a
        // weaker test (a mobile prefix, Luhn) are taken for the account number they are named.
        if !v.isEmpty {
            let me = Unmanaged.passUnretained(self)
            scanner.scan(v, role: .none) { id in
                switch id.kind {
                case .idNumber, .hkID, .twID, .email: me._withUnsafeGuaranteedRef { $0.record(id) }
                default: break
                }
            }
        }
    }

    /// `scanFrom`: where the identifier scan starts (no digit or `@` before it); `v.count` skips it.
    @inline(__always) private func inspect(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, scanFrom: Int) {
        var identified = false
        // The closure does not outlive this call; self used as a guaranteed unmanaged reference
        // spares a retain and release per identifier found (an `unowned(unsafe)` capture is still
        // retained for the call; the scanner's functions are not inlined into this one).
        if scanFrom < v.count {
            let me = Unmanaged.passUnretained(self)
            scanner.scan(v, from: scanFrom, role: role) { id in
                identified = true
                me._withUnsafeGuaranteedRef { $0.record(id) }
            }
        }
        if identified { return }
        switch role {
        case .passport:
            if let p = fieldPassport(v) { addValue(.passport, p) }
        case .name:
            if let name = personName(v, plain: scanFrom >= v.count) { addValue(.name, name) }
        case .address:
            // A masked address (`北京市****`) names no one; `*` looked for sixteen bytes at a time.
            if ByteSkip.byte(UInt8(ascii: "*"), in: v, from: 0, end: v.count) == v.count, let a = trimmed(v), Self.scalarCount(a) >= 4 {
                addValue(.address, a)
            }
        case .birthDate:
            if let ymd = parseDate(v) {
                addDate(ymd)
                scopes[depth - 1].fragment.fieldBirth = ymd
                if recording { memo.namedBirth(ymd) }
                if isMinor(ymd) {
                    scopes[depth - 1].fragment.minor = true
                    if recording { memo.madeMinor() }
                }
            }
        case .health, .biometric, .religion, .financial:
            if let t = trimmed(v), !Self.isEmptyWord(t) { addValue(role.kind!, t) }
        default: break
        }
    }

    // Static strings: testing a value against them costs no reference counting.
    static let organisationWords: [StaticString] = ["公司", "有限", "集团", "银行", "医院", "学校", "大学", "商店", "Inc", "Ltd", "LLC"]
    /// Bytes that start one of `organisationWords`: the words are only tried where one could start.
    private static let organisationStarts: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for w in organisationWords { t[Int(w.utf8Start[0])] = true }
        return t
    }()
    /// The first three bytes of each of `organisationWords` (all at least that long), packed low
    /// first: one integer compare a word where one could start (a Chinese name's every character).
    private static let organisationPrefixes: [UInt32] = organisationWords.map { w in
        UInt32(w.utf8Start[0]) | UInt32(w.utf8Start[1]) << 8 | UInt32(w.utf8Start[2]) << 16
    }

    /// Whether `t` holds one of `organisationWords` (one pass over `t` instead of one per word).
    /// `from`: no word starts before it.
    static func containsOrganisationWord(_ t: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Bool {
        guard t.count - from >= 3 else { return false }
        return organisationStarts.withUnsafeBufferPointer { starts in
            organisationPrefixes.withUnsafeBufferPointer { prefixes in
                for i in from...(t.count - 3) where starts[Int(t[i])] {
                    let key = UInt32(t[i]) | UInt32(t[i + 1]) << 8 | UInt32(t[i + 2]) << 16
                    for k in prefixes.indices where prefixes[k] == key {
                        let w = organisationWords[k]
                        guard w.utf8CodeUnitCount <= t.count - i else { continue }
                        let p = w.utf8Start
                        var m = 3
                        while m < w.utf8CodeUnitCount && t[i + m] == p[m] { m += 1 }
                        if m == w.utf8CodeUnitCount { return true }
                    }
                }
                return false
            }
        }
    }
    static let emptyWords: [StaticString] = ["null", "none", "false", "0", "无", "否", "n/a", "na", "-", "unknown", "未知"]

    /// One of `emptyWords`, ignoring ASCII case.
    static func isEmptyWord(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        guard t.count <= 9, let c = t.first else { return false }
        // The words' first bytes (lower case): a name starting otherwise is none of them.
        switch isUpper(c) ? c | 0x20 : c {
        case UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "0"), UInt8(ascii: "-"), UInt8(ascii: "u"), 0xE5, 0xE6: break
        default: return false
        }
        for w in emptyWords where w.utf8CodeUnitCount == t.count {
            let p = w.utf8Start
            var k = 0
            while k < t.count && p[k] == (isUpper(t[k]) ? t[k] | 0x20 : t[k]) { k += 1 }
            if k == t.count { return true }
        }
        return false
    }

    /// Unicode scalars in valid UTF-8: the bytes that are not continuation bytes.
    static func scalarCount(_ t: UnsafeBufferPointer<UInt8>) -> Int {
        // Continuation bytes (10xxxxxx: bit 7 set, bit 6 clear) counted eight bytes a word.
        let n = t.count
        var continuation = 0
        var i = 0
        while i + 8 <= n {
            let w = ByteSkip.load(t, i)
            continuation += (w & ~(w << 1) & 0x8080_8080_8080_8080).nonzeroBitCount
            i += 8
        }
        while i < n { if t[i] & 0xC0 == 0x80 { continuation += 1 }; i += 1 }
        return n - continuation
    }

    private func record(_ id: Identifier) {
        addValue(id.kind, id.normalized)
        if let b = id.birth {
            // An 18-character ID holds its birth date as yyyymmdd from its seventh character, the
            // year from 1900 on (`Checksums.plausibleBirth`): the digits `String(b)` spells.
            if id.normalized.count == 18 {
                addDate(digits: UnsafeBufferPointer(rebasing: id.normalized[6..<14]))
            } else {
                addDate(b)
            }
            if isMinor(b) {
                scopes[depth - 1].fragment.minor = true
                if recording { memo.madeMinor() }
            }
        }
    }

    /// A birth date, keyed as its decimal digits (what `String(ymd)` spells) without making the String.
    private func addDate(_ ymd: Int) {
        precondition(ymd > 0)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var n = ymd, i = 20
            while n > 0 { i -= 1; buf[i] = UInt8(truncatingIfNeeded: n % 10) &+ 0x30; n /= 10 }
            addDate(digits: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }

    /// A birth date already spelled as `String(ymd)` would spell it.
    private func addDate(digits: UnsafeBufferPointer<UInt8>) {
        let id = table.values.intern(.birthDate, digits)
        addToScope(.birthDate, id: id)
    }

    private func addValue(_ kind: DetectorKind, _ normalized: String) {
        let id = table.values.intern(kind, normalized)
        addToScope(kind, id: id)
    }

    private func addValue(_ kind: DetectorKind, _ normalized: UnsafeBufferPointer<UInt8>) {
        // Text past the charset sniff window may hold invalid UTF-8: key it as the text it decodes
        // to (with U+FFFD), as a String of it would be.
        // Most values that were not validated in place are ASCII (a normalized copy, a cell of a
        // body past the sniff window): the inline scan answers those without the kernel's call.
        guard valueValidated || CharsetDecoder.isASCII(normalized) || CharsetDecoder.validUTF8(normalized, final: true) else {
            addValue(kind, String(decoding: normalized, as: UTF8.self))
            return
        }
        let id = table.values.intern(kind, normalized)
        addToScope(kind, id: id)
    }

    /// Under 14 (不满十四周岁) on the flow's civil date (UTC+8). 周岁 are reached the day after the
    /// birthday (SPC interpretation on minors' cases, art. 2), so on the 14th birthday one is still under 14.
    private func isMinor(_ ymd: Int) -> Bool { ymd + 14 * 10_000 >= todayYMD }

    // MARK: geolocation

    @inline(never) private func geoValue(role: FieldRole, _ v: UnsafeBufferPointer<UInt8>, isNumber: Bool) -> Bool {
        let i = depth - 1
        switch role {
        case .latitude:
            guard let c = Coordinate(v, limit: 90) else { return false }
            scopes[i].latitude = c
        case .longitude:
            guard let c = Coordinate(v, limit: 180) else { return false }
            scopes[i].longitude = c
        default:
            if isNumber {
                scopes[i].geoNumbers.append(Coordinate(v, limit: 180))
            } else {
                // "lat,lon" (or separated by spaces or semicolons): exactly two parts (no array per value).
                var first = 0..<0, second = 0..<0
                var parts = 0
                var a = 0
                for k in 0...v.count {
                    if k == v.count || v[k] == UInt8(ascii: ",") || v[k] == UInt8(ascii: " ") || v[k] == UInt8(ascii: ";") {
                        if k > a {
                            parts += 1
                            if parts == 1 { first = a..<k } else if parts == 2 { second = a..<k } else { return false }
                        }
                        a = k + 1
                    }
                }
                guard parts == 2, let p = Coordinate(UnsafeBufferPointer(rebasing: v[first]), limit: 180),
                      let q = Coordinate(UnsafeBufferPointer(rebasing: v[second]), limit: 180),
                      p.within(90) || q.within(90) else { return false }
                addGeo(&scopes[i], p, q)
                return true
            }
        }
        finishGeo(&scopes[i])
        return true
    }

    /// Called when a geo-named array or scope ends: two precise numbers make a point.
    func closeGeoArray() {
        guard depth > 0 else { return }
        finishGeo(&scopes[depth - 1])
    }

    private func finishGeo(_ s: inout Scope) {
        if let la = s.latitude, let lo = s.longitude {
            addGeo(&s, la, lo)
            s.latitude = nil; s.longitude = nil
        }
        if s.geoNumbers.count >= 2 {
            if s.geoNumbers.count == 2 || s.geoNumbers.count == 3,
               let a = s.geoNumbers[0], let b = s.geoNumbers[1] {
                addGeo(&s, a, b, longitudeFirst: true)
            }
            s.geoNumbers.removeAll()
        }
    }

    /// One point, normalised to "lat,lon" with six decimals. Number arrays are GeoJSON-style
    /// [lon, lat]; text pairs are "lat,lon"; a first value beyond ±90 can only be a longitude.
    private func addGeo(_ s: inout Scope, _ a: Coordinate, _ b: Coordinate, longitudeFirst: Bool = false) {
        let (lat, lon) = !a.within(90) || (longitudeFirst && b.within(90)) ? (b, a) : (a, b)
        // `lat,lon` built on the stack (at most 11 + 1 + 11 bytes, each form stored as sixteen):
        // the scratch array was a retain, a release and three generic appends per point.
        var stack: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let onStack = withUnsafeMutableBytes(of: &stack) { raw -> Int32? in
            let p = raw.baseAddress!
            guard let m = lat.writeSixDecimals(to: p) else { return nil }
            p.storeBytes(of: UInt8(ascii: ","), toByteOffset: m, as: UInt8.self)
            guard let k = lon.writeSixDecimals(to: p + m + 1) else { return nil }
            return table.values.intern(.geo, UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: m + 1 + k))
        }
        if let id = onStack { s.add(.geo, id: id); return }
        scratch.removeAll(keepingCapacity: true)
        lat.appendSixDecimals(to: &scratch)
        scratch.append(UInt8(ascii: ","))
        lon.appendSixDecimals(to: &scratch)
        let id = scratch.withUnsafeBufferPointer { table.values.intern(.geo, $0) }
        s.add(.geo, id: id)
    }

    // MARK: value forms

    /// The value without surrounding white space; nil when empty or `null`.
    private func trimmed(_ v: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var a = 0, b = v.count
        while a < b && (v[a] == 0x20 || v[a] == 0x09 || v[a] == 0x0A || v[a] == 0x0D) { a += 1 }
        while b > a && (v[b - 1] == 0x20 || v[b - 1] == 0x09 || v[b - 1] == 0x0A || v[b - 1] == 0x0D) { b -= 1 }
        if a == b { return nil }
        let t = UnsafeBufferPointer(rebasing: v[a..<b])
        if t.count == 4 && t[0] == UInt8(ascii: "n") && t[1] == UInt8(ascii: "u") && t[2] == UInt8(ascii: "l") && t[3] == UInt8(ascii: "l") {
            return nil
        }
        return t
    }

    private func plainText(_ v: UnsafeBufferPointer<UInt8>) -> String? {
        trimmed(v).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `plain`: `v` holds no digit, `@` or 0xEF (the caller's scan found none), so only a `*` can
    /// disqualify it here, looked for sixteen bytes at a time.
    private func personName(_ v: UnsafeBufferPointer<UInt8>, plain: Bool) -> UnsafeBufferPointer<UInt8>? {
        guard let t = trimmed(v), Self.scalarCount(t) <= 40 else { return nil }
        var i = 0
        // Where an organisation word could start (none before it).
        var wordFrom = 0
        if plain {
            // One pass for a `*` and the bytes organisation words start with: most Latin-script
            // names hold none, and then only the empty words are left to rule out.
            wordFrom = ByteSkip.nameCheck(in: t, from: 0, end: t.count)
            if wordFrom == t.count { return Self.isEmptyWord(t) ? nil : t }
            if ByteSkip.byte(UInt8(ascii: "*"), in: t, from: wordFrom, end: t.count) < t.count { return nil }
            i = t.count
        }
        while i < t.count {
            let c = t[i]
            if c == UInt8(ascii: "*") || c == UInt8(ascii: "@") || isDigit(c) { return nil }
            // Full-width digits ０-９ (EF BC 90–99).
            if c == 0xEF && i + 2 < t.count && t[i + 1] == 0xBC && t[i + 2] &- 0x90 < 10 { return nil }
            i += 1
        }
        if Self.containsOrganisationWord(t, from: wordFrom) { return nil }
        if Self.isEmptyWord(t) { return nil }
        return t
    }

    /// In a passport field: one or two letters and 7–9 digits, or 8–9 digits.
    private func fieldPassport(_ v: UnsafeBufferPointer<UInt8>) -> String? {
        guard let s = plainText(v)?.uppercased() else { return nil }
        let u = Array(s.utf8)
        guard u.count >= 8, u.count <= 10 else { return nil }
        let letters = u.prefix(while: isUpper).count
        guard letters <= 2, u[letters...].allSatisfy(isDigit), u.count - letters >= 7 else { return nil }
        return s
    }

    /// yyyy-mm-dd, yyyy/mm/dd, yyyymmdd, yyyy年m月d日 (and a time after it).
    private func parseDate(_ v: UnsafeBufferPointer<UInt8>) -> Int? {
        // The first three numbers, in fixed slots (no array per value).
        var nums = (0, 0, 0)
        var count = 0
        func take(_ x: Int) {
            switch count { case 0: nums.0 = x; case 1: nums.1 = x; default: nums.2 = x }
            count += 1
        }
        var cur = -1, len = 0
        var firstLen = 0
        for c in v {
            if isDigit(c) {
                cur = (cur < 0 ? 0 : cur) * 10 + Int(c &- 0x30); len += 1
                if len > 8 { return nil }
            } else if cur >= 0 {
                if count == 0 { firstLen = len }
                take(cur); cur = -1; len = 0
                if count == 3 { break }
            }
        }
        if cur >= 0 && count < 3 { if count == 0 { firstLen = len }; take(cur) }
        var y = 0, m = 0, d = 0
        if count == 1 && firstLen == 8 { y = nums.0 / 10_000; m = nums.0 / 100 % 100; d = nums.0 % 100 }
        else if count >= 3 && firstLen == 4 { y = nums.0; m = nums.1; d = nums.2 }
        else { return nil }
        guard Checksums.plausibleBirth(year: y, month: m, day: d, today: todayYMD) else { return nil }
        return y * 10_000 + m * 100 + d
    }

    // MARK: full-width digits

    private func containsFullWidth(_ v: UnsafeBufferPointer<UInt8>, from: Int) -> Bool {
        let n = v.count
        var i = from
        while true {
            i = ByteSkip.byte(0xEF, in: v, from: i, end: n)
            if i + 2 >= n { return false }
            if v[i + 1] == 0xBC { return true }
            i += 1
        }
    }

    /// ０-９ → 0-9, Ｘ/ｘ → X, ＠ → @, ＋ → +, －/　 → separators.
    private func foldFullWidth(_ v: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        let n = v.count
        while i < n {
            if i + 2 < n && v[i] == 0xEF && v[i + 1] == 0xBC {
                let t = v[i + 2]
                switch t {
                case 0x90...0x99: out.append(t - 0x90 + 0x30); i += 3; continue
                case 0xB8: out.append(UInt8(ascii: "X")); i += 3; continue
                case 0xA0: out.append(UInt8(ascii: "@")); i += 3; continue
                case 0x8B: out.append(UInt8(ascii: "+")); i += 3; continue
                case 0x8D: out.append(UInt8(ascii: "-")); i += 3; continue
                default: break
                }
            }
            if i + 2 < n && v[i] == 0xEF && v[i + 1] == 0xBD && v[i + 2] == 0x98 { out.append(UInt8(ascii: "X")); i += 3; continue }
            out.append(v[i]); i += 1
        }
    }

    // MARK: people of one record

    /// The list's fragments are spent: they are moved (storage swapped) into the working lists.
    private func commit(_ fragments: inout FragmentList) {
        defer { fragments.removeAll() }
        guard !fragments.isEmpty else { return }
        if fragments.count == 1 { add(&fragments, 0); return }
        // Join fragments naming the same person or sharing an identifier. Each fragment is lent
        // where it lies to be judged and moved on (its slot then holds a spent one).
        groups.removeAll()
        namelessCount = 0
        for i in 0..<fragments.count {
            fragments.withFragment(i) { f in
                if !f.hasName {
                    if namelessCount < nameless.count { nameless[namelessCount] = i } else { nameless.append(i) }
                    namelessCount += 1
                } else if let g = groups.firstJoinable(&f, .sharing) {
                    groups.absorb(&f, into: g)
                } else {
                    groups.append(taking: &f)
                }
            }
        }
        // Un-named parts (a payment card, a trace id, a position) belong to a person of the record
        // they share an identifier with, else to the first named person, else to one another.
        // By index: `for i in nameless` iterated a copy of the array (a retain and release).
        for k in 0..<namelessCount {
            fragments.withFragment(nameless[k]) { f in
                if let g = groups.firstJoinable(&f, .sharing) {
                    groups.absorb(&f, into: g)
                } else if let g = groups.firstJoinable(&f, .named) {
                    groups.absorb(&f, into: g)
                } else if let g = groups.firstJoinable(&f, .any) {
                    groups.absorb(&f, into: g)
                } else {
                    groups.append(taking: &f)
                }
            }
        }
        // Joining may have made two groups share a value.
        merged.removeAll()
        for k in 0..<groups.count {
            groups.withFragment(k) { f in
                if let m = merged.firstJoinable(&f, .sharing) {
                    merged.absorb(&f, into: m)
                } else {
                    merged.append(taking: &f)
                }
            }
        }
        for k in 0..<merged.count { add(&merged, k) }
    }

    /// Adds fragment `i` to the table, lent where it lies.
    private func add(_ list: inout FragmentList, _ i: Int) {
        list.withFragment(i) { table.add($0) }
    }
}
