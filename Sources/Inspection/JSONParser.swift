import Foundation

/// Streaming JSON / NDJSON parser (RFC 8259) as an explicit state machine, so a token may be split
/// anywhere between two `feed` calls. Records are objects and arrays that are array elements (the
/// outermost such; an array of arrays is rows, as a spreadsheet's values are), or, in NDJSON, each
/// line's value. A member name that holds an identifier (a map keyed by phone number or ID) is read
/// as a value, in a scope of its own with the member's value: each entry is its own person.
final class JSONParser: BodyParser {
    /// A plain byte (a `\uXXXX` escape's digits so far are kept apart, in `escapeDigits` and
    /// `escapeCode`): the round of the machine per structural byte loads and dispatches on one byte.
    private enum State: UInt8 {
        case value, firstKeyOrEnd, key, colon, afterValue
        case string, escape, unicode, number, literal
    }

    /// A name is carried as what the assembler needs of it, never as text: its role, and whether
    /// a person's name under it is someone else's (`merchant.name`). Frames hold no references, so
    /// pushing, popping and naming members costs no reference counting.
    private struct Frame {
        var isObject: Bool
        var isRecord: Bool
        /// The assembler has a scope open for this container: every object, and an array in an array.
        var isScoped = false
        /// The field name this container sits under (arrays pass their parent's down to elements).
        var keyRole: FieldRole?
        var keyExcludesNames = false
        /// In an object, the current member's name.
        var memberRole: FieldRole?
        var memberExcludesNames = false
        /// In an object, the person the current member describes (`PersonColumns.person`); not 0:
        /// the assembler has a scope open for them inside the object's.
        var person: UInt8 = 0
        /// In an object, a member's name held an identifier: the assembler has a scope open for the
        /// name and its value, inside the person's, until the next such name, another person's
        /// member or the object's end (a name that follows is not looked at for it: names are hot).
        var keyScope = false

        /// Both in one write (one access to the stack, not two).
        @inline(__always) mutating func setMember(_ role: FieldRole, excludesNames: Bool) {
            memberRole = role
            memberExcludesNames = excludesNames
        }
    }

    /// Member names seen in this body (and the earlier bodies of a reused state), by FNV-1a of
    /// their bytes: records repeat the same names, so each is decoded and classified once.
    private var names = FlatMap64()
    /// Per interned name: its role, whether names under it are not people's, and its bytes
    /// (`nameArena[nameStart[i]..<nameStart[i + 1]]`).
    private var nameRole: [FieldRole] = []
    private var nameExcludes: [Bool] = []
    private var namePerson: [UInt8] = []
    private var nameStart: [Int] = [0]
    private var nameArena: [UInt8] = []
    private static let maxNameBytes = 256
    private static let maxNames = 4096
    /// The names records repeat, found by one probe of a key read straight off their bytes
    /// (`NameKey`) instead of hashing every byte and probing `names`; a miss takes that path.
    private let recent = RecentNames()

    private let assembler: RecordAssembler
    private let lines: Bool
    private var state: State = .value
    /// Open containers, `frames[0..<depth]`, in memory this parser owns: an array property would
    /// check its uniqueness on every member name's write.
    private let frames: UnsafeMutablePointer<Frame>
    private var depth = 0
    private var token: ValueBuffer
    private var stringIsKey = false
    private var highSurrogate: UInt32 = 0
    private var escapeDigits = 0
    private var escapeCode: UInt32 = 0
    private var literal: [UInt8] = []
    /// The body offset of the chunk being read's first byte (during `feed`; after it, of the next
    /// chunk's): a byte's offset is this plus its index, so the loops keep none of their own.
    private var offset = 0
    private var documents = 0
    private static let maxDepth = 256

    init(assembler: RecordAssembler, lines: Bool, maxValueBytes: Int) {
        self.assembler = assembler
        self.lines = lines
        self.token = ValueBuffer(limit: maxValueBytes)
        frames = .allocate(capacity: Self.maxDepth)
        frames.initialize(repeating: Frame(isObject: false, isRecord: false), count: Self.maxDepth)
    }

    deinit { frames.deallocate() }

