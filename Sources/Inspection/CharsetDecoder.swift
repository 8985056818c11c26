import CInspectKernels
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes in a declared or detected character set → UTF-8. UTF-8 passes through (BOM dropped);
/// anything else goes through iconv, keeping a sequence split between chunks for the next one.
final class CharsetDecoder {
    private var converter: iconv_t?
    private var declared: String?
    private var decided = false
    /// Held bytes of an undecided body, from its first non-ASCII byte on.
    private var sniffed: [UInt8] = []
    /// Bytes of the body seen while undecided (passed on or held).
    private var sniffedBytes = 0
    /// Where the deciding window starts: the body's first non-ASCII byte.
    private var windowStart = 0
    private var bomLength = 0
    private var carry: [UInt8] = []
    /// The converted bytes' space: only the bytes written are read, so it is not cleared first.
    /// Made on the first conversion; memory this decoder owns, so a write checks no uniqueness.
    private var out: UnsafeMutablePointer<UInt8>?
    private static let outCapacity = 64 * 1024
    /// GB18030 is read by table while it is ASCII and two-byte codes (`GB18030Pairs`).
    private var pairsByTable = false
    private(set) var charsetName = "utf-8"
    /// Whether the bytes being handed to the sink are known to be valid UTF-8: ASCII, a window
    /// validated to decide the charset, or iconv's output. Once bytes pass unchecked, later ones do
    /// too (the states only go from checked to unchecked), so a value held across chunks and
    /// finished while this is true holds only checked bytes.
    private(set) var outputValidated = false

    init(charset: String?) throws(UninspectableError) {
        let c = charset?.lowercased().trimmingCharacters(in: .init(charactersIn: "\" "))
        if let c, !["utf-8", "utf8", "us-ascii", "ascii"].contains(c) {
            let name = ["gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn"].contains(c) ? "GB18030" : c.uppercased()
            try open(name)
            decided = true
        } else {
            declared = c
        }
    }

    /// Bytes passed on as they are, for a multipart body: each part has its own charset, read by
    /// the part's own decoder, so the body as a whole is no one text to sniff (a UTF-8 JSON part
    /// before a GBK CSV part is not GB18030).
    init(passingThrough: Void) {
        decided = true
    }

    deinit {
        if let converter { iconv_close(converter) }
        out?.deallocate()
    }

    private func open(_ name: String) throws(UninspectableError) {
        let cd = iconv_open("UTF-8", name)
        if cd == iconv_t(bitPattern: -1) { throw UninspectableError("unsupported charset \(name.lowercased())") }
        converter = cd
        charsetName = name.lowercased()
        pairsByTable = name == "GB18030"
    }

    /// The deciding window: this many bytes from the body's first non-ASCII byte (fewer if the
    /// body ends first). It is fixed in the body's bytes, not in its chunks, so a body is read in
    /// the same charset however the network cut it (a window that ran to the end of whatever chunk
    /// was at hand let one stray byte 4 KiB in turn a whole UTF-8 body into GB18030, or not,
    /// depending on the cut).
    static let windowBytes = 4096
    /// A body whose first non-ASCII byte comes this late is read as UTF-8 without a window.
    static let asciiStartLimit = 65_536

