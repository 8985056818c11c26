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
    private var bomLength = 0
    private var carry: [UInt8] = []
    /// iconv's output space: only the bytes iconv wrote are read, so it is not cleared first.
    /// Made on the first conversion. Not a `lazy var`: writing through one copies the whole array
    /// (its getter hands out a second reference), 64 KiB per call.
    private var out: [UInt8] = []
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

    deinit { if let converter { iconv_close(converter) } }

    private func open(_ name: String) throws(UninspectableError) {
        let cd = iconv_open("UTF-8", name)
        if cd == iconv_t(bitPattern: -1) { throw UninspectableError("unsupported charset \(name.lowercased())") }
        converter = cd
        charsetName = name.lowercased()
    }

    func feed(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        if decided { try pass(input, validated: false, sink); return }
        // A UTF-8 body (declared or not) that is not valid UTF-8 is taken for GB18030, the usual
        // encoding of Chinese spreadsheet exports. Decided once there are 4 KiB to look at, waiting
        // (up to 64 KiB) for the first non-ASCII text: an all-ASCII start says nothing about the
        // encoding. ASCII reads the same in UTF-8 and GB18030 and cannot start a BOM, so bytes before
        // the first non-ASCII one go on at once; only the rest is held (and copied) until decided.
        var rest = input
        if sniffed.isEmpty {
            let ascii = ByteSkip.asciiPrefix(input)
            if ascii > 0 {
                outputValidated = true
                try sink(UnsafeBufferPointer(rebasing: input[..<ascii]))
                sniffedBytes += ascii
                rest = UnsafeBufferPointer(rebasing: input[ascii...])
            }
            if rest.isEmpty {
                if sniffedBytes >= 65_536 { decided = true }
                return
            }
            if sniffedBytes + rest.count >= 4096 {
                // Whole window in this chunk: decide on it where it lies.
                sniffedBytes += rest.count
                try decide(rest, final: false)
                try pass(dropBOM(rest), validated: bomLength == 0, sink)
                return
            }
        }
        sniffed.append(contentsOf: rest)
        sniffedBytes += rest.count
        if sniffedBytes < 4096 { return }
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
        try s.withUnsafeBufferPointer { b throws(UninspectableError) in
            try decide(b, final: final)
            try pass(dropBOM(b), validated: bomLength == 0, sink)
        }
    }

    /// `window`: the held bytes, from the first non-ASCII one (the ASCII before it is valid either way).
    private func decide(_ window: UnsafeBufferPointer<UInt8>, final: Bool) throws(UninspectableError) {
        decided = true
        if atBodyStart(window, [0xEF, 0xBB, 0xBF]) { bomLength = 3; return }
        if atBodyStart(window, [0xFF, 0xFE]) || atBodyStart(window, [0xFE, 0xFF]) {
            try open("UTF-16"); return
        }
        if !Self.validUTF8(window, final: final) { try open("GB18030") }
    }

    private func atBodyStart(_ window: UnsafeBufferPointer<UInt8>, _ mark: [UInt8]) -> Bool {
        sniffedBytes == window.count && window.starts(with: mark)
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
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: input.baseAddress)?.assumingMemoryBound(to: CChar.self)
        var inLeft = input.count
        if out.isEmpty { out = [UInt8](unsafeUninitializedCapacity: 64 * 1024) { _, n in n = 64 * 1024 } }
        while inLeft > 0 {
            let (rc, err, produced): (Int, Int32, Int) = out.withUnsafeMutableBufferPointer { o in
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(o.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var outLeft = o.count
                let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                return (rc, errno, o.count - outLeft)
            }
            if produced > 0 { try out.withUnsafeBufferPointer { o throws(UninspectableError) in try sink(UnsafeBufferPointer(rebasing: o[0..<produced])) } }
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

    /// Whether `b` is UTF-8 by the inspector's test (see `ck_utf8_valid`): a cut last sequence is
    /// accepted unless `final`.
    static func validUTF8(_ b: UnsafeBufferPointer<UInt8>, final: Bool) -> Bool {
        guard let p = b.baseAddress else { return true }
        return ck_utf8_valid(p, b.count, final ? 1 : 0) != 0
    }
}
