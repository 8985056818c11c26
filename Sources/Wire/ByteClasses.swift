// Byte classification tables for RFC 9110/9112 grammar, looked up once per byte without branching
// on ranges, so the head scanner stays a tight loop.

enum ByteClass {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let token: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(b)] = true }
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(b)] = true }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(b)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] = true }
        return t
    }()

    /// field-value bytes: HTAB, SP, VCHAR, obs-text. Everything else (NUL, CR, LF, other CTLs, DEL) is refused.
    static let fieldValue: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        t[0x09] = true
        for b in 0x20...0xFF where b != 0x7F { t[b] = true }
        return t
    }()

    /// Request-target bytes: VCHAR and obs-text (no whitespace, no controls).
    static let target: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for b in 0x21...0xFF where b != 0x7F { t[b] = true }
        return t
    }()

    @inline(__always) static func isToken(_ b: UInt8) -> Bool { token.withUnsafeBufferPointer { $0[Int(b)] } }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        (b &- 0x41 < 26) ? b | 0x20 : b
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
        var a = utf8.makeIterator()
        var b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case let (x?, y?): if ByteClass.lower(x) != ByteClass.lower(y) { return false }
            default: return false
            }
        }
    }
}

extension String {
    /// Builds a String from wire bytes. Header bytes are Latin-1 in theory and UTF-8 in practice;
    /// invalid UTF-8 is repaired rather than refused so that obs-text never breaks a request.
    init(wire bytes: UnsafeRawBufferPointer) {
        self = String(decoding: bytes, as: UTF8.self)
    }
}