    func feed(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        if decided { try pass(input, validated: false, sink); return }
        // A UTF-8 body (declared or not) that is not valid UTF-8 is taken for GB18030, the usual
        // encoding of Chinese spreadsheet exports. Decided on the window, waiting (up to 64 KiB)
        // for the first non-ASCII text: an all-ASCII start says nothing about the encoding. ASCII
        // reads the same in UTF-8 and GB18030 and cannot start a BOM, so bytes before the first
        // non-ASCII one go on at once; only the rest is held (and copied) until decided.
        var rest = input
        if sniffed.isEmpty {
            let ascii = ByteSkip.asciiPrefix(input)
            if ascii > 0 {
                outputValidated = true
                try sink(UnsafeBufferPointer(rebasing: input[..<ascii]))
                sniffedBytes += ascii
                rest = UnsafeBufferPointer(rebasing: input[ascii...])
            }
            if sniffedBytes >= Self.asciiStartLimit {
                decided = true
                if !rest.isEmpty { try pass(rest, validated: false, sink) }
                return
            }
            if rest.isEmpty { return }
            windowStart = sniffedBytes
            if rest.count >= Self.windowBytes {
                // Whole window in this chunk: decide on it where it lies.
                sniffedBytes += rest.count
                try decideAndPass(rest, final: false, sink)
                return
            }
        }
        sniffed.append(contentsOf: rest)
        sniffedBytes += rest.count
        if sniffed.count < Self.windowBytes { return }
        try decideOnSniffed(final: false, sink)
    }

    func finish(_ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        if !decided {
            if sniffed.isEmpty { decided = true } else { try decideOnSniffed(final: true, sink) }
        }
        if !carry.isEmpty && converter != nil {
            throw UninspectableError("body ends inside a \(charsetName) character")
        }
    }

    private func decideOnSniffed(final: Bool, _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        let s = sniffed
        sniffed = []
        try s.withUnsafeBufferPointer { b throws(UninspectableError) in try decideAndPass(b, final: final, sink) }
    }

    /// `held` starts at the body's first non-ASCII byte and holds at least the window (or the
    /// whole rest of the body, `final`). Decides on the window and passes all of `held` on, marked
    /// checked when all of it (less a BOM) is valid UTF-8: spreadsheet exports often carry a BOM,
    /// and a body checked here in one pass needs no check per value.
    private func decideAndPass(_ held: UnsafeBufferPointer<UInt8>, final: Bool,
                               _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        let window = UnsafeBufferPointer(rebasing: held.prefix(Self.windowBytes))
        var checked = try decide(window, final: final)
        if checked && held.count > window.count {
            // The rest is checked from the start of the window's last character, which the
            // window's end may have cut (up to three continuation bytes and their lead byte).
            var from = window.count
            var back = 0
            while back < 3 && held[from - 1] & 0xC0 == 0x80 { from -= 1; back += 1 }
            if held[from - 1] >= 0xC0 { from -= 1 }
            checked = Self.validUTF8(UnsafeBufferPointer(rebasing: held[from...]), final: false)
        }
        try pass(dropBOM(held), validated: checked, sink)
    }

    /// `window`: the deciding window. Returns whether it (less its BOM) is valid UTF-8, which
    /// decides UTF-8.
    private func decide(_ window: UnsafeBufferPointer<UInt8>, final: Bool) throws(UninspectableError) -> Bool {
        decided = true
        if atBodyStart(window, [0xEF, 0xBB, 0xBF]) {
            bomLength = 3
            return Self.validUTF8(dropBOM(window), final: final)
        }
        if atBodyStart(window, [0xFF, 0xFE]) || atBodyStart(window, [0xFE, 0xFF]) {
            try open("UTF-16"); return false
        }
        if !Self.validUTF8(window, final: final) { try open("GB18030"); return false }
        return true
    }

    private func atBodyStart(_ window: UnsafeBufferPointer<UInt8>, _ mark: [UInt8]) -> Bool {
        windowStart == 0 && window.starts(with: mark)
    }

