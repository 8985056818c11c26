/// Streaming CSV/TSV (RFC 4180 quoting). The first row names the fields; every later row is a record.
/// A first row holding an identifier is no header: it is the first record, and no field is named.
/// (The cells before the first that may hold one are not read again: they cannot hold one.)
final class DelimitedParser: BodyParser {
    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }

    private let assembler: RecordAssembler
    private var delimiter: UInt8?
    private var state: State = .fieldStart
    private var cell: ValueBuffer
    /// Whether the header row has been read (the first row with a non-empty cell).
    private var hasHeader = false
    /// Each header name's role, resolved once.
    private var headerRoles: [FieldRole] = []
    /// Per column, which person of the row it describes (`PersonColumns`); empty: one person.
    private var columnPeople: [UInt8] = []
    /// The person whose scope is open in the row (0: the row's own, no scope of its own).
    private var rowPerson: UInt8 = 0
    /// The roles of the row being read as the header, and whether any of its cells is non-empty.
    private var pendingRoles: [FieldRole] = []
    /// The header's `PersonColumns.person` per column, until the header row ends.
    private var pendingPeople: [UInt8] = []
    private var pendingHasName = false
    private var column = 0
    private var rowHasContent = false
    private var rowOpen = false
    private var sniff: [UInt8] = []

    init(assembler: RecordAssembler, delimiter: UInt8?, maxValueBytes: Int) {
        self.assembler = assembler
        self.delimiter = delimiter
        self.cell = ValueBuffer(limit: maxValueBytes)
    }

    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        if delimiter == nil {
            // Tab-separated if the first line has tabs and no commas. A first line whole in the first
            // chunk is read where it lies, and the chunk parsed without a copy.
            if sniff.isEmpty {
                let nl = ByteSkip.byte(0x0A, in: bytes, from: 0, end: bytes.count)
                if nl < bytes.count {
                    let line = UnsafeBufferPointer(rebasing: bytes[..<nl])
                    delimiter = line.contains(0x09) && !line.contains(0x2C) ? 0x09 : 0x2C
                    run(bytes)
                    return
                }
            }
            sniff.append(contentsOf: bytes)
            guard let nl = sniff.firstIndex(of: 0x0A) ?? (sniff.count > 65_536 ? sniff.count : nil) else { return }
            let line = sniff[..<nl]
            delimiter = line.contains(0x09) && !line.contains(0x2C) ? 0x09 : 0x2C
            let buffered = sniff
            sniff = []
            buffered.withUnsafeBufferPointer { run($0) }
            return
        }
        run(bytes)
    }

    private func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        let d = delimiter!
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch state {
            case .fieldStart:
                if c == 0x22 { state = .quoted; rowHasContent = true }
                else if c == d { endCell() }
                else if c == 0x0A { endCell(); endRow() }
                else if c == 0x0D { }
                else { state = .unquoted; rowHasContent = true; continue }
            case .unquoted:
                let j = ByteSkip.cellEnd(in: bytes, from: i, end: n, delimiter: d)
                // A whole cell inside this chunk is inspected where it lies, without a copy.
                if cell.isEmpty && j < n && (bytes[j] == d || bytes[j] == 0x0A) && j - i <= cell.limit {
                    endCell(UnsafeBufferPointer(rebasing: bytes[i..<j]), inPlace: true)
                    if bytes[j] == 0x0A { endRow() }
                    i = j + 1
                    state = startField(bytes, &i, delimiter: d)
                    continue
                }
                appendCell(UnsafeBufferPointer(rebasing: bytes[i..<j]))
                i = j
                if j < n {
                    let e = bytes[j]
                    if e == d { endCell(); state = .fieldStart }
                    else if e == 0x0A { endCell(); endRow(); state = .fieldStart }
                }
            case .quoted:
                let j = ByteSkip.quotedCellEnd(in: bytes, from: i, end: n)
                // A whole quoted cell without doubled quotes, ended by a delimiter or LF inside this
                // chunk, is inspected where it lies (what the copy would hold, read in place).
                if cell.isEmpty && j + 1 < n && (bytes[j + 1] == d || bytes[j + 1] == 0x0A) && j - i <= cell.limit {
                    endCell(UnsafeBufferPointer(rebasing: bytes[i..<j]), inPlace: true)
                    if bytes[j + 1] == 0x0A { endRow() }
                    i = j + 2
                    state = startField(bytes, &i, delimiter: d)
                    continue
                }
                appendCell(UnsafeBufferPointer(rebasing: bytes[i..<j]))
                i = j
                if j < n { state = .quoteInQuoted }
            case .quoteInQuoted:
                if c == 0x22 { appendCell(0x22); state = .quoted }
                else if c == d { endCell(); state = .fieldStart }
                else if c == 0x0A { endCell(); endRow(); state = .fieldStart }
                else if c == 0x0D { }
                else { appendCell(c); state = .unquoted }  // lenient: `"a"b` reads as `ab`
            }
            i += 1
        }
    }

    /// The state after a cell read in place, its next cell's first byte (at `i`) read in the same
    /// round as `.fieldStart` would read it when it opens a cell (a quote is consumed).
    @inline(__always) private func startField(_ bytes: UnsafeBufferPointer<UInt8>, _ i: inout Int, delimiter d: UInt8) -> State {
        guard i < bytes.count else { return .fieldStart }
        let c = bytes[i]
        if c == 0x22 { rowHasContent = true; i += 1; return .quoted }
        if c == d || c == 0x0A || c == 0x0D { return .fieldStart }
        rowHasContent = true
        return .unquoted
    }

    func finish() throws(UninspectableError) {
        if delimiter == nil {
            let buffered = sniff
            sniff = []
            delimiter = buffered.contains(0x09) && !buffered.contains(0x2C) ? 0x09 : 0x2C
            buffered.withUnsafeBufferPointer { run($0) }
        }
        if state == .quoted { throw UninspectableError("malformed CSV: body ends inside a quoted field") }
        if rowHasContent || column > 0 { endCell(); endRow() }
        assembler.endDocument()
    }

    private var currentRole: FieldRole? { column < headerRoles.count ? headerRoles[column] : nil }

    // The flush closures do not outlive the call: the assembler is passed to them unretained (a
    // capture of self was a retain and release per cut or quoted cell).
    private func appendCell(_ s: UnsafeBufferPointer<UInt8>) {
        let role = currentRole
        let a = Unmanaged.passUnretained(assembler)
        cell.append(s) { chunk in a._withUnsafeGuaranteedRef { $0.value(baseRole: role, chunk) } }
    }

    private func appendCell(_ c: UInt8) {
        let role = currentRole
        let a = Unmanaged.passUnretained(assembler)
        cell.append(c) { chunk in a._withUnsafeGuaranteedRef { $0.value(baseRole: role, chunk) } }
    }

    private func endCell() {
        if cell.isEmpty { endCell(UnsafeBufferPointer(start: nil, count: 0)); return }
        // The cell's bytes stay where they are while it is ended (nothing appends to the buffer).
        // A cell that never spilled is whole: as good as in place for the UTF-8 check.
        endCell(cell.bytes, inPlace: cell.whole)
        cell.removeAll()
    }

    /// Ends a cell whose bytes are `v` (the cell buffer, or the input itself for a whole cell).
    /// A cell of an open record row of one person, the common case, calls nothing but the
    /// assembler, last (so this function saves no registers); the rest is `endCellOtherwise`.
    @inline(__always) private func endCell(_ v: UnsafeBufferPointer<UInt8>, inPlace: Bool = false) {
        guard hasHeader && rowOpen && columnPeople.isEmpty else { endCellOtherwise(v, inPlace: inPlace); return }
        let r = Self.spreadsheetValue(v)
        let role = currentRole
        column += 1
        // An empty cell (exports are full of them) tells the assembler nothing, in any role.
        if !r.isEmpty { assembler.value(baseRole: role, UnsafeBufferPointer(rebasing: v[r]), inPlace: inPlace) }
    }

    /// `endCell` of a header cell, a row's first cell, or a row of several people.
    @inline(never) private func endCellOtherwise(_ v: UnsafeBufferPointer<UInt8>, inPlace: Bool) {
        let r = Self.spreadsheetValue(v)
        // A header cell names its field; any other (or a first-row cell holding an identifier) is a value.
        if hasHeader || !headerCell(UnsafeBufferPointer(rebasing: v[r])) {
            if !rowOpen { assembler.beginRecord(); assembler.openScope(key: nil); rowOpen = true }
            // An empty cell (exports are full of them) tells the assembler nothing, in any role.
            if !r.isEmpty {
                if !columnPeople.isEmpty { enterPerson() }
                assembler.value(baseRole: currentRole, UnsafeBufferPointer(rebasing: v[r]), inPlace: inPlace)
            }
        }
        column += 1
    }

    /// A cell of the first row: a field name (true), or one that may hold an identifier (false):
    /// then the row is the first record, no field is named, and the row is read from here on.
    @inline(never) private func headerCell(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        if ValueScanner.mayHoldIdentifier(name) {
            hasHeader = true
            pendingRoles.removeAll()
            pendingPeople.removeAll()
            pendingHasName = false
            return false
        }
        let (role, person) = assembler.headerRole(name)
        pendingRoles.append(role)
        pendingPeople.append(person)
        if !name.isEmpty { pendingHasName = true }
        return true
    }

    private func endRow() {
        if !hasHeader {
            // Export headers repeat from body to body: each name is classified once per state.
            if pendingHasName {
                hasHeader = true
                headerRoles = pendingRoles
                columnPeople = PersonColumns.people(pendingPeople, roles: pendingRoles)
            }
            pendingRoles.removeAll(keepingCapacity: true)
            pendingPeople.removeAll(keepingCapacity: true)
            pendingHasName = false
        } else if rowOpen {
            if rowPerson != 0 { assembler.closeScope(); rowPerson = 0 }
            assembler.closeScope()
            assembler.endRecord()
            rowOpen = false
        }
        column = 0
        rowHasContent = false
    }

    /// Puts the current column's values in the scope of the person it describes: each other person
    /// of the row gets a scope of their own inside the row's.
    private func enterPerson() {
        let p = column < columnPeople.count ? columnPeople[column] : 0
        guard p != rowPerson else { return }
        if rowPerson != 0 { assembler.closeScope() }
        if p != 0 { assembler.openScope(key: nil) }
        rowPerson = p
    }

    /// Spreadsheet exports keep long numbers as text with `'…`, `="…"` or a leading tab.
    @inline(__always) static func spreadsheetValue(_ v: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var a = v.startIndex, b = v.endIndex
        while a < b && (v[a] == 0x09 || v[a] == 0x20) { a += 1 }
        while b > a && (v[b - 1] == 0x09 || v[b - 1] == 0x20 || v[b - 1] == 0x0D) { b -= 1 }
        if a < b && v[a] == UInt8(ascii: "'") { return (a + 1)..<b }
        if b - a >= 3 && v[a] == UInt8(ascii: "=") && v[a + 1] == 0x22 && v[b - 1] == 0x22 { return (a + 2)..<(b - 1) }
        return a..<b
    }
}
