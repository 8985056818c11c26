import Foundation
import Wire
import CustomsTestSupport

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

/// Starts a one-shot listener on 127.0.0.1, runs the client that `command` names for its port, and
/// returns what the client sent until `until` is satisfied, the client stops sending, or bounds are hit
/// (10 s to connect, 5 s per read, 1 MiB). The connection is then closed without an answer.
func captureFromClient(_ command: (UInt16) -> (String, [String]), until: ([UInt8]) -> Bool) throws -> [UInt8] {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { throw TestFailure("socket failed") }
    defer { close(listener) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
    guard bound == 0, listen(listener, 1) == 0 else { throw TestFailure("bind/listen failed") }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
    let (tool, arguments) = command(UInt16(bigEndian: addr.sin_port))

    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        _ = try? runProcess(tool, arguments, timeout: 15)
        done.signal()
    }
    defer { done.wait() }

    var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 10_000) == 1 else { throw TestFailure("\(tool) did not connect") }
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else { throw TestFailure("accept failed") }
    defer { close(conn) }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while !until(received) && received.count < 1 << 20 {
        var cfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
        guard poll(&cfd, 1, 5_000) == 1 else { break }
        let n = chunk.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += chunk[..<n]
    }
    return received
}
