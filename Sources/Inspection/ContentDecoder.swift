import Foundation
import CZlib

/// Content-Encoding: identity, gzip or deflate (zlib-wrapped or raw), with bomb limits.
final class ContentDecoder {
    enum Coding { case identity, gzip, deflate }

    private let coding: Coding
    private var stream = z_stream()
    private var started = false
    private var ended = false
    /// zlib's output space, made when the stream starts. Not a `lazy var`: writing through one
    /// copies the whole array (its getter hands out a second reference), 64 KiB per inflate call.
    private var out: [UInt8] = []
    private var encodedBytes = 0
    private(set) var decodedBytes = 0
    private let maxDecoded: Int
    private let maxRatio: Int

    /// nil when the coding is not one we can undo.
    init?(contentEncoding: String?, maxDecoded: Int, maxRatio: Int) {
        let codings = (contentEncoding ?? "").lowercased().split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && $0 != "identity" }
        switch codings {
        case []: coding = .identity
        case ["gzip"], ["x-gzip"]: coding = .gzip
        case ["deflate"]: coding = .deflate
        default: return nil
        }
        self.maxDecoded = maxDecoded
        self.maxRatio = maxRatio
    }

    deinit { if started { inflateEnd(&stream) } }

    func feed(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws(UninspectableError) -> Void) throws(UninspectableError) {
        encodedBytes += input.count
        if coding == .identity {
            decodedBytes += input.count
            if decodedBytes > maxDecoded { throw UninspectableError("body larger than \(maxDecoded) bytes") }
            try sink(input)
            return
        }
        guard input.count > 0 else { return }
        if ended { return }
        if !started {
            // gzip: 16+15; deflate: zlib header if it checks out, else raw deflate (old servers).
            var bits: Int32 = 15 + 16
            if coding == .deflate {
                let zlibHeader = input.count >= 2 && input[0] & 0x0F == 8 && (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0
                bits = zlibHeader ? 15 : -15
            }
            let rc = inflateInit2_(&stream, bits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else { throw UninspectableError("zlib could not start (\(rc))") }
            started = true
            out = [UInt8](repeating: 0, count: 64 * 1024)
        }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = UInt32(input.count)
        repeat {
            let produced: Int
            let rc: Int32 = out.withUnsafeMutableBufferPointer { o in
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            produced = out.count - Int(stream.avail_out)
            if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                throw UninspectableError("corrupt \(coding == .gzip ? "gzip" : "deflate") data (zlib \(rc))", offset: encodedBytes)
            }
            decodedBytes += produced
            if decodedBytes > maxDecoded { throw UninspectableError("decoded body larger than \(maxDecoded) bytes") }
            if decodedBytes > 1 << 20 && decodedBytes / max(encodedBytes, 1) > maxRatio {
                throw UninspectableError("decompression ratio above \(maxRatio):1 (zip bomb?)")
            }
            if produced > 0 { try out.withUnsafeBufferPointer { o throws(UninspectableError) in try sink(UnsafeBufferPointer(rebasing: o[0..<produced])) } }
            if rc == Z_STREAM_END { ended = true; break }
            if rc == Z_BUF_ERROR && produced == 0 { break }
        } while stream.avail_in > 0 || stream.avail_out == 0
    }

    func finish() throws(UninspectableError) {
        if coding != .identity && !ended {
            throw UninspectableError(started ? "truncated \(coding == .gzip ? "gzip" : "deflate") stream" : "empty compressed body")
        }
    }
}