    private func dropBOM(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: b[bomLength...])
    }

    /// `validated`: UTF-8 passed through was checked (the deciding window without a BOM).
    private func pass(_ input: UnsafeBufferPointer<UInt8>, validated: Bool,
                      _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        outputValidated = converter != nil || validated
        guard let cd = converter else { try sink(input); return }
        // A sequence cut by the last chunk is joined to this one; otherwise the input is converted
        // where it lies (iconv does not write through its input pointer).
        guard carry.isEmpty else {
            var data = carry
            data.append(contentsOf: input)
            carry = []
            try data.withUnsafeBufferPointer { d throws(UninspectableError) in try convert(cd, d, sink) }
            return
        }
        try convert(cd, input, sink)
    }

    private func convert(_ cd: iconv_t, _ input: UnsafeBufferPointer<UInt8>,
                         _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        let out = self.out ?? {
            let o = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.outCapacity)
            self.out = o
            return o
        }()
        // The table stops at a unit boundary of iconv's reading (it reads ASCII and two-byte codes
        // whole, as iconv does, which keeps no state between units): iconv goes on from there.
        let start = pairsByTable ? try decodePairs(input, into: out, sink) : 0
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: input.baseAddress)?.assumingMemoryBound(to: CChar.self)
        inPtr = inPtr.map { $0 + start }
        var inLeft = input.count - start
        while inLeft > 0 {
            var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(out).assumingMemoryBound(to: CChar.self)
            var outLeft = Self.outCapacity
            let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
            let err = errno
            let produced = Self.outCapacity - outLeft
            if produced > 0 { try sink(UnsafeBufferPointer(start: out, count: produced)) }
            if rc != -1 { break }
            switch err {
            case E2BIG: continue
            case EINVAL:
                carry = Array(UnsafeBufferPointer(start: UnsafeRawPointer(inPtr!).assumingMemoryBound(to: UInt8.self), count: inLeft))
                inLeft = 0
            default:
                // An invalid byte: skip it (as U+FFFD would) rather than give up on the body.
                inPtr = inPtr! + 1; inLeft -= 1
                try [0xEF, 0xBF, 0xBD].withUnsafeBufferPointer { r throws(UninspectableError) in try sink(r) }
            }
        }
    }

    /// GB18030 → UTF-8 by `GB18030Pairs` while the input is ASCII (runs copied as they are) and
    /// two-byte codes. Returns where it stopped: the end, or the first byte left to iconv (a
    /// four-byte code, a malformed byte, a code cut by the chunk's end).
    private func decodePairs(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>,
                             _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) -> Int {
        guard let p = input.baseAddress else { return 0 }
        let n = input.count
        // Room for one packed code's four-byte store before the space is handed on.
        let full = Self.outCapacity - 4
        var i = 0, o = 0
        try GB18030Pairs.table.withUnsafeBufferPointer { table throws(UninspectableError) in
            while i < n {
                if o >= full { try sink(UnsafeBufferPointer(start: out, count: o)); o = 0 }
                let c = p[i]
                if c < 0x80 {
                    let e = min(ck_first_non_ascii(p, i, n), i + Self.outCapacity - o)
                    (out + o).update(from: p + i, count: e - i)
                    o += e - i; i = e
                    continue
                }
                guard c >= 0x81, c <= 0xFE, i + 1 < n, p[i + 1] >= 0x40 else { break }
                let v = table[GB18030Pairs.index(lead: c, trail: p[i + 1])]
                guard v != 0 else { break }
                UnsafeMutableRawPointer(out + o).storeBytes(of: v.littleEndian, as: UInt32.self)
                o += Int(v >> 24); i += 2
            }
        }
        if o > 0 { try sink(UnsafeBufferPointer(start: out, count: o)) }
        return i
    }

    /// Whether every byte of `b` is below 0x80 (inline: for short values, before `validUTF8`).
    @inline(__always) static func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = b.baseAddress else { return true }
        return ck_first_non_ascii(p, 0, b.count) == b.count
    }

    /// Whether `b` is UTF-8 by the inspector's test (see `ck_utf8_valid`): a cut last sequence is
    /// accepted unless `final`.
    static func validUTF8(_ b: UnsafeBufferPointer<UInt8>, final: Bool) -> Bool {
        guard let p = b.baseAddress else { return true }
        return ck_utf8_valid(p, b.count, final ? 1 : 0) != 0
    }
}
