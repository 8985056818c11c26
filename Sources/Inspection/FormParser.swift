/// application/x-www-form-urlencoded. The form is one record; bracketed names
/// (`contacts[0][name]`) group fields into one scope per person. A name that may hold an identifier
/// (`contacts[13812345678]`, a bare `11010519491231002X`) is also read as a value.
final class FormParser: BodyParser {
    private let assembler: RecordAssembler
    private var key: [UInt8] = []
    /// The name outgrew the scan window: what was cut off was read as a value (`spillKey`).
    private var keySpilled = false
    private var value: ValueBuffer
    private var inValue = false
    private var group: String?
    private var opened = false
    /// Field names seen in this form (and the earlier forms of a reused state), by FNV-1a of their raw bytes: the decoded name split into
    /// group and field, and the field's role, worked out once per distinct name.
    private var names = FlatMap64()
    /// Per interned name: its group prefix, its field's role, and its raw bytes
    /// (`nameArena[nameStart[i]..<nameStart[i + 1]]`), in arrays of plain values: reading an entry
    /// retains nothing but a long prefix.
    private var namePrefix: [String?] = []
    private var nameRole: [FieldRole] = []
    private var nameStart: [Int] = [0]
    private var nameArena: [UInt8] = []

    /// Ready for the next body of a reused state; field names and their roles are kept (emptied once full).
    func reset() {
        key.removeAll(keepingCapacity: true)
        value.removeAll(keepingUpTo: 65_536)
        inValue = false
        group = nil
        opened = false
        if nameRole.count >= Self.maxNames {
            names = FlatMap64()
            namePrefix.removeAll(); nameRole.removeAll(); nameStart = [0]; nameArena.removeAll()
        }
    }

    private static let maxNames = 1024
    /// The bytes of a name its role is judged by.
    private static let maxNameBytes = 1024

