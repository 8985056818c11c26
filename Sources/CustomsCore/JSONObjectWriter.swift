extension JSONText {
    /// Appends the bytes of `quote(s)` to `out` without building a String: runs that need no escape
    /// are copied whole. The same escapes as `quote` (the audit chain hashes these bytes).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var copied = 0
            var i = 0
            func flush(_ end: Int) {
                if end > copied { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[copied..<end])) }
            }
            while i < u.count {
                let b = u[i]
                var escape: (UInt8, UInt32)? = nil   // a one-letter escape, or 0 and a scalar for \uXXXX
                switch b {
                case UInt8(ascii: "\""): escape = (UInt8(ascii: "\""), 0)
                case UInt8(ascii: "\\"): escape = (UInt8(ascii: "\\"), 0)
                case UInt8(ascii: "\n"): escape = (UInt8(ascii: "n"), 0)
                case UInt8(ascii: "\r"): escape = (UInt8(ascii: "r"), 0)
                case UInt8(ascii: "\t"): escape = (UInt8(ascii: "t"), 0)
                case 0..<0x20: escape = (0, UInt32(b))
                case 0xE2 where i + 2 < u.count && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
                    // U+2028 and U+2029 end lines in JavaScript.
                    escape = (0, u[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                default: break
                }
                guard let (letter, scalar) = escape else { i += 1; continue }
                flush(i)
                out.append(UInt8(ascii: "\\"))
                if letter != 0 {
                    out.append(letter)
                    i += 1
                } else {
                    out.append(UInt8(ascii: "u"))
                    for shift in stride(from: 12, through: 0, by: -4) {
                        let d = UInt8((scalar >> UInt32(shift)) & 15)
                        out.append(d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10)
                    }
                    i += scalar > 0xFF ? 3 : 1
                }
                copied = i
            }
            flush(u.count)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `v` in decimal, at least `width` digits (zero-padded), as `String(v)` would write it.
    public static func appendDecimal(_ v: Int, width: Int = 1, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m != 0
            for _ in n..<max(n, width) { out.append(UInt8(ascii: "0")) }
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }
}

/// Writes one JSON object's bytes field by field, keys in the order they are written, into a
/// buffer the caller owns: no String per field. Records and answers built with it read the same
/// as `JSONText.quote` and `String(Int)` would spell them.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8]
    private var first = true

    /// Starts an object at the end of `buffer`, taking its storage (give it back with `finish`).
    public init(taking buffer: inout [UInt8]) {
        bytes = []
        swap(&bytes, &buffer)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Hands the bytes back to `buffer`; `close` writes the closing brace.
    public mutating func finish(into buffer: inout [UInt8], close: Bool = true) {
        if close { bytes.append(UInt8(ascii: "}")) }
        swap(&bytes, &buffer)
    }

    public mutating func key(_ k: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        JSONText.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ k: String, _ v: String) {
        key(k)
        JSONText.appendQuoted(v, to: &bytes)
    }

    public mutating func optional(_ k: String, _ v: String?) { if let v { string(k, v) } }

    public mutating func int(_ k: String, _ v: Int) {
        key(k)
        JSONText.appendDecimal(v, to: &bytes)
    }

    /// An array of strings; left out when empty.
    public mutating func strings(_ k: String, _ v: [String]) {
        guard !v.isEmpty else { return }
        key(k)
        bytes.append(UInt8(ascii: "["))
        for (n, s) in v.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(s, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An object of integers, keys sorted; written even when empty.
    public mutating func intMap(_ k: String, _ v: [String: Int]) {
        key(k)
        bytes.append(UInt8(ascii: "{"))
        for (n, name) in v.keys.sorted().enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            JSONText.appendDecimal(v[name]!, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Bytes already in JSON form (an object or array the caller wrote), after `key`.
    public mutating func raw(_ json: some Sequence<UInt8>) { bytes.append(contentsOf: json) }
}
