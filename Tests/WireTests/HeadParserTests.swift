import Testing
import Wire

@Suite struct HeadParserRefusalTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let head: String
        let status: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "obs-fold", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", status: 400),
        Case(name: "obs-fold with tab", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", status: 400),
        Case(name: "bare CR in value", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", status: 400),
        Case(name: "bare CR in request line", head: "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "bare LF after request line", head: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400),
        Case(name: "bare LF after field", head: "GET / HTTP/1.1\r\nHost: a\n\r\n", status: 400),
        Case(name: "bare LF ending head", head: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: 400),
        Case(name: "NUL in value", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n", status: 400),
        Case(name: "control char in value", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{1}c\r\n\r\n", status: 400),
        Case(name: "DEL in value", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{7F}c\r\n\r\n", status: 400),
        Case(name: "space before colon", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", status: 400),
        Case(name: "tab before colon", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", status: 400),
        Case(name: "non-token in name", head: "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", status: 400),
        Case(name: "empty name", head: "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", status: 400),
        Case(name: "no colon", head: "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", status: 400),
        Case(name: "HTTP/1.1 without Host", head: "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", status: 400),
        Case(name: "two Host headers", head: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        Case(name: "two Host headers HTTP/1.0", head: "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", status: 400),
        Case(name: "malformed Host", head: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400),
        Case(name: "Host with bad port", head: "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", status: 400),
        // A Host equal to the absolute target's authority skips a second parse: one that only
        // starts like it, or runs on past it, is still checked.
        Case(name: "Host running past the authority", head: "GET http://a/b/c HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400),
        Case(name: "Host running past the authority to a query", head: "GET http://a?b HTTP/1.1\r\nHost: a?b\r\n\r\n", status: 400),
        Case(name: "Host differing from a valid authority", head: "GET http://a:80/ HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400),
        Case(name: "Host with a bad port beside an absolute target", head: "GET http://a/ HTTP/1.1\r\nHost: a:99999\r\n\r\n", status: 400),
        Case(name: "https absolute-form", head: "GET https://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", status: 501),
        Case(name: "ftp absolute-form", head: "GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", status: 501),
        Case(name: "absolute-form empty host", head: "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form bad port", head: "GET http://a:8x/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form port overflow", head: "GET http://a:65536/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form port zero", head: "GET http://a:0/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form userinfo", head: "GET http://u:p@a/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form unclosed IPv6", head: "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form bad IPv6", head: "GET http://[zz::1]/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "absolute-form fragment", head: "GET http://a/x#f HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "no scheme", head: "GET a.example/x HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "CONNECT without port", head: "CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", status: 400),
        Case(name: "CONNECT with path", head: "CONNECT a.example:443/x HTTP/1.1\r\nHost: a.example\r\n\r\n", status: 400),
        Case(name: "CONNECT origin-form", head: "CONNECT / HTTP/1.1\r\nHost: a.example\r\n\r\n", status: 400),
        Case(name: "asterisk with GET", head: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "HTTP/2.0", head: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505),
        Case(name: "HTTP/0.9 version", head: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", status: 505),
        Case(name: "lowercase version", head: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "version garbage", head: "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "no version", head: "GET /\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "empty method", head: " / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "method not a token", head: "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "double space", head: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "tab separator", head: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "trailing space after version", head: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400),
        Case(name: "space in target", head: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "raw non-ASCII in target", head: "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "control char in target", head: "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "whitespace line after request line", head: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", status: 400),
    ]

    @Test(arguments: cases)
    func refused(_ c: Case) {
        #expect(refusal(c.head) == c.status, "\(c.name)")
    }

    @Test func requestLineTooLongBeforeCRLF() {
        let head = "GET /" + String(repeating: "a", count: 200)
        #expect(refusal(head, maxRequestLine: 100) == 414)
        #expect(refusal("GET /" + String(repeating: "a", count: 50), maxRequestLine: 100) == nil)
    }

    @Test func requestLineTooLongWithCRLF() {
        let head = "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        #expect(refusal(head, maxRequestLine: 100) == 414)
    }

    @Test func requestLineAtLimitIsAccepted() {
        let line = "GET /" + String(repeating: "a", count: 86) + " HTTP/1.1"
        #expect(line.utf8.count == 100)
        #expect(refusal(line + "\r\nHost: a\r\n\r\n", maxRequestLine: 100) == nil)
        #expect(refusal("GET /" + String(repeating: "a", count: 87) + " HTTP/1.1\r\nHost: a\r\n\r\n", maxRequestLine: 100) == 414)
    }

    @Test func headerSectionTooLargeBeforeEnd() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 2000)
        #expect(refusal(head, maxHeaderBytes: 1024) == 431)
        let many = "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-A: b\r\n", count: 200)
        #expect(refusal(many, maxHeaderBytes: 1024) == 431)
        #expect(refusal("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 500), maxHeaderBytes: 1024) == nil)
    }

    /// Every position of every value length, so the word-at-a-time check cannot miss a byte.
    @Test func controlBytesAnywhereInAValue() throws {
        func status(_ value: [UInt8]) -> Int? {
            let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX: ".utf8) + value + Array("\r\n\r\n".utf8)
            var parser = HeadParser()
            do {
                _ = try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseRequest(raw) } }.get()
                return nil
            } catch { return error.status }
        }
        for length in 1...24 {
            for position in 0..<length {
                for bad: UInt8 in [0x00, 0x01, 0x0B, 0x1F, 0x7F] {
                    var value = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    value[position] = bad
                    #expect(status(value) == 400, "byte \(bad) at \(position) of \(length)")
                }
                for good: UInt8 in [0x09, 0x20, 0x7E, 0x80, 0xFF] {
                    var value = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    value[position] = good
                    #expect(status(value) == nil, "byte \(good) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func tooManyFields() {
        var parser = HeadParser(maxHeaderFields: 10)
        let head = "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 10) + "\r\n"
        let bytes = Array(head.utf8)
        #expect(throws: WireError(status: 431, "too many header fields")) {
            try bytes.withUnsafeBytes { raw in try parser.parseRequest(raw) }
        }
    }

    @Test func errorMessagesDoNotEchoInput() {
        do {
            _ = try parseRequest("GET / HTTP/1.1\r\nHost: a\r\nSECRET-NAME : b\r\n\r\n")
            Issue.record("accepted")
        } catch {
            #expect(!error.message.contains("SECRET"))
            #expect(error.description.hasPrefix("400 "))
        }
    }
}

@Suite struct HeadParserValidTests {
    @Test func originForm() throws {
        let head = try requestHead("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\n\r\n")
        #expect(head.method == "GET")
        #expect(head.target == .origin("/a/b?x=1&y=2"))
        #expect(head.rawTarget == "/a/b?x=1&y=2")
        #expect(head.pathWithoutQuery == "/a/b")
        #expect(head.version == .http11)
        #expect(head.headers.first("accept") == "*/*")
        #expect(head.keepAlive)
        #expect(head.hostHeader?.host == "example.com")
        #expect(head.hostHeader?.port == nil)
    }

    @Test func absoluteFormDefaultPort() throws {
        let head = try requestHead("GET http://Example.COM/index.html HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(head.target == .absolute(scheme: "http", host: "example.com", port: 80, pathAndQuery: "/index.html"))
    }

    @Test func absoluteFormWithQueryAndPort() throws {
        let head = try requestHead("POST HTTP://a.example:8080/p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\n\r\n")
        #expect(head.target == .absolute(scheme: "http", host: "a.example", port: 8080, pathAndQuery: "/p?q=1"))
        #expect(head.pathWithoutQuery == "/p")
        #expect(head.hostHeader?.port == 8080)
    }

    @Test func absoluteFormEmptyPathAndQueryOnly() throws {
        #expect(try requestHead("GET http://a HTTP/1.1\r\nHost: a\r\n\r\n").target
                == .absolute(scheme: "http", host: "a", port: 80, pathAndQuery: "/"))
        #expect(try requestHead("GET http://a?x HTTP/1.1\r\nHost: a\r\n\r\n").target
                == .absolute(scheme: "http", host: "a", port: 80, pathAndQuery: "/?x"))
        #expect(try requestHead("GET http://a:/ HTTP/1.1\r\nHost: a\r\n\r\n").target
                == .absolute(scheme: "http", host: "a", port: 80, pathAndQuery: "/"))
    }

    @Test func absoluteFormIPv6() throws {
        let head = try requestHead("GET http://[2001:DB8::1]:8080/x?y HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n")
        #expect(head.target == .absolute(scheme: "http", host: "2001:db8::1", port: 8080, pathAndQuery: "/x?y"))
        #expect(head.hostHeader?.host == "2001:db8::1")
        let noPort = try requestHead("GET http://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        #expect(noPort.target == .absolute(scheme: "http", host: "::1", port: 80, pathAndQuery: "/"))
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/x", RequestTarget.absolute(scheme: "http", host: "127.0.0.1", port: 8080, pathAndQuery: "/x")),
        ("http://[::ffff:192.0.2.1]/", RequestTarget.absolute(scheme: "http", host: "::ffff:192.0.2.1", port: 80, pathAndQuery: "/")),
        ("http://[2001:db8:0:0:0:0:0:1]/", RequestTarget.absolute(scheme: "http", host: "2001:db8::1", port: 80, pathAndQuery: "/")),
        ("http://internal_host.corp/", RequestTarget.absolute(scheme: "http", host: "internal_host.corp", port: 80, pathAndQuery: "/")),
        ("http://a.example/%7Euser/a%20b?q=%26", RequestTarget.absolute(scheme: "http", host: "a.example", port: 80, pathAndQuery: "/%7Euser/a%20b?q=%26")),
        ("http://a.example:65535?x=1", RequestTarget.absolute(scheme: "http", host: "a.example", port: 65535, pathAndQuery: "/?x=1")),
    ])
    func absoluteFormVariants(_ raw: String, _ expected: RequestTarget) throws {
        #expect(try requestHead("GET \(raw) HTTP/1.1\r\nHost: h\r\n\r\n").target == expected)
    }

    @Test func connectAuthority() throws {
        let head = try requestHead("CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        #expect(head.target == .authority(host: "example.com", port: 443))
        #expect(head.pathWithoutQuery == "")
        let v6 = try requestHead("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n")
        #expect(v6.target == .authority(host: "::1", port: 8443))
    }

    @Test func asterisk() throws {
        #expect(try requestHead("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target == .asterisk)
    }

    @Test func http10KeepAliveSemantics() throws {
        #expect(try !requestHead("GET http://a/ HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try requestHead("GET http://a/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try requestHead("GET http://a/ HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n").keepAlive)
        #expect(try !requestHead("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n").keepAlive)
        #expect(try requestHead("GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n").keepAlive)
        #expect(try requestHead("GET http://a/ HTTP/1.0\r\n\r\n").version == .http10)
    }

    @Test func expectContinue() throws {
        #expect(try requestHead("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").expectsContinue)
        #expect(try !requestHead("PUT /x HTTP/1.1\r\nHost: a\r\n\r\n").expectsContinue)
    }

    @Test func leadingEmptyLinesAreSkipped() throws {
        guard case .complete(let head, let n) = try parseRequest("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nrest") else {
            Issue.record("incomplete"); return
        }
        #expect(head.method == "GET")
        #expect(n == 4 + 16 + 9 + 2)
    }

    @Test func pipelinedRequests() throws {
        let bytes = Array("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3".utf8)
        var parser = HeadParser()
        var offset = 0
        var paths: [String] = []
        while true {
            let rest = Array(bytes[offset...])
            let r = try rest.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseRequest(raw) } }.get()
            guard case .complete(let head, let n) = r else { break }
            paths.append(head.pathWithoutQuery)
            offset += n
        }
        #expect(paths == ["/1", "/2"])
        #expect(offset == bytes.count - 6)
    }

    @Test func headerBytesPointsAtBody() throws {
        let text = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        guard case .complete(_, let n) = try parseRequest(text) else { Issue.record("incomplete"); return }
        #expect(Array(text.utf8)[n...] == Array("abc".utf8)[...])
    }

    @Test func duplicatesKeptInOrder() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B:\r\nX-A: 3\r\n\r\n")
        #expect(head.headers.values("X-A") == ["1", "2", "3"])
        #expect(head.headers.first("x-b") == "")
        #expect(head.headers.fields.map(\.name) == ["Host", "X-A", "x-a", "X-B", "X-A"])
    }

    @Test func obsTextIsKept() throws {
        let head = try requestHead("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\u{E9}\r\n\r\n")
        #expect(head.headers.first("x-name") == "caf\u{E9}")
    }

    @Test func splitAtEveryOffsetGivesTheSameHead() throws {
        let text = "POST http://[::1]:8080/upload?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: 5\r\n"
            + "Connection: keep-alive\r\nX-Multi: a\r\nX-Multi: b\r\n\r\nhello"
        let bytes = Array(text.utf8)
        let whole = try requestHead(text)
        for split in 0...bytes.count {
            var parser = HeadParser()
            let first = try Array(bytes[..<split]).withUnsafeBytes { raw in
                Result { () throws(WireError) in try parser.parseRequest(raw) }
            }.get()
            var result = first
            if case .incomplete = first {
                result = try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseRequest(raw) } }.get()
            }
            guard case .complete(let head, let n) = result else { Issue.record("incomplete at \(split)"); continue }
            #expect(n == bytes.count - 5)
            #expect(head.target == whole.target)
            #expect(head.method == whole.method)
            #expect(head.headers.fields.map(\.name) == whole.headers.fields.map(\.name))
            #expect(head.headers.fields.map(\.value) == whole.headers.fields.map(\.value))
        }
    }

    @Test func byteAtATime() throws {
        let bytes = Array("GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nX: y\r\n\r\n".utf8)
        var parser = HeadParser()
        var done = false
        for end in 1...bytes.count {
            let r = try Array(bytes[..<end]).withUnsafeBytes { raw in
                Result { () throws(WireError) in try parser.parseRequest(raw) }
            }.get()
            if case .complete(let head, let n) = r {
                #expect(end == bytes.count)
                #expect(n == bytes.count)
                #expect(head.headers.first("x") == "y")
                done = true
            }
        }
        #expect(done)
    }

    @Test func parserIsReusableAfterCompleteAndAfterError() throws {
        var parser = HeadParser()
        let bad = Array("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n".utf8)
        #expect(throws: WireError.self) { try bad.withUnsafeBytes { raw in try parser.parseRequest(raw) } }
        for _ in 0..<2 {
            let good = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
            let r = try good.withUnsafeBytes { raw in Result { () throws(WireError) in try parser.parseRequest(raw) } }.get()
            guard case .complete = r else { Issue.record("incomplete"); return }
        }
    }
}

@Suite struct ResponseHeadTests {
    @Test func statusLine() throws {
        let head = try responseHead("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(head.status == 404)
        #expect(head.reason == "Not Found")
        #expect(head.keepAlive)
        #expect(try responseHead("HTTP/1.1 200\r\n\r\n").reason == "")
        #expect(try responseHead("HTTP/1.1 200 \r\n\r\n").reason == "")
        #expect(try !responseHead("HTTP/1.0 200 OK\r\n\r\n").keepAlive)
        #expect(try responseHead("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keepAlive)
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 600 OK\r\n\r\n",
        "HTTP/1.1 200 O\rK\r\n\r\n",
        "HTTP/1.1 200 OK\nX: a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{0}\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n",
    ])
    func refusedResponses(_ text: String) {
        #expect(throws: WireError.self) { try parseResponse(text) }
    }

    @Test func unknownVersionIs505() {
        #expect(throws: WireError(status: 505, "HTTP version not supported")) { try parseResponse("HTTP/2.0 200 OK\r\n\r\n") }
    }
}
