import Testing
@testable import Wire

@Suite struct ByteCursorTests {
    private func written(_ maxBytes: Int, _ body: (inout ByteCursor) -> Void) -> String {
        var out: [UInt8] = Array("<".utf8)
        out.appendWriting(maxBytes: maxBytes, body)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func decimalsMatchStringFormatting() {
        for value: UInt64 in [0, 7, 9, 10, 99, 100, 65_535, 1_000_000, .max] {
            #expect(written(20) { $0.putDecimal(value) } == "<" + String(value))
        }
        #expect(written(20) { $0.putDecimal(7, width: 3) } == "<007")
        #expect(written(20) { $0.putDecimal(1234, width: 3) } == "<1234")
        #expect(written(20) { $0.putDecimal(0, width: 4) } == "<0000")
    }

    @Test func piecesFollowOneAnotherAfterWhatWasThere() {
        let text = written(64) { c in
            c.put("GET ")
            c.put(utf8: "/päth")
            c.put(UInt8(ascii: " "))
            var bridged = "HTTP/1.1"
            bridged.append("!")
            c.put(utf8: bridged)
            [UInt8](arrayLiteral: 13, 10).withUnsafeBytes { c.put($0) }
        }
        #expect(text == "<GET /päth HTTP/1.1!\r\n")
    }

    @Test func piecesOfEverySmallLengthArriveWhole() {
        let source = (0..<40).map { UInt8(0x41 + $0) }
        for n in 0...source.count {
            let text = written(64) { c in
                source.withUnsafeBytes { c.put(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                c.put("|")
            }
            #expect(text == "<" + String(decoding: source[0..<n], as: UTF8.self) + "|")
        }
    }

    @Test func extraCapacityIsLeftForTheNextAppend() {
        var out: [UInt8] = []
        out.appendWriting(maxBytes: 8, extraCapacity: 1000) { $0.put("head") }
        #expect(out == Array("head".utf8))
        #expect(out.capacity >= 1008)
    }

    @Test func forwardedHeadsMatchTheirOwnBounds() throws {
        var parser = HeadParser()
        let raw = Array("GET http://example.org:8080/a?b=1 HTTP/1.1\r\nHost: example.org:8080\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nAccept: */*\r\n\r\n".utf8)
        guard case .complete(let head, _) = try raw.withUnsafeBytes({ try parser.parseRequest($0) }) else {
            Issue.record("incomplete"); return
        }
        var out: [UInt8] = []
        head.serializeForwardedStart(into: &out) { _ in false }
        #expect(String(decoding: out, as: UTF8.self) == "GET /a?b=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\n")
        #expect(out.count <= head.forwardedStartMaxBytes)

        var responseParser = HeadParser()
        let rawResponse = Array("HTTP/1.0 203 Non-Authoritative\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\n\r\n".utf8)
        guard case .complete(let response, _) = try rawResponse.withUnsafeBytes({ try responseParser.parseResponse($0) }) else {
            Issue.record("incomplete"); return
        }
        var relayed: [UInt8] = []
        response.serializeForwardedStart(into: &relayed) { _ in false }
        #expect(String(decoding: relayed, as: UTF8.self) == "HTTP/1.1 203 Non-Authoritative\r\nContent-Length: 3\r\n")
        #expect(relayed.count <= response.forwardedStartMaxBytes)
    }
}
