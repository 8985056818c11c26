import Testing
import Wire
import CustomsTestSupport

/// Heads and bodies exactly as curl writes them to a proxy, captured on loopback.
@Suite struct RealClientTests {
    /// Captures one request from curl; `until` sees the parsed head and the bytes after it.
    private func capture(_ curlArguments: [String], bodyComplete: @escaping (HTTPRequestHead, ArraySlice<UInt8>) -> Bool = { _, _ in true })
        throws -> (head: HTTPRequestHead, rest: ArraySlice<UInt8>) {
        try requireTool("curl")
        let bytes = try captureFromClient { port in
            ("curl", ["-s", "-o", "/dev/null", "--max-time", "10", "-x", "http://127.0.0.1:\(port)"] + curlArguments)
        } until: { bytes in
            var parser = HeadParser()
            guard case .complete(let head, let n)? = try? bytes.withUnsafeBytes({ raw in
                Result { () throws(WireError) in try parser.parseRequest(raw) }
            }).get() else { return false }
            return bodyComplete(head, bytes[n...])
        }
        guard case .complete(let head, let n) = try parseRequest(String(decoding: bytes, as: UTF8.self)) else {
            throw TestFailure("curl's request head did not arrive")
        }
        return (head, bytes[n...])
    }

    @Test func absoluteFormGet() throws {
        let (head, _) = try capture(["http://Upstream.Example.test:8080/a/b?x=1&y=2"])
        #expect(head.method == "GET")
        #expect(head.target == .absolute(scheme: "http", host: "upstream.example.test", port: 8080, pathAndQuery: "/a/b?x=1&y=2"))
        #expect(head.pathWithoutQuery == "/a/b")
        #expect(head.keepAlive)
        #expect(try requestBodyFraming(head) == .none)
        #expect(head.headers.first("host") == "Upstream.Example.test:8080")
    }

    @Test func proxyUserIsDecoded() throws {
        let (head, _) = try capture(["--proxy-user", "alice:pa:ss word", "http://a.example.test/"])
        let value = try #require(head.headers.first("proxy-authorization"))
        let creds = try #require(ProxyAuthorization.basic(value))
        #expect(creds.user == "alice")
        #expect(creds.password == "pa:ss word")
    }

    @Test func connectTunnelRequest() throws {
        let (head, _) = try capture(["-p", "https://secure.example.test:8443/x"])
        #expect(head.method == "CONNECT")
        #expect(head.target == .authority(host: "secure.example.test", port: 8443))
        #expect(try requestBodyFraming(head) == .none)
    }

    @Test func http10Request() throws {
        let (head, _) = try capture(["-0", "http://a.example.test/old"])
        #expect(head.version == .http10)
        #expect(head.target == .absolute(scheme: "http", host: "a.example.test", port: 80, pathAndQuery: "/old"))
    }

    @Test func contentLengthUpload() throws {
        let body = String(repeating: "name=Zhang San&id=110101199003077777&", count: 50)
        let (head, rest) = try capture(["--data-binary", body, "http://a.example.test/form"]) { head, rest in
            rest.count >= Int(head.headers.first("content-length") ?? "0") ?? 0
        }
        #expect(head.method == "POST")
        #expect(try requestBodyFraming(head) == .contentLength(UInt64(body.utf8.count)))
        #expect(String(decoding: rest.prefix(body.utf8.count), as: UTF8.self) == body)
    }

    @Test func chunkedUpload() throws {
        let body = String(repeating: "0123456789abcdef", count: 2048)
        let (head, rest) = try capture(["-H", "Transfer-Encoding: chunked", "--data-binary", body, "http://a.example.test/up"]) { _, rest in
            rest.suffix(5).elementsEqual("0\r\n\r\n".utf8)
        }
        #expect(try requestBodyFraming(head) == .chunked)
        let decoded = try decodeChunked(Array(rest), step: 1000)
        #expect(decoded.decoder.isComplete)
        #expect(decoded.body.count == body.utf8.count)
        #expect(String(decoding: decoded.body, as: UTF8.self) == body)
    }
}
