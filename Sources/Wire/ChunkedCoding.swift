/// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
///
/// Feed it whatever bytes arrived; it hands back body bytes as slices of the input (no copy) and
/// stops exactly at the end of the message, so the bytes after `decode`'s return value belong to
/// the next message. Chunk sizes, extensions and trailers are validated and bounded as they stream.
public struct ChunkedDecoder: Sendable {
    public let maxChunkSizeDigits: Int
    public let maxTrailerBytes: Int
    public let maxExtensionBytes: Int

    private enum State: Sendable {
        case sizeStart
        case size
        case afterSize          // right after the size digits: ";", BWS or CR
        case sizeWhitespace     // BWS, which must lead to an extension (RFC 9112 §7.1.1)
        case extensions
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailerLine
        case trailerLF
        case done
    }

    private var state = State.sizeStart
    private var digits = 0
    private var remaining: UInt64 = 0
    private var extensionBytes = 0
    private var trailerBytes = 0
    private var line: [UInt8] = []
    /// The trailer fields received after the last chunk.
    public private(set) var trailers = HTTPHeaders()
    /// Whether to keep the text of chunk extensions (`takeExtensions`), for a reader that inspects
    /// all a message carries; kept text is bounded like the trailer section.
    public var keepsExtensions = false
    private var extensionText: [UInt8] = []
    /// Body bytes delivered so far.
    public private(set) var bodyBytes: UInt64 = 0

    public init(maxChunkSizeDigits: Int = 16, maxTrailerBytes: Int = 16384, maxExtensionBytes: Int = 4096) {
        self.maxChunkSizeDigits = maxChunkSizeDigits
        self.maxTrailerBytes = maxTrailerBytes
        self.maxExtensionBytes = maxExtensionBytes
    }

    /// The text of the chunk extensions kept since the last call (each chunk's after its `;`,
    /// separated by spaces), emptied.
    public mutating func takeExtensions() -> [UInt8] {
        defer { extensionText = [] }
        return extensionText
    }

    /// True once the last chunk and the trailer section have been consumed.
    public var isComplete: Bool { if case .done = state { return true } else { return false } }

    /// Consumes as much of `input` as it can; calls `payload` for each run of body bytes (slices of
    /// input). Returns the number of bytes consumed; less than `input.count` only when complete.
    public mutating func decode(_ input: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) throws(WireError) -> Int {
        var i = 0
        let n = input.count
        while i < n {
            let b = input[i]
            switch state {
            case .sizeStart, .size:
                if let v = ByteClass.hexValue(b) {
                    digits += 1
                    if digits > maxChunkSizeDigits || remaining > (UInt64.max >> 4) {
                        throw .malformed("chunk size too large")
                    }
                    remaining = remaining << 4 | UInt64(v)
                    state = .size
                } else if case .sizeStart = state {
                    throw .malformed("invalid chunk size")
                } else {
                    state = .afterSize
                    continue
                }
            case .afterSize:
                switch b {
                case ByteClass.sp, ByteClass.htab: state = .sizeWhitespace
                case UInt8(ascii: ";"): state = .extensions; if keepsExtensions { try keepExtension(0x20) }
                case ByteClass.cr: state = .sizeLF
                default: throw .malformed("invalid chunk size")
                }
            case .sizeWhitespace:
                switch b {
                case ByteClass.sp, ByteClass.htab:
                    extensionBytes += 1
                    guard extensionBytes <= maxExtensionBytes else { throw .malformed("chunk extensions too long") }
                case UInt8(ascii: ";"): state = .extensions; if keepsExtensions { try keepExtension(0x20) }
                default: throw .malformed("invalid chunk size")
                }
            case .extensions:
                if b == ByteClass.cr {
                    state = .sizeLF
                } else {
                    extensionBytes += 1
                    guard ByteClass.isFieldValue(b) else { throw .malformed("control character in chunk extension") }
                    guard extensionBytes <= maxExtensionBytes else { throw .malformed("chunk extensions too long") }
                    if keepsExtensions { try keepExtension(b) }
                }
            case .sizeLF:
                guard b == ByteClass.lf else { throw .malformed("chunk size line not ended by CRLF") }
                digits = 0
                extensionBytes = 0
                state = remaining == 0 ? .trailerLine : .data
            case .data:
                let take = Int(min(UInt64(n - i), remaining))
                payload(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                remaining -= UInt64(take)
                bodyBytes += UInt64(take)
                i += take
                if remaining == 0 { state = .dataCR }
                continue
            case .dataCR:
                guard b == ByteClass.cr else { throw .malformed("chunk data not followed by CRLF") }
                state = .dataLF
            case .dataLF:
                guard b == ByteClass.lf else { throw .malformed("chunk data not followed by CRLF") }
                state = .sizeStart
            case .trailerLine:
                trailerBytes += 1
                guard trailerBytes <= maxTrailerBytes else { throw .malformed("trailer section too large") }
                if b == ByteClass.cr {
                    state = .trailerLF
                } else {
                    if b == ByteClass.lf { throw .malformed("trailer line ends with a bare LF") }
                    line.append(b)
                }
            case .trailerLF:
                guard b == ByteClass.lf else { throw .malformed("bare CR in trailer section") }
                if line.isEmpty {
                    state = .done
                    return i + 1
                }
                let parsed = line.withUnsafeBytes { raw in Result { () throws(WireError) in try parseFieldLine(raw) } }
                let field = try parsed.get()
                trailers.add(field.name, field.value)
                line.removeAll(keepingCapacity: true)
                state = .trailerLine
            case .done:
                return i
            }
            i += 1
        }
        return i
    }

    private mutating func keepExtension(_ b: UInt8) throws(WireError) {
        guard extensionText.count < maxTrailerBytes else { throw .malformed("chunk extensions too long") }
        extensionText.append(b)
    }
}

/// Writes the chunked transfer coding: `header(for:)`, the chunk's bytes, `chunkEnd`; finally `terminator`.
public enum ChunkedEncoder {
    /// "<hex size>\r\n". Never call it with 0: that is the terminator.
    public static func header(for size: Int) -> [UInt8] {
        precondition(size > 0, "a zero-size chunk ends the body; send ChunkedEncoder.terminator")
        return Array(String(size, radix: 16).utf8) + crlf
    }

    /// Appends `payload` as one chunk (header, bytes, CRLF); an empty payload appends nothing, so
    /// a relay can pass every read through without ending the body by accident.
    public static func appendChunk(_ payload: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard !payload.isEmpty else { return }
        out.append(contentsOf: header(for: payload.count))
        out.append(contentsOf: payload)
        out.append(contentsOf: crlf)
    }

    /// The CRLF that closes each chunk's data.
    public static let chunkEnd: [UInt8] = crlf

    /// The last chunk and an empty trailer section: "0\r\n\r\n".
    public static let terminator: [UInt8] = Array("0\r\n\r\n".utf8)
}
