import Testing
import Wire

@Suite struct ChunkedDecoderTests {
    static let sample = Array(("5;name=value;quoted=\"a b\"\r\nhello\r\n"
        + "6 ; ext\r\n world\r\n"
        + "1A\r\n" + String(repeating: "z", count: 26) + "\r\n"
        + "0\r\nExpires: never\r\nX-Sum: 12\r\n\r\nNEXT").utf8)
    static let expected = Array(("hello world" + String(repeating: "z", count: 26)).utf8)

    @Test func wholeInput() throws {
        let r = try decodeChunked(Self.sample)
        #expect(r.body == Self.expected)
        #expect(r.decoder.isComplete)
        #expect(r.consumed == Self.sample.count - 4)
        #expect(r.decoder.trailers.first("x-sum") == "12")
        #expect(r.decoder.trailers.count == 2)
        #expect(r.decoder.bodyBytes == UInt64(Self.expected.count))
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func fedInPieces(_ step: Int) throws {
        let r = try decodeChunked(Self.sample, step: step)
        #expect(r.body == Self.expected)
        #expect(r.decoder.isComplete)
        #expect(r.consumed == Self.sample.count - 4)
        #expect(r.decoder.trailers.first("expires") == "never")
    }

    @Test func noTrailers() throws {
        let r = try decodeChunked(Array("3\r\nabc\r\n0\r\n\r\n".utf8), step: 1)
        #expect(r.body == Array("abc".utf8))
        #expect(r.decoder.isComplete)
        #expect(r.decoder.trailers.isEmpty)
    }

    @Test func incompleteIsNotComplete() throws {
        let r = try decodeChunked(Array("3\r\nabc\r\n0\r\n".utf8))
        #expect(!r.decoder.isComplete)
        #expect(r.body == Array("abc".utf8))
    }

    @Test func largeSizeWithinLimit() throws {
        var d = ChunkedDecoder()
        let bytes = Array("FFFFFFFFFFFFFFF\r\nab".utf8)
        var got = 0
        let used = try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try d.decode(raw) { got += $0.count } } }.get()
        #expect(used == bytes.count)
        #expect(got == 2)
        #expect(!d.isComplete)
    }

    @Test(arguments: [
        "x\r\n",                       // non-hex
        "\r\n",                        // empty size
        "-1\r\n",
        " 5\r\nhello\r\n0\r\n\r\n",    // leading space
        "12345678901234567\r\n",       // 17 digits
        "0x5\r\nhello\r\n",
        "5\nhello\r\n0\r\n\r\n",       // bare LF after size
        "5\rhello\r\n0\r\n\r\n",       // CR without LF
        "5\r\nhelloX\r\n0\r\n\r\n",    // data longer than size
        "5\r\nhello\n0\r\n\r\n",       // missing CR after data
        "5\r\nhello\r0\r\n\r\n",
        "5;a\u{0}b\r\nhello\r\n",      // control in extension
        "5 x\r\nhello\r\n",            // garbage after size
        "5 \r\nhello\r\n0\r\n\r\n",     // whitespace not followed by an extension
        "5\t\r\nhello\r\n0\r\n\r\n",
        "5;a\nb\r\nhello\r\n",         // LF inside an extension
        "0\r\nX: a\n\r\n",             // bare LF in trailer
        "0\r\nX : a\r\n\r\n",          // bad trailer name
        "0\r\n folded\r\n\r\n",        // obs-fold trailer
        "0\r\nX: a\rb\r\n\r\n",        // bare CR in trailer
        "0\r\n\rX\r\n",
    ])
    func refused(_ text: String) {
        #expect(throws: WireError.self) { try decodeChunked(Array(text.utf8), step: 1) }
        #expect(throws: WireError.self) { try decodeChunked(Array(text.utf8)) }
    }

    @Test func sizeOverflowRefused() {
        var d = ChunkedDecoder(maxChunkSizeDigits: 40)
        let bytes = Array("1FFFFFFFFFFFFFFFF\r\n".utf8)
        #expect(throws: WireError.self) {
            try bytes.withUnsafeBytes { raw in try d.decode(raw) { _ in } }
        }
    }

    /// An inspecting reader keeps the extensions' text (they go out with the body), in pieces too.
    @Test(arguments: [1, 3, 64])
    func keptExtensions(_ step: Int) throws {
        var d = ChunkedDecoder()
        d.keepsExtensions = true
        var i = 0
        while i < Self.sample.count && !d.isComplete {
            let end = min(Self.sample.count, i + step)
            i += try Self.sample[i..<end].withUnsafeBytes { raw throws(WireError) in try d.decode(raw) { _ in } }
        }
        #expect(String(decoding: d.takeExtensions(), as: UTF8.self) == " name=value;quoted=\"a b\"  ext")
        #expect(d.takeExtensions().isEmpty, "taken once")
        var off = ChunkedDecoder()
        _ = try Self.sample.withUnsafeBytes { raw throws(WireError) in try off.decode(raw) { _ in } }
        #expect(off.takeExtensions().isEmpty, "kept only when asked")
        // Many chunks' extensions, never taken, are bounded as the trailer section is.
        var many = ChunkedDecoder()
        many.keepsExtensions = true
        let body = Array((String(repeating: "1;" + String(repeating: "e", count: 100) + "\r\nx\r\n", count: 200) + "0\r\n\r\n").utf8)
        #expect(throws: WireError.self) { _ = try body.withUnsafeBytes { raw throws(WireError) in try many.decode(raw) { _ in } } }
    }

    @Test func extensionAndTrailerBounds() {
        let longExt = "5;" + String(repeating: "e", count: 5000) + "\r\nhello\r\n0\r\n\r\n"
        #expect(throws: WireError.self) { try decodeChunked(Array(longExt.utf8)) }
        let longTrailer = "0\r\n" + String(repeating: "X-T: aaaaaaaaaa\r\n", count: 2000) + "\r\n"
        #expect(throws: WireError.self) { try decodeChunked(Array(longTrailer.utf8)) }
    }

    @Test func appendChunkSkipsEmptyPayloads() throws {
        var wire: [UInt8] = []
        for piece in ["ab", "", "cde"] {
            Array(piece.utf8).withUnsafeBytes { ChunkedEncoder.appendChunk($0, to: &wire) }
        }
        wire += ChunkedEncoder.terminator
        #expect(String(decoding: wire, as: UTF8.self) == "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")
        #expect(try decodeChunked(wire).body == Array("abcde".utf8))
    }

    @Test func encoderRoundTrip() throws {
        var wire: [UInt8] = []
        let pieces = [Array("abc".utf8), [UInt8](repeating: 7, count: 300), Array("z".utf8)]
        for p in pieces {
            wire += ChunkedEncoder.header(for: p.count) + p + ChunkedEncoder.chunkEnd
        }
        wire += ChunkedEncoder.terminator
        #expect(ChunkedEncoder.header(for: 300) == Array("12c\r\n".utf8))
        let r = try decodeChunked(wire, step: 5)
        #expect(r.body == pieces.flatMap { $0 })
        #expect(r.decoder.isComplete)
        #expect(r.consumed == wire.count)
    }
}
