import Wire

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a parser that throws WireError (the standard one rethrows untyped errors).
    func withWireBytes<R>(_ body: (UnsafeRawBufferPointer) throws(WireError) -> R) throws(WireError) -> R {
        let r: Result<R, WireError> = withUnsafeBytes { p in Result { () throws(WireError) in try body(p) } }
        return try r.get()
    }
}

/// A refusal with its status and the short reason sent to the client.
struct Refused: Error {
    let status: Int
    let message: String
    init(_ status: Int, _ message: String) { self.status = status; self.message = message }
}

/// Tracks where a message body ends as its bytes pass by, validating chunked framing.
/// The raw bytes are forwarded by the caller; `payload` sees them with transfer coding removed.
struct BodyMeter {
    private(set) var framing: BodyFraming
    private var remaining: UInt64 = 0
    private var decoder = ChunkedDecoder()
    private(set) var isComplete: Bool

    init(_ framing: BodyFraming) {
        self.framing = framing
        switch framing {
        case .none: isComplete = true
        case .contentLength(let n): remaining = n; isComplete = n == 0
        case .chunked, .untilClose: isComplete = false
        }
    }

    /// How many leading bytes of `buf` belong to the body. Bytes after them are either the next
    /// message (when complete) or an incomplete chunk line to present again with more bytes.
    mutating func take(_ buf: UnsafeRawBufferPointer,
                       payload: (UnsafeRawBufferPointer) -> Void) throws(WireError) -> Int {
        switch framing {
        case .none:
            return 0
        case .contentLength:
            let n = Int(min(UInt64(buf.count), remaining))
            remaining -= UInt64(n)
            if n > 0 { payload(UnsafeRawBufferPointer(rebasing: buf[0..<n])) }
            isComplete = remaining == 0
            return n
        case .chunked:
            let n = try decoder.decode(buf, payload: payload)
            isComplete = decoder.isComplete
            return n
        case .untilClose:
            if !buf.isEmpty { payload(buf) }
            return buf.count
        }
    }

    /// Keep the text of chunk extensions for `framingFields` (an inspected body).
    mutating func keepExtensions() { decoder.keepsExtensions = true }

    /// What the framing carried besides the body, as fields: chunk extensions since the last call
    /// (as one `chunk-extension` field), and at the end the trailer fields.
    mutating func framingFields() -> [(name: String, value: String)] {
        guard case .chunked = framing else { return [] }
        var fields: [(name: String, value: String)] = []
        let ext = decoder.takeExtensions()
        if ext.contains(where: { $0 != 0x20 }) { fields.append(("chunk-extension", String(decoding: ext, as: UTF8.self))) }
        if isComplete { fields += decoder.trailers.fields }
        return fields
    }

    /// End of stream from the sender: complete only for close-delimited bodies.
    mutating func endOfStream() -> Bool {
        if case .untilClose = framing { isComplete = true }
        return isComplete
    }
}
