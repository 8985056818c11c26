// Byte classification tables for RFC 9110/9112 grammar, looked up once per byte without branching
// on ranges, so the head scanner stays a tight loop.

enum ByteClass {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA,
    /// as a 128-bit set (bytes 0–63 and 64–127); literal constants need no lazy initialisation.
    private static let tokenLow: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tokenHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    @inline(__always) static func isToken(_ b: UInt8) -> Bool {
        b < 64 ? (tokenLow >> UInt64(b)) & 1 != 0 : b < 128 && (tokenHigh >> UInt64(b & 63)) & 1 != 0
    }

    /// field-value bytes: HTAB, SP, VCHAR, obs-text. Everything else (NUL, CR, LF, other CTLs, DEL) is refused.
    @inline(__always) static func isFieldValue(_ b: UInt8) -> Bool {
        (b >= 0x20 && b != 0x7F) || b == htab
    }

    /// Whether every byte is a field-value byte. Checks eight bytes at a time (SWAR): a word
    /// passes when it holds no byte below 0x20 and no 0x7F; words that fail (HTAB included) are
    /// re-checked byte by byte.
    static func allFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= bytes.count {
            let x = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let belowSpace = (x &- ones &* 0x20) & ~x & highs
            let del = x ^ (ones &* 0x7F)
            let hasDel = (del &- ones) & ~del & highs
            if belowSpace | hasDel != 0 {
                for k in i..<(i + 8) where !isFieldValue(bytes[k]) { return false }
            }
            i += 8
        }
        while i < bytes.count {
            if !isFieldValue(bytes[i]) { return false }
            i += 1
        }
        return true
    }

    /// Request-target bytes: VCHAR only. Raw non-ASCII in a URI is refused, as HAProxy does:
    /// origins disagree on how to decode it.
    @inline(__always) static func isTarget(_ b: UInt8) -> Bool { b &- 0x21 < 0x5E }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        (b &- 0x41 < 26) ? b | 0x20 : b
    }

    /// Whether `bytes` spell the lowercase ASCII `literal`, ignoring case.
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for i in 0..<bytes.count where lower(bytes[i]) != expected[i] { return false }
        return true
    }

    /// Whether `bytes` and `text` are the same ASCII, ignoring case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ text: Substring) -> Bool {
        let utf8 = text.utf8
        guard bytes.count == utf8.count else { return false }
        var i = 0
        for b in utf8 {
            if lower(bytes[i]) != lower(b) { return false }
            i += 1
        }
        return true
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }
}

extension StringProtocol {
    /// ASCII case-insensitive comparison without allocating a lowercased copy.
    func asciiCaseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        let fast = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b in
                for i in 0..<a.count where ByteClass.lower(a[i]) != ByteClass.lower(b[i]) { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        for (x, y) in zip(utf8, other.utf8) where ByteClass.lower(x) != ByteClass.lower(y) { return false }
        return true
    }
}

extension StringProtocol {
    /// Case-insensitive comparison with a lowercase ASCII literal: the hot path for field names.
    @inline(__always) public func equalsLowercased(_ literal: StaticString) -> Bool {
        guard utf8.count == literal.utf8CodeUnitCount else { return false }
        // Native strings are contiguous: compare the bytes directly instead of iterating the
        // UTF-8 view through its (unspecialised) witnesses byte by byte.
        if let fast = utf8.withContiguousStorageIfAvailable({ ByteClass.equalsLowercased(UnsafeRawBufferPointer($0), literal) }) {
            return fast
        }
        let expected = literal.utf8Start
        var i = 0
        for b in utf8 {
            if ByteClass.lower(b) != expected[i] { return false }
            i += 1
        }
        return true
    }
}

extension String {
    /// `equalsLowercased` compiled for String, so callers in other modules do not reach the
    /// generic one unspecialised (iterating the UTF-8 view through witnesses byte by byte).
    public func equalsLowercased(_ literal: StaticString) -> Bool {
        guard utf8.count == literal.utf8CodeUnitCount else { return false }
        // Read in place (small strings spill to the stack): `withUTF8` on a copy retained it.
        if let fast = utf8.withContiguousStorageIfAvailable({ ByteClass.equalsLowercased(UnsafeRawBufferPointer($0), literal) }) {
            return fast
        }
        var copy = self
        return copy.withUTF8 { ByteClass.equalsLowercased(UnsafeRawBufferPointer($0), literal) }
    }

    /// Builds a String from wire bytes. Header bytes are Latin-1 in theory and UTF-8 in practice;
    /// invalid UTF-8 is repaired rather than refused so that obs-text never breaks a request.
    init(wire bytes: UnsafeRawBufferPointer) {
        self = String(decoding: bytes, as: UTF8.self)
    }
}

extension UnsafeRawBufferPointer {
    func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        var i = start
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }
}

/// Runs `body` over the UTF-8 bytes of `text` without copying when the storage is contiguous.
func withUTF8Bytes<R>(_ text: some StringProtocol, _ body: (UnsafeRawBufferPointer) throws(WireError) -> R) throws(WireError) -> R {
    let direct = text.utf8.withContiguousStorageIfAvailable { buffer in
        Result { () throws(WireError) in try body(UnsafeRawBufferPointer(buffer)) }
    }
    if let direct { return try direct.get() }
    let copy = Array(text.utf8)
    return try copy.withUnsafeBytes { raw in Result { () throws(WireError) in try body(raw) } }.get()
}
