import Testing
import Wire

@Suite struct BodyDecoderTests {
    private func run(_ decoder: inout BodyDecoder, _ text: String) throws -> (body: String, consumed: Int) {
        var body: [UInt8] = []
        let bytes = Array(text.utf8)
        let used = try bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) in try decoder.decode(raw) { body.append(contentsOf: $0) } }
        }.get()
        return (String(decoding: body, as: UTF8.self), used)
    }

    @Test func contentLengthStopsAtTheEnd() throws {
        var d = BodyDecoder(.contentLength(5))
        #expect(try run(&d, "he") == ("he", 2))
        #expect(!d.isComplete)
        #expect(try run(&d, "lloGET / HTTP/1.1") == ("llo", 3))
        #expect(d.isComplete)
        #expect(try run(&d, "more") == ("", 0))
    }

    @Test func noneIsCompleteAtOnce() throws {
        var d = BodyDecoder(.none)
        #expect(d.isComplete)
        #expect(try run(&d, "GET") == ("", 0))
        #expect(try BodyDecoder(.contentLength(0)).isComplete)
    }

    @Test func chunkedDelegates() throws {
        var d = BodyDecoder(.chunked)
        #expect(try run(&d, "3\r\nabc\r\n0\r\nX: 1\r\n\r\nNEXT") == ("abc", 19))
        #expect(d.isComplete)
        #expect(d.trailers.first("x") == "1")
    }

    @Test func untilCloseEndsAtClose() throws {
        var d = BodyDecoder(.untilClose)
        #expect(try run(&d, "all of it") == ("all of it", 9))
        #expect(!d.isComplete)
        try d.finishAtClose()
        #expect(d.isComplete)
    }

    @Test func truncatedBodiesAreErrors() throws {
        var cl = BodyDecoder(.contentLength(10))
        _ = try run(&cl, "short")
        #expect(throws: WireError.self) { try cl.finishAtClose() }
        var ch = BodyDecoder(.chunked)
        _ = try run(&ch, "5\r\nab")
        #expect(throws: WireError.self) { try ch.finishAtClose() }
    }
}
