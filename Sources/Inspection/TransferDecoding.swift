/// A multipart part's `Content-Transfer-Encoding` (RFC 2045 §6), undone as its bytes stream by:
/// a base64 part read as its text would hold identifiers the inspector never sees.
/// RFC 7578 deprecates the header for forms, but senders still write it.
struct TransferDecoder {
    enum Coding { case base64, quotedPrintable }

    let coding: Coding
    /// Base64: the bits of the characters of a group not yet whole, and how many characters.
    private var bits: UInt32 = 0
    private var pending = 0
    private var padded = false
    /// Quoted-printable: the bytes of an `=` sequence cut by the chunk's end (the `=` included).
    private var escape: [UInt8] = []

    /// nil for the identity codings (`7bit`, `8bit`, `binary`) and an absent header; throws for
    /// one this inspector cannot undo.
    init?(header: String?) throws(UninspectableError) {
        guard let header else { return nil }
        switch header.trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "7bit", "8bit", "binary": return nil
        case "base64": coding = .base64
        case "quoted-printable": coding = .quotedPrintable
        default: throw UninspectableError("content transfer encoding '\(header)' is not inspectable")
        }
    }

    mutating func decode(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) throws(UninspectableError) {
        switch coding {
        case .base64: try base64(input, into: &out)
        case .quotedPrintable: quotedPrintable(input, into: &out)
        }
    }

    /// The end of the part: a base64 group left open is an error; a cut `=` sequence is kept as written.
    mutating func finish(into out: inout [UInt8]) throws(UninspectableError) {
        switch coding {
        case .base64:
            if pending != 0 && !padded { throw UninspectableError("base64 part ends inside a group") }
        case .quotedPrintable:
            out.append(contentsOf: escape)
            escape.removeAll()
        }
    }

    private mutating func base64(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) throws(UninspectableError) {
        for c in input {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case 0x0D, 0x0A, 0x20, 0x09: continue
            case UInt8(ascii: "="):
                // Padding: what the group holds is whole bytes; the part's data ends here.
                if !padded {
                    if pending == 2 { out.append(UInt8(truncatingIfNeeded: bits >> 4)) }
                    if pending == 3 { out.append(UInt8(truncatingIfNeeded: bits >> 10)); out.append(UInt8(truncatingIfNeeded: bits >> 2)) }
                    padded = true
                }
                continue
            default:
                throw UninspectableError("invalid character in a base64 part")
            }
            if padded { throw UninspectableError("base64 part goes on after its padding") }
            bits = bits << 6 | v
            pending += 1
            if pending == 4 {
                out.append(UInt8(truncatingIfNeeded: bits >> 16))
                out.append(UInt8(truncatingIfNeeded: bits >> 8))
                out.append(UInt8(truncatingIfNeeded: bits))
                bits = 0
                pending = 0
            }
        }
    }

    private mutating func quotedPrintable(_ input: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        for c in input {
            if escape.isEmpty {
                if c == UInt8(ascii: "=") { escape.append(c) } else { out.append(c) }
                continue
            }
            escape.append(c)
            // `=` CRLF or `=` LF: a soft line break, nothing. `=XX`: the byte. Anything else as written.
            if escape.count == 2 && escape[1] == 0x0A { escape.removeAll(); continue }
            if escape.count == 2 && (escape[1] == 0x0D || Self.hex(escape[1]) != nil) { continue }
            if escape.count == 3 && escape[1] == 0x0D && escape[2] == 0x0A { escape.removeAll(); continue }
            if escape.count == 3, let hi = Self.hex(escape[1]), let lo = Self.hex(escape[2]) {
                out.append(hi << 4 | lo)
                escape.removeAll()
                continue
            }
            out.append(contentsOf: escape)
            escape.removeAll()
        }
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