    /// Ready for the next body of a reused state. Member names and their roles are kept: bodies of
    /// one API repeat them (the table is emptied once full, so it follows the traffic).
    func reset() {
        state = .value
        depth = 0
        token.removeAll(keepingUpTo: 65_536)
        stringIsKey = false
        highSurrogate = 0
        literal.removeAll(keepingCapacity: true)
        offset = 0
        longName = false
        documents = 0
        lastWasOpen = false
        if nameRole.count >= Self.maxNames {
            names = FlatMap64()
            nameRole.removeAll(); nameExcludes.removeAll(); namePerson.removeAll(); nameStart = [0]; nameArena.removeAll()
            recent.clear()
        }
    }

    /// `at`: the index in the chunk being read of the byte at fault (0 once the body has ended).
    private func fail(_ why: String, at i: Int = 0) -> UninspectableError {
        offset += i
        return UninspectableError("malformed \(lines ? "NDJSON" : "JSON"): \(why)", offset: offset)
    }

    /// Whether a person's name in a container opened here would be someone else's.
    private var valueExcludesNames: Bool {
        guard depth != 0 else { return false }
        let i = depth - 1
        return frames[i].isObject ? frames[i].memberExcludesNames : frames[i].keyExcludesNames
    }

    /// The role of the value being read. The name itself is not passed on with values: the role
    /// says all the assembler needs (a name and its role are set together, so no role means no name).
    private var valueRole: FieldRole? {
        guard depth != 0 else { return nil }
        let i = depth - 1
        return frames[i].isObject ? frames[i].memberRole : frames[i].keyRole
    }

