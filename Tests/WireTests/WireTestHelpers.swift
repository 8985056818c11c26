import Wire

/// Parses `text` as one complete request head in a single call.
func parseRequest(_ text: String, maxRequestLine: Int = 8192, maxHeaderBytes: Int = 65536) throws(WireError) -> HeadParseResult<HTTPRequestHead> {
    var parser = HeadParser(maxRequestLine: maxRequestLine, maxHeaderBytes: maxHeaderBytes)
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseRequest(raw) } }.get()
}

func parseResponse(_ text: String) throws(WireError) -> HeadParseResult<HTTPResponseHead> {
    var parser = HeadParser()
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseResponse(raw) } }.get()
}

func requestHead(_ text: String) throws -> HTTPRequestHead {
    guard case .complete(let head, _) = try parseRequest(text) else { throw TestFailure("head incomplete") }
    return head
}

func responseHead(_ text: String) throws -> HTTPResponseHead {
    guard case .complete(let head, _) = try parseResponse(text) else { throw TestFailure("head incomplete") }
    return head
}

/// The status a parse of `text` is refused with, or nil when it is accepted (complete or not).
func refusal(_ text: String, maxRequestLine: Int = 8192, maxHeaderBytes: Int = 65536) -> Int? {
    do {
        _ = try parseRequest(text, maxRequestLine: maxRequestLine, maxHeaderBytes: maxHeaderBytes)
        return nil
    } catch {
        return error.status
    }
}

/// Decodes a whole chunked body, feeding `step` bytes at a time.
func decodeChunked(_ bytes: [UInt8], step: Int = .max) throws(WireError) -> (body: [UInt8], consumed: Int, decoder: ChunkedDecoder) {
    var decoder = ChunkedDecoder()
    var body: [UInt8] = []
    var offset = 0
    while offset < bytes.count && !decoder.isComplete {
        let end = min(bytes.count, offset + step)
        let slice = Array(bytes[offset..<end])
        let used = try slice.withUnsafeBytes { raw in
            Result { () throws(WireError) in try decoder.decode(raw) { body.append(contentsOf: $0) } }
        }.get()
        offset += used
        if used < slice.count { break }
    }
    return (body, offset, decoder)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
