import Testing
import Wire

@Suite struct BodyFramingTests {
    private func framing(_ fields: String, version: String = "HTTP/1.1", method: String = "POST") throws -> BodyFraming {
        try requestBodyFraming(requestHead("\(method) / \(version)\r\nHost: a\r\n\(fields)\r\n"))
    }

    private func status(_ fields: String, version: String = "HTTP/1.1") -> Int? {
        do { _ = try framing(fields, version: version); return nil } catch let e as WireError { return e.status } catch { return -1 }
    }

    @Test func validRequestFramings() throws {
        #expect(try framing("") == .none)
        #expect(try framing("Content-Length: 0\r\n") == .contentLength(0))
        #expect(try framing("Content-Length: 42\r\n") == .contentLength(42))
        #expect(try framing("Content-Length: 42\r\nContent-Length: 42\r\n") == .contentLength(42))
        #expect(try framing("Content-Length: 42, 42\r\n") == .contentLength(42))
        #expect(try framing("Content-Length: 18446744073709551615\r\n") == .contentLength(UInt64.max))
        #expect(try framing("Transfer-Encoding: chunked\r\n") == .chunked)
        #expect(try framing("Transfer-Encoding: Chunked\r\n") == .chunked)
        #expect(try framing("Transfer-Encoding: , chunked\r\n") == .chunked)
    }

    @Test(arguments: [
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        ("Content-Length: 5, 6\r\n", 400),
        ("Content-Length: 5,\r\n", 400),
        ("Content-Length: -5\r\n", 400),
        ("Content-Length: +5\r\n", 400),
        ("Content-Length: 0x5\r\n", 400),
        ("Content-Length: 5 5\r\n", 400),
        ("Content-Length: \r\n", 400),
        ("Content-Length: 18446744073709551616\r\n", 400),
        ("Content-Length: 99999999999999999999999\r\n", 400),
        ("Transfer-Encoding: gzip\r\n", 501),
        ("Transfer-Encoding: gzip, chunked\r\n", 501),
        ("Transfer-Encoding: identity\r\n", 501),
        ("Transfer-Encoding: chunked, gzip\r\n", 400),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Transfer-Encoding: chunked, chunked\r\n", 400),
        ("Transfer-Encoding: \r\n", 400),
        ("Transfer-Encoding: chunked;q=1\r\n", 400),
        ("Transfer-Encoding: \"chunked\"\r\n", 400),
    ])
    func refusedRequestFramings(_ fields: String, _ expected: Int) {
        #expect(status(fields) == expected)
    }

    @Test func transferEncodingInHTTP10IsRefused() {
        #expect(status("Transfer-Encoding: chunked\r\n", version: "HTTP/1.0") == 400)
    }

    @Test func responseFramings() throws {
        func resp(_ text: String, _ method: String = "GET") throws -> BodyFraming {
            try responseBodyFraming(responseHead(text), requestMethod: method)
        }
        #expect(try resp("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n") == .contentLength(7))
        #expect(try resp("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD") == .none)
        #expect(try resp("HTTP/1.1 204 No Content\r\n\r\n") == .none)
        #expect(try resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n") == .none)
        #expect(try resp("HTTP/1.1 100 Continue\r\n\r\n") == .none)
        #expect(try resp("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT") == .none)
        #expect(try resp("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT") == .contentLength(3))
        #expect(try resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") == .chunked)
        #expect(try resp("HTTP/1.1 200 OK\r\n\r\n") == .untilClose)
        #expect(try resp("HTTP/1.0 200 OK\r\n\r\n") == .untilClose)
        #expect(throws: WireError.self) { try resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") }
        #expect(throws: WireError.self) { try resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") }
        #expect(throws: WireError.self) { try resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") }
    }
}
