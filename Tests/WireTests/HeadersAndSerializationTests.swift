import Testing
import Wire

@Suite struct HTTPHeadersTests {
    @Test func lookupIsCaseInsensitiveAndOrdered() {
        var h = HTTPHeaders()
        h.add("Content-Type", "text/plain")
        h.add("X-A", "1")
        h.add("x-a", "2")
        #expect(h.first("content-TYPE") == "text/plain")
        #expect(h.values("X-a") == ["1", "2"])
        #expect(h.first("missing") == nil)
        h.remove("X-A")
        #expect(h.fields.map(\.name) == ["Content-Type"])
        #expect(Array(h).count == 1)
    }

    @Test func tokens() {
        let h: HTTPHeaders = ["Connection": "keep-alive , Upgrade", "connection": "X-Custom", "Accept": "a/b;q=1"]
        #expect(h.containsToken("connection", "upgrade"))
        #expect(h.containsToken("Connection", "x-custom"))
        #expect(!h.containsToken("connection", "close"))
        #expect(!h.containsToken("connection", "keep"))
        #expect(h.tokens("connection") == ["keep-alive", "Upgrade", "X-Custom"])
    }

    @Test func replaceOrAdd() {
        var h: HTTPHeaders = ["Via": "1.0 a", "Host": "h", "via": "1.1 b"]
        h.replaceOrAdd("VIA", "1.1 customs")
        #expect(h.fields.map(\.name) == ["Via", "Host"])
        #expect(h.first("via") == "1.1 customs")
        h.replaceOrAdd("X-New", "v")
        #expect(h.first("x-new") == "v")
    }

    @Test func removeHopByHop() {
        var h = HTTPHeaders([
            (name: "Host", value: "a"), (name: "Connection", value: "X-Secret, close, Content-Length, host"),
            (name: "X-Secret", value: "s"), (name: "Keep-Alive", value: "timeout=5"),
            (name: "Proxy-Connection", value: "keep-alive"), (name: "Proxy-Authorization", value: "Basic x"),
            (name: "Proxy-Authenticate", value: "Basic"), (name: "TE", value: "trailers"),
            (name: "Trailer", value: "X-Sum"), (name: "Upgrade", value: "websocket"),
            (name: "Transfer-Encoding", value: "chunked"), (name: "Content-Length", value: "3"),
            (name: "Accept", value: "*/*"),
        ])
        h.removeHopByHop()
        #expect(h.fields.map(\.name) == ["Host", "Transfer-Encoding", "Content-Length", "Accept"])
    }
}

@Suite struct SerializationTests {
    @Test func requestOriginFormRewrite() throws {
        var head = try requestHead("GET http://a.example:8080/p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n")
        head.headers.removeHopByHop()
        head.headers.add("Via", "1.1 customs")
        #expect(String(decoding: head.serialized(originForm: true), as: UTF8.self)
                == "GET /p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nAccept: */*\r\nVia: 1.1 customs\r\n\r\n")
        #expect(String(decoding: head.serialized(originForm: false), as: UTF8.self).hasPrefix("GET http://a.example:8080/p?q=1 HTTP/1.1\r\n"))
    }

    @Test func serializeAppendsToAReusedBuffer() throws {
        let head = try requestHead("GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n")
        var out = Array("prefix".utf8)
        head.serialize(originForm: true, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "prefixGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        out.removeAll(keepingCapacity: true)
        try responseHead("HTTP/1.1 204 No Content\r\n\r\n").serialize(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test func serializedRequestParsesBack() throws {
        let text = "POST /x HTTP/1.0\r\nHost: h\r\nContent-Length: 0\r\nX: a b\r\n\r\n"
        let head = try requestHead(text)
        #expect(String(decoding: head.serialized(originForm: true), as: UTF8.self) == text)
    }

    @Test func responseSerializedParsesBack() throws {
        let text = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n"
        #expect(String(decoding: try responseHead(text).serialized(), as: UTF8.self) == text)
    }

    @Test func simpleResponse() throws {
        let bytes = HTTPResponseHead.simple(status: 407, reason: HTTPResponseHead.reasonPhrase(407),
                                            body: "proxy authentication required\n",
                                            headers: ["Proxy-Authenticate": "Basic realm=\"customs\""])
        let text = String(decoding: bytes, as: UTF8.self)
        let head = try responseHead(text)
        #expect(head.status == 407)
        #expect(head.reason == "Proxy Authentication Required")
        #expect(head.headers.first("proxy-authenticate") == "Basic realm=\"customs\"")
        #expect(head.headers.first("content-length") == "30")
        #expect(head.headers.first("content-type") == "text/plain; charset=utf-8")
        #expect(!head.keepAlive)
        #expect(text.hasSuffix("\r\n\r\nproxy authentication required\n"))
        #expect(try responseBodyFraming(head, requestMethod: "GET") == .contentLength(30))
    }
}