    init(assembler: RecordAssembler, maxValueBytes: Int) {
        self.assembler = assembler
        self.value = ValueBuffer(limit: maxValueBytes)
    }

    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "&") { pair(); i += 1; continue }
            if !inValue {
                if c == UInt8(ascii: "=") { inValue = true; i += 1; continue }
                // The name's run up to `=` or `&`, in one go.
                var j = i + 1
                while j < n && bytes[j] != UInt8(ascii: "=") && bytes[j] != UInt8(ascii: "&") { j += 1 }
                key.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
                if key.count > value.limit { spillKey() }
                i = j
                continue
            }
            // A value's run up to the next `&` goes in at once when it cannot reach the scan
            // window's limit (below it no byte spills); else a byte at a time, spilling as it fills.
            let j = ByteSkip.byte(UInt8(ascii: "&"), in: bytes, from: i, end: n)
            if value.count + (j - i) <= value.limit {
                value.appendUnlimited(UnsafeBufferPointer(rebasing: bytes[i..<j]))
            } else {
                for k in i..<j { value.append(bytes[k]) { chunk in spill(chunk) } }
            }
            i = j
        }
    }

    func finish() throws(UninspectableError) {
        pair()
        if opened {
            if group != nil { assembler.closeScope() }
            assembler.closeScope()
            assembler.endRecord()
        }
        assembler.endDocument()
    }

    /// A value longer than the scan window: scan what we have under the current field name.
    private func spill(_ chunk: UnsafeBufferPointer<UInt8>) {
        let name = String(decoding: Self.percentDecode(key[...]), as: UTF8.self)
        if !opened { assembler.beginRecord(); assembler.openScope(key: nil); opened = true }
        Self.percentDecode(ArraySlice(chunk)).withUnsafeBufferPointer { assembler.value(key: Substring(name), $0) }
    }

    /// A name longer than the scan window is no field's: read as a value, all but the last bytes
    /// (kept, as a value's are, so that an identifier cut there is read whole with what follows).
    @inline(never) private func spillKey() {
        if !opened { assembler.beginRecord(); assembler.openScope(key: nil); opened = true }
        Self.percentDecode(key[...]).withUnsafeBufferPointer { assembler.value(baseRole: FieldRole.none, $0) }
        key.removeFirst(key.count - ValueBuffer.overlap)
        keySpilled = true
    }

    private func pair() {
        defer { key.removeAll(keepingCapacity: true); value.removeAll(); inValue = false; keySpilled = false }
        guard !key.isEmpty else { return }
        if !opened { assembler.beginRecord(); assembler.openScope(key: nil); opened = true }
        // Names are classified by their first bytes (a long one is no field's anyway).
        let info = key.withUnsafeBufferPointer { nameInfo(UnsafeBufferPointer(rebasing: $0.prefix(Self.maxNameBytes))) }
        if info.prefix != group {
            if group != nil { assembler.closeScope() }
            group = info.prefix
            if let prefix = info.prefix { assembler.openScope(key: Substring(prefix)) }
        }
        if keySpilled || key.count > Self.maxNameBytes {
            // Longer than any field's name: all of it is read, not just the part judged above.
            Self.percentDecode(key[...]).withUnsafeBufferPointer { assembler.value(baseRole: FieldRole.none, $0) }
        } else if let identifier = info.identifier {
            identifier.withUnsafeBufferPointer { assembler.value(baseRole: FieldRole.none, $0) }
        }
        // Decoded where it lies (decoding never lengthens; the buffer is emptied after the pair).
        let count = Self.percentDecodeInPlace(value.mutableBytes)
        assembler.value(baseRole: info.role, UnsafeBufferPointer(rebasing: value.bytes[..<count]))
    }

    /// `percentDecode` written over its own input, from the start; returns the decoded length.
    static func percentDecodeInPlace(_ s: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let n = s.count
        var i = 0, w = 0
        while i < n {
            let c = s[i]
            if c == UInt8(ascii: "+") {
                s[w] = 0x20
            } else if c == UInt8(ascii: "%"), i + 2 < n, let h = hex(s[i + 1]), let l = hex(s[i + 2]) {
                s[w] = h << 4 | l; i += 2
            } else {
                s[w] = c
            }
            w += 1; i += 1
        }
        return w
    }

    @inline(__always) private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// The name's group, its field's role, and its decoded bytes when they may hold an identifier.
    private func nameInfo(_ raw: UnsafeBufferPointer<UInt8>) -> (prefix: String?, role: FieldRole, identifier: [UInt8]?) {
        let h = nameHash(raw)
        if let i = names[h].map(Int.init), nameEquals(i, raw) {
            return (namePrefix[i], nameRole[i], nil)
        }
        let decoded = Self.percentDecode(ArraySlice(raw))
        // Such names are not interned (they rarely repeat), so a name found above holds none.
        let identifier = decoded.withUnsafeBufferPointer { ValueScanner.mayHoldIdentifier($0) } ? decoded : nil
        let name = String(decoding: decoded, as: UTF8.self)
        var field = Substring(name)
        var prefix: String?
        // Searched as a byte: a Character search walks grapheme clusters.
        if let lb = name.utf8.firstIndex(of: UInt8(ascii: "[")) {
            // `a[0][name]` → group `a[0]`, field `name`; `a[]` → field `a`.
            let inner = name[lb...].split(whereSeparator: { $0 == "[" || $0 == "]" })
            if let last = inner.last, !(last.allSatisfy(\.isNumber)) {
                field = last
                // The group is what comes before the bracket that opens the field (`last` shares
                // `name`'s indices; the character before it is that bracket). Counting back from
                // the end assumed a well-formed `…[field]` and trapped on `[ab` or `x[a]]]`.
                prefix = String(name[..<name.index(before: last.startIndex)])
            } else {
                field = name[..<lb]
            }
        } else {
            // `emergency_contact_phone` beside the applicant's own fields: another person's, in a
            // group of its own (named by its person number: numbered people, `contact2_phone`,
            // have no word of their own in `otherPeople`).
            let person = PersonColumns.person(of: field)
            if person != 0 { prefix = "\u{1}person-\(person)" }
        }
        let fieldBytes = Array(field.utf8)
        let role = assembler.sharedBaseRole(field, bytes: fieldBytes, hash: nameHash(fieldBytes))
        if identifier == nil && nameRole.count < Self.maxNames && names[h] == nil {
            names[h] = Int32(nameRole.count)
            namePrefix.append(prefix)
            nameRole.append(role)
            nameArena.append(contentsOf: raw)
            nameStart.append(nameArena.count)
        }
        return (prefix, role, identifier)
    }

    private func nameEquals(_ i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = nameStart[i], end = nameStart[i + 1]
        guard end - start == b.count else { return false }
        return nameArena.withUnsafeBufferPointer { a in b.isEmpty || ByteSkip.equal(a.baseAddress! + start, b.baseAddress!, count: b.count) }
    }

    static func percentDecode(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        percentDecode(s, into: &out)
        return out
    }

    static func percentDecode(_ s: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == UInt8(ascii: "+") { out.append(0x20) }
            else if c == UInt8(ascii: "%"), i + 2 < s.endIndex, let h = hex(s[i + 1]), let l = hex(s[i + 2]) {
                out.append(h << 4 | l); i += 2
            } else { out.append(c) }
            i += 1
        }
    }
}