    private var topIsObject: Bool? { depth == 0 ? nil : frames[depth - 1].isObject }

    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        // The cycle's strings are cut from this base (a rebased slice checks it for nil each time).
        guard let base = bytes.baseAddress else { return }
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch state {
            case .string:
                // Copy the run of plain characters in one go.
                // A long value's run is found in one pass with where its scan could start
                // (`clear`): a long note is then not read again by the assembler's scan.
                var clear = i
                var isKey = stringIsKey
                var j = isKey ? ByteSkip.stringEnd(in: bytes, from: i, end: n) : ByteSkip.stringEnd(in: bytes, from: i, end: n, clear: &clear)
                // A whole value inside this chunk is inspected where it lies, without a copy. The
                // cycle name → `: "` → value → `, "` → name… stays in this loop while strings lie
                // whole in the chunk, instead of one round of the machine per string. Its state
                // (which string) is kept in locals and stored once, when it leaves:
                // nothing it calls reads them, and the token stays empty throughout.
                if j < n && bytes[j] == 0x22 && token.isEmpty {
                    var inString = true
                    cycle: while j - i <= (isKey ? Self.maxNameBytes : token.limit) {
                        if isKey {
                            memberName(UnsafeBufferPointer(start: base + i, count: j - i))
                        } else {
                            assembler.value(baseRole: valueRole, UnsafeBufferPointer(start: base + i, count: j - i), inPlace: true,
                                            clear: clear - i)
                            if depth == 0 { state = .afterValue; topLevelDone(); i = j + 1; inString = false; break cycle }
                        }
                        // The `:` or `,` after it and the next string's quote; anything else is
                        // left where it is, for the machine. Inside a container every one of
                        // these is white space, in every state met here.
                        var k = j + 1
                        let separator: UInt8 = isKey ? 0x3A : 0x2C
                        let nextIsKey = isKey ? false : frames[depth - 1].isObject
                        // `": "` / `", "` (and `":"`, `","`), the closing quote with them, in one load.
                        let pattern = Self.separatorPattern(separator)
                        if j + 4 <= n, let skip = Self.separatorRun(UnsafeRawPointer(base + j).loadUnaligned(as: UInt32.self), pattern) {
                            k = j + skip
                        } else {
                            var b = Self.skipSpaces(bytes, &k)
                            guard b == separator else {
                                state = isKey ? .colon : .afterValue; i = k; inString = false; break cycle
                            }
                            k += 1
                            b = Self.skipSpaces(bytes, &k)
                            guard b == 0x22 else {
                                state = nextIsKey ? .key : .value; i = k; inString = false; break cycle
                            }
                        }
                        isKey = nextIsKey
                        i = k + 1
                        guard i < n else { break cycle }
                        j = isKey ? ByteSkip.stringEnd(in: bytes, from: i, end: n) : ByteSkip.stringEnd(in: bytes, from: i, end: n, clear: &clear)
                        guard j < n && bytes[j] == 0x22 else { break cycle }
                    }
                    stringIsKey = isKey
                    // Only the `.value` state reads it, and the cycle leaves in that state only
                    // after a separator; every other way there passes `,` or `:`, which clear it.
                    lastWasOpen = false
                    if !inString { continue }
                }
                // Inside a string cut by the chunk's end, an escape, or too long to read in place.
                if i >= n { continue }
                if j > i { appendToken(UnsafeBufferPointer(rebasing: bytes[i..<j])) }
                if j < n {
                    if bytes[j] == 0x22 {
                        try endString()
                        j += 1
                    } else {
                        // Escapes whole in this chunk are decoded here, a run of them at once
                        // (text written `\uXXXX` a character at a time); the machine takes the rest.
                        let k = escapes(bytes, from: j)
                        if k == j { state = .escape; j += 1 } else { j = k }
                    }
                }
                i = j
                continue
            case .escape:
                switch c {
                case 0x22, 0x5C, 0x2F: appendByte(c); state = .string
                case UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
                    appendByte(0x20); state = .string
                case UInt8(ascii: "u"): state = .unicode; escapeDigits = 0; escapeCode = 0
                default: throw fail("bad escape \\\(Character(Unicode.Scalar(c)))", at: i)
                }
            case .unicode:
                let h: UInt32
                switch c {
                case 0x30...0x39: h = UInt32(c - 0x30)
                case 0x41...0x46: h = UInt32(c - 0x41 + 10)
                case 0x61...0x66: h = UInt32(c - 0x61 + 10)
                default: throw fail("bad \\u escape", at: i)
                }
                escapeCode = escapeCode << 4 | h
                escapeDigits += 1
                if escapeDigits == 4 { appendScalar(escapeCode); state = .string }
            case .number:
                var j = i
                while j < n && Self.isNumberByte(bytes[j]) { j += 1 }
                if j > i { appendToken(UnsafeBufferPointer(rebasing: bytes[i..<j])) }
                i = j
                // A number ends at a delimiter, which is then read in .afterValue.
                if j < n { endNumber() }
                continue
            case .literal:
                if c >= 0x61 && c <= 0x7A { literal.append(c); if literal.count > 5 { throw fail("bad literal", at: i) } }
                else {
                    guard literal == Array("true".utf8) || literal == Array("false".utf8) || literal == Array("null".utf8)
                    else { throw fail("bad literal", at: i) }
                    literal.removeAll(keepingCapacity: true)
                    try valueDone()
                    continue
                }
            case .value:
                switch c {
                case 0x20, 0x09, 0x0D, 0x0A: break
                case 0x7B:
                    try open(object: true, at: i)
                    // `{"`: the first name's string entered in this round.
                    if i + 1 < n && bytes[i + 1] == 0x22 { stringIsKey = true; state = .string; i += 2; continue }
                case 0x5B: try open(object: false, at: i)
                case 0x22: stringIsKey = false; state = .string
                case 0x2D, 0x30...0x39:
                    // A whole number inside this chunk is inspected where it lies.
                    // Its digits a word at a time, then any fraction or exponent a byte at a time.
                    var j = ByteSkip.digitRunEnd(in: bytes, from: i + 1, end: n)
                    while j < n && Self.isNumberByte(bytes[j]) { j += 1 }
                    if j < n && token.isEmpty && j - i <= token.limit {
                        assembler.value(baseRole: valueRole, UnsafeBufferPointer(rebasing: bytes[i..<j]), isNumber: true, inPlace: true)
                        state = .afterValue
                        if depth == 0 { topLevelDone() }
                        j = towardNextString(bytes, from: j)
                        i = j
                        continue
                    }
                    appendByte(c); state = .number
                case 0x74, 0x66, 0x6E: literal.append(c); state = .literal
                case 0x5D where topIsObject == false && lastWasOpen:
                    try close(object: false, at: i)
                default:
                    if depth == 0 && documents > 0 && !lines { throw fail("data after the JSON value", at: i) }
                    throw fail("unexpected '\(Character(Unicode.Scalar(c)))'", at: i)
                }
            case .firstKeyOrEnd, .key:
                switch c {
                case 0x20, 0x09, 0x0D, 0x0A: break
                case 0x22: stringIsKey = true; state = .string
                case 0x7D:
                    guard case .firstKeyOrEnd = state else { throw fail("trailing comma", at: i) }
                    try close(object: true, at: i)
                default: throw fail("expected a member name", at: i)
                }
            case .colon:
                switch c {
                case 0x20, 0x09, 0x0D, 0x0A: break
                case 0x3A: state = .value; lastWasOpen = false
                default: throw fail("expected ':'", at: i)
                }
            case .afterValue:
                switch c {
                case 0x20, 0x09, 0x0D: break
                case 0x0A: if depth == 0 && lines { state = .value }
                case 0x2C:
                    guard let isObject = topIsObject else { throw fail("',' outside a container", at: i) }
                    state = isObject ? .key : .value
                    lastWasOpen = false
                case 0x7D:
                    try close(object: true, at: i)
                    // `},` and `}, `: the separator (and one space) read in this round.
                    if depth != 0 && i + 1 < n && bytes[i + 1] == 0x2C {
                        state = frames[depth - 1].isObject ? .key : .value
                        let step = i + 2 < n && bytes[i + 2] == 0x20 ? 3 : 2
                        i += step; continue
                    }
                case 0x5D: try close(object: false, at: i)
                default:
                    // Another top-level value: NDJSON's next line, or JSON values one after another
                    // under `application/json` (an Elasticsearch bulk body, a JSON text sequence),
                    // each read as a document of its own.
                    if depth == 0 { state = .value; continue }
                    throw fail("expected ',' or a closing bracket", at: i)
                }
            }
            i += 1
        }
        offset += n
    }

    private var lastWasOpen = false
    /// The string being read is a name past `maxNameBytes`, read as a value (`nameTooLong`).
    private var longName = false

    /// `"`, `separator`, a space and `"`, as a little-endian word of four bytes.
    @inline(__always) static func separatorPattern(_ separator: UInt8) -> UInt32 {
        0x2220_0022 | UInt32(separator) << 8
    }

    /// The four bytes `w` from a string's closing quote on (`pattern`: `separatorPattern`): where
    /// the next string's opening quote lies from that one when they are `"<sep> "` (3) or `"<sep>"`
    /// (2); nil for anything else (the general path reads it).
    @inline(__always) static func separatorRun(_ w: UInt32, _ pattern: UInt32) -> Int? {
        #if _endian(little)
        if w == pattern { return 3 }
        if w & 0xFF_FFFF == pattern & 0xFFFF | 0x22_0000 { return 2 }
        #endif
        return nil
    }

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// Moves `k` to the first byte at or after it that is not white space, and returns that byte
    /// (0, neither a space nor a separator, past the end: each byte is loaded once). One space
    /// (`": "`, `", "`) is read in line; longer runs (indentation) out of line: a loop here made
    /// the compiler carry a register per value derived from the index through it, spilling the
    /// string cycle's state.
    @inline(__always) private static func skipSpaces(_ bytes: UnsafeBufferPointer<UInt8>, _ k: inout Int) -> UInt8 {
        var b = k < bytes.count ? bytes[k] : 0
        if b == 0x20 { k += 1; b = k < bytes.count ? bytes[k] : 0 }
        guard isSpace(b) else { return b }
        k = skipSpaceRun(bytes, from: k)
        return k < bytes.count ? bytes[k] : 0
    }

    @inline(never) private static func skipSpaceRun(_ bytes: UnsafeBufferPointer<UInt8>, from k: Int) -> Int {
        var k = k
        while k < bytes.count && isSpace(bytes[k]) { k += 1 }
        return k
    }

    /// After a number read in place inside a container (the string cycle does the same for
    /// strings, its state in locals): the `, "` that usually follows is read here instead of one
    /// round of the state machine per byte, leaving the state exactly as those rounds would
    /// (inside the next string when one starts). Anything else (a bracket, a number, an error) is
    /// left where it is, for the machine. Returns the index of the first byte not consumed.
    @inline(__always) private func towardNextString(_ bytes: UnsafeBufferPointer<UInt8>, from j: Int) -> Int {
        guard depth != 0 else { return j }
        var k = j
        let nextIsKey = frames[depth - 1].isObject
        // `, "` (and `,"`) in one load, as the string cycle reads its separators.
        if j + 4 <= bytes.count, let skip = Self.separatorRun(UnsafeRawPointer(bytes.baseAddress! + j - 1).loadUnaligned(as: UInt32.self) | 0xFF, Self.separatorPattern(0x2C) | 0xFF) {
            stringIsKey = nextIsKey
            state = .string
            lastWasOpen = false
            return j + skip
        }
        // Inside a container every one of these is white space, in every state met here.
        guard Self.skipSpaces(bytes, &k) == 0x2C else { return k }
        state = nextIsKey ? .key : .value
        lastWasOpen = false
        k += 1
        if Self.skipSpaces(bytes, &k) == 0x22 {
            stringIsKey = nextIsKey
            state = .string
            k += 1
        }
        return k
    }

    /// Decodes the escapes starting at `j` (a `\\`) that lie whole in `bytes`, back to back, into
    /// the token exactly as the `.escape` and `.unicode` states would. Returns the index after the
    /// last one decoded: `j` when the first is cut by the chunk's end or malformed (the machine then
    /// reads it, and reports a malformed one where it lies).
    private func escapes(_ bytes: UnsafeBufferPointer<UInt8>, from j: Int) -> Int {
        let n = bytes.count
        let p = bytes.baseAddress!
        // The decoded bytes gather on the stack and go to the token together.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { out -> Int in
            // The index and count stay in registers (a captured index was stored at every escape).
            var k = j
            var used = 0
            let o = out.baseAddress!
            escaped: while k + 1 < n && p[k] == 0x5C {
                if used > out.count - 4 {
                    appendDecoded(UnsafeBufferPointer(start: o.assumingMemoryBound(to: UInt8.self), count: used))
                    used = 0
                }
                let c = p[k + 1]
                switch c {
                case UInt8(ascii: "u"):
                    guard k + 6 <= n, let v = Self.hex4(p + k + 2) else { break escaped }
                    // Escaped text is mostly the Basic Multilingual Plane outside the surrogates,
                    // which needs no pairing: encoded straight away.
                    let (packed, count) = v &- 0xD800 < 0x800 ? encodeEscaped(v) : Self.encodeBMP(v)
                    o.storeBytes(of: packed.littleEndian, toByteOffset: used, as: UInt32.self)
                    used += count
                    k += 6
                case 0x22, 0x5C, 0x2F: o.storeBytes(of: c, toByteOffset: used, as: UInt8.self); used += 1; k += 2
                case UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "b"), UInt8(ascii: "f"):
                    o.storeBytes(of: 0x20, toByteOffset: used, as: UInt8.self); used += 1; k += 2
                default: break escaped
                }
            }
            if used > 0 { appendDecoded(UnsafeBufferPointer(start: o.assumingMemoryBound(to: UInt8.self), count: used)) }
            return k
        }
    }

    /// A code unit below 0x10000 that is no surrogate, as UTF-8 packed low first, and its count
    /// (what `encodeEscaped` gives for it, whatever surrogate is pending).
    @inline(__always) static func encodeBMP(_ v: UInt32) -> (packed: UInt32, count: Int) {
        if v < 0x80 { return (v, 1) }
        if v < 0x800 { return ((0xC0 | v >> 6) | (0x80 | v & 0x3F) << 8, 2) }
        return ((0xE0 | v >> 12) | (0x80 | v >> 6 & 0x3F) << 8 | (0x80 | v & 0x3F) << 16, 3)
    }

    /// Bytes decoded from escapes, into the token as the per-byte appends would put them: a name
    /// keeps its first `maxNameBytes`; a value's bytes go in at once when they cannot reach the
    /// limit (below it no byte spills), else a byte at a time.
    private func appendDecoded(_ s: UnsafeBufferPointer<UInt8>) {
        if stringIsKey || token.count + s.count <= token.limit { appendToken(s); return }
        let role = valueRole
        for c in s { token.append(c) { chunk in assembler.value(baseRole: role, chunk) } }
    }

    /// The value of the four hex digits at `p` (of `\uXXXX`), nil when one is not a hex digit.
    /// Judged and converted four bytes at once: each byte is ASCII, and a digit (0x30–0x39) or,
    /// with bit 5 set, a letter a–f (0x61–0x66) — each range a pair of additions whose bit 7 says
    /// which side of a bound the byte is on (no byte passes 0x7F + 0x50, so nothing carries into
    /// the next byte); a digit's value is its low four bits, a letter's those plus 9.
    @inline(__always) static func hex4(_ p: UnsafePointer<UInt8>) -> UInt32? {
        let w = UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)
        let high: UInt32 = 0x8080_8080
        guard w & high == 0 else { return nil }
        let digit = (w &+ 0x5050_5050) & ~(w &+ 0x4646_4646) & high
        let l = w | 0x2020_2020
        let letter = (l &+ 0x1F1F_1F1F) & ~(l &+ 0x1919_1919) & high
        guard digit | letter == high else { return nil }
        // Per byte, first digit lowest: its value, then the four nibbles in order, first highest.
        let v = (l & 0x0F0F_0F0F) &+ (letter >> 7) &* 9
        #if _endian(little)
        return (v & 0xFF) << 12 | (v >> 8 & 0xFF) << 8 | (v >> 16 & 0xFF) << 4 | v >> 24
        #else
        return (v >> 24) << 12 | (v >> 16 & 0xFF) << 8 | (v >> 8 & 0xFF) << 4 | v & 0xFF
        #endif
    }

    @inline(__always) private static func isNumberByte(_ c: UInt8) -> Bool {
        isDigit(c) || c == 0x2E || c == 0x65 || c == 0x45 || c == 0x2B || c == 0x2D
    }

    func finish() throws(UninspectableError) {
        switch state {
        case .number: endNumber()
        case .literal:
            guard literal == Array("true".utf8) || literal == Array("false".utf8) || literal == Array("null".utf8)
            else { throw fail("bad literal") }
            try valueDone()
        default: break
        }
        if depth != 0 { throw fail("body ends inside \(frames[depth - 1].isObject ? "an object" : "an array")") }
        switch state {
        case .afterValue: break
        case .value where lines || documents > 0: break
        default: throw fail(documents == 0 ? "empty body" : "body ends inside a value")
        }
    }

    // MARK: tokens

    @inline(__always) private func appendByte(_ c: UInt8) {
        if stringIsKey {
            if token.count < Self.maxNameBytes { token.appendUnlimited(c); return }
            nameTooLong()
        }
        let role = valueRole
        token.append(c) { chunk in assembler.value(baseRole: role, chunk) }
    }

    @inline(__always) private func appendToken(_ s: UnsafeBufferPointer<UInt8>) {
        if stringIsKey {
            if token.count + s.count <= Self.maxNameBytes { token.appendUnlimited(s); return }
            nameTooLong()
        }
        let role = valueRole
        token.append(s) { chunk in assembler.value(baseRole: role, chunk) }
    }

    private func appendScalar(_ v: UInt32) {
        var (packed, count) = encodeEscaped(v)
        if stringIsKey {
            if token.count + count <= Self.maxNameBytes {
                for _ in 0..<count { token.appendUnlimited(UInt8(truncatingIfNeeded: packed)); packed >>= 8 }
                return
            }
            nameTooLong()
        }
        let role = valueRole
        for _ in 0..<count {
            token.append(UInt8(truncatingIfNeeded: packed)) { chunk in assembler.value(baseRole: role, chunk) }
            packed >>= 8
        }
    }

    /// A `\u` escape's code unit as UTF-8, the bytes packed low first (`UTF8.encode` and iterating
    /// its result cost more than the escape's bytes), and their count: 0 for a high surrogate
    /// (kept for its pair) and a lone low one.
    @inline(__always) private func encodeEscaped(_ v: UInt32) -> (packed: UInt32, count: Int) {
        var scalar = v
        if v >= 0xD800 && v < 0xDC00 { highSurrogate = v; return (0, 0) }
        if v >= 0xDC00 && v < 0xE000 {
            guard highSurrogate != 0 else { return (0, 0) }
            scalar = 0x10000 + ((highSurrogate - 0xD800) << 10) + (v - 0xDC00)
            highSurrogate = 0
        }
        guard Unicode.Scalar(scalar) != nil else { return (0, 0) }
        if scalar < 0x80 { return (scalar, 1) }
        if scalar < 0x800 { return ((0xC0 | scalar >> 6) | (0x80 | scalar & 0x3F) << 8, 2) }
        if scalar < 0x1_0000 {
            return ((0xE0 | scalar >> 12) | (0x80 | scalar >> 6 & 0x3F) << 8 | (0x80 | scalar & 0x3F) << 16, 3)
        }
        return ((0xF0 | scalar >> 18) | (0x80 | scalar >> 12 & 0x3F) << 8 | (0x80 | scalar >> 6 & 0x3F) << 16
            | (0x80 | scalar & 0x3F) << 24, 4)
    }

    private func endString() throws(UninspectableError) {
        if longName {
            token.take { assembler.value(baseRole: FieldRole.none, $0) }
            longName = false
            frames[depth - 1].memberRole = frames[depth - 1].keyRole
            state = .colon
            return
        }
        if stringIsKey {
            memberName(token.bytes)
            token.removeAll()
            stringIsKey = false
            state = .colon
            return
        }
        let role = valueRole, whole = token.whole
        // A string that never spilled is whole: as good as in place for the UTF-8 check.
        token.take { assembler.value(baseRole: role, $0, inPlace: whole) }
        try valueDone()
    }

    /// The current member's name (at most `maxNameBytes`): interned in this parser's table (kept
    /// across the bodies of a reused state), its role and placement resolved once.
    /// The common case, a name records repeat, is read in line; the rest is `memberNameMissed`
    /// (kept apart: its registers and frame made every call pay a long prologue). The caller moves
    /// the state on (the string cycle keeps it in locals).
    @inline(__always) private func memberName(_ b: UnsafeBufferPointer<UInt8>) {
        let key = NameKey(b)
        if let e = recent.entry(key), key.count <= NameKey.wholeBytes || nameEquals(e.index, b) {
            frames[depth - 1].setMember(e.role, excludesNames: e.excludesNames)
            if e.person != frames[depth - 1].person { enterPerson(e.person) }
            return
        }
        memberNameMissed(b, key)
    }

    /// A name not in `recent`: looked up by its hash, classified and interned when new.
    @inline(never) private func memberNameMissed(_ b: UnsafeBufferPointer<UInt8>, _ key: NameKey) {
        let top = depth - 1
        let h = nameHash(b)
        if let i = names[h].map(Int.init), nameEquals(i, b) {
            frames[top].setMember(nameRole[i], excludesNames: nameExcludes[i])
            recent.set(key, i, role: nameRole[i], excludesNames: nameExcludes[i], person: namePerson[i])
            if namePerson[i] != frames[top].person { enterPerson(namePerson[i]) }
        } else {
            // Never interned, so a name found above holds none.
            if ValueScanner.mayHoldIdentifier(b) { identifierName(b); return }
            let bytes = Array(b)
            let name = Substring(String(decoding: bytes, as: UTF8.self))
            let role = assembler.sharedBaseRole(name, bytes: bytes, hash: h)
            let excludes = FieldDictionary.excludesNames(parent: name)
            let person = PersonColumns.person(of: name)
            if nameRole.count < Self.maxNames && names[h] == nil {
                names[h] = Int32(nameRole.count)
                recent.set(key, nameRole.count, role: role, excludesNames: excludes, person: person)
                nameRole.append(role)
                nameExcludes.append(excludes)
                namePerson.append(person)
                nameArena.append(contentsOf: b)
                nameStart.append(nameArena.count)
            }
            frames[top].setMember(role, excludesNames: excludes)
            if person != frames[top].person { enterPerson(person) }
        }
    }

    /// A member name holding an identifier (`{"13812345678": {...}}`): not interned (such names
    /// rarely repeat) and not classified; its value takes the role of the object's own name (a map
    /// under `contacts`), and the name is inspected as a value in a scope shared with that value.
    @inline(never) private func identifierName(_ b: UnsafeBufferPointer<UInt8>) {
        openNameScope()
        assembler.value(baseRole: FieldRole.none, b)
    }

    /// A name longer than any field's (`maxNameBytes`) is read whole as a value, as a name holding
    /// an identifier is (cut to its first bytes, it hid whatever came after): the rest of it goes
    /// through the value path, in no role, and `endString` ends it as a name (`longName`).
    @inline(never) private func nameTooLong() {
        openNameScope()
        frames[depth - 1].memberRole = FieldRole.none
        stringIsKey = false
        longName = true
    }

    /// The scope of a name read as a value and of its member's value, which takes the role of the
    /// object's own name.
    private func openNameScope() {
        let top = depth - 1
        frames[top].memberRole = frames[top].keyRole
        frames[top].memberExcludesNames = frames[top].keyExcludesNames
        if frames[top].keyScope { assembler.closeScope() }
        assembler.openScope(namesExcluded: false)
        frames[top].keyScope = true
    }

    /// The object's members from here on describe `person` (a flat order object's `receiver_*`
    /// after its `buyer_*`): each other person gets a scope of their own inside the object's.
    @inline(never) private func enterPerson(_ person: UInt8) {
        let top = depth - 1
        if frames[top].keyScope { assembler.closeScope(); frames[top].keyScope = false }
        if frames[top].person != 0 { assembler.closeScope() }
        if person != 0 { assembler.openScope(namesExcluded: false) }
        frames[top].person = person
    }

    private func nameEquals(_ i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = nameStart[i], end = nameStart[i + 1]
        guard end - start == b.count else { return false }
        return nameArena.withUnsafeBufferPointer { a in
            b.isEmpty || ByteSkip.equal(a.baseAddress! + start, b.baseAddress!, count: b.count)
        }
    }

    private func endNumber() {
        let role = valueRole
        token.take { assembler.value(baseRole: role, $0, isNumber: true) }
        // A number ends at a delimiter, which is then read in .afterValue.
        state = .afterValue
        if depth == 0 { topLevelDone() }
    }

    private func valueDone() throws(UninspectableError) {
        state = .afterValue
        if depth == 0 { topLevelDone() }
    }

    private func topLevelDone() {
        documents += 1
        assembler.endDocument()
    }

    // MARK: containers

    /// `at`: its bracket's index in the chunk being read.
    @inline(__always) private func open(object: Bool, at i: Int) throws(UninspectableError) {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)", at: i) }
        let parentIsArray = topIsObject == false
        let excludes = valueExcludesNames, keyRole = valueRole
        let scoped = object || parentIsArray
        var isRecord = false
        if scoped && !assembler.inRecord && (parentIsArray || (lines && depth == 0)) {
            assembler.beginRecord()
            isRecord = true
        }
        if scoped { assembler.openScope(namesExcluded: excludes) }
        frames[depth] = Frame(isObject: object, isRecord: isRecord, isScoped: scoped, keyRole: keyRole, keyExcludesNames: excludes)
        depth += 1
        state = object ? .firstKeyOrEnd : .value
        lastWasOpen = !object
    }

    /// `at`: its bracket's index in the chunk being read.
    private func close(object: Bool, at i: Int) throws(UninspectableError) {
        guard topIsObject == object else { throw fail("mismatched '\(object ? "}" : "]")'", at: i) }
        depth -= 1
        let isRecord = frames[depth].isRecord
        if object {
            if frames[depth].keyScope { assembler.closeScope() }
            if frames[depth].person != 0 { assembler.closeScope() }
            assembler.closeScope()
            if isRecord { assembler.endRecord() }
        } else {
            assembler.closeGeoArray()
            if frames[depth].isScoped {
                assembler.closeScope()
                if isRecord { assembler.endRecord() }
            }
        }
        lastWasOpen = false
        try valueDone()
    }
}
