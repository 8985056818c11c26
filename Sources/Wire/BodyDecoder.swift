/// One state machine for every body framing, so a relay loop reads all bodies the same way:
/// feed bytes, get body slices, stop at the end of the message.
public struct BodyDecoder: Sendable {
    public let framing: BodyFraming
    private var remaining: UInt64
    private var chunked: ChunkedDecoder
    private var closed = false

    public init(_ framing: BodyFraming, chunked: ChunkedDecoder = ChunkedDecoder()) {
        self.framing = framing
        self.chunked = chunked
        if case .contentLength(let n) = framing { remaining = n } else { remaining = 0 }
    }

    /// True once the whole body has been delivered (for `.untilClose`, after `finishAtClose()`).
    public var isComplete: Bool {
        switch framing {
        case .none: return true
        case .contentLength: return remaining == 0
        case .chunked: return chunked.isComplete
        case .untilClose: return closed
        }
    }

    /// Trailer fields of a chunked body (empty for other framings).
    public var trailers: HTTPHeaders { chunked.trailers }

    /// Consumes body bytes from the front of `input`, calling `payload` with slices of it; returns
    /// how many bytes belonged to this body (the rest start the next message).
    public mutating func decode(_ input: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) throws(WireError) -> Int {
        switch framing {
        case .none:
            return 0
        case .contentLength:
            let take = Int(min(UInt64(input.count), remaining))
            if take > 0 { payload(UnsafeRawBufferPointer(rebasing: input[..<take])) }
            remaining -= UInt64(take)
            return take
        case .chunked:
            return try chunked.decode(input, payload: payload)
        case .untilClose:
            if !input.isEmpty { payload(input) }
            return input.count
        }
    }

    /// The peer closed its side: fine for `.untilClose`, a truncated message otherwise.
    public mutating func finishAtClose() throws(WireError) {
        if case .untilClose = framing { closed = true }
        guard isComplete else { throw .malformed("connection closed before the body ended") }
    }
}
