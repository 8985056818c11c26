import CustomsCore
import Testing
import Wire

enum Mutator {
    static let interesting: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x3A, 0x00, 0x7F, 0xFF, 0x80, 0x2C, 0x2F,
                                       0x5B, 0x5D, 0x40, 0x23, 0x3F, 0x3B, 0x22, 0x30, 0x61, 0x46]

    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            let value = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = value
            case 1: bytes.insert(value, at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...20, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + 8))
            default: bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }
}

/// A comparable summary of one parse outcome.
enum Outcome: Equatable {
    case incomplete
    case refused(Int)
    case request(method: String, target: RequestTarget, fields: [String], headerBytes: Int)
}

func outcome(_ parse: () throws(WireError) -> HeadParseResult<HTTPRequestHead>) -> Outcome {
    do {
        switch try parse() {
        case .incomplete: return .incomplete
        case .complete(let head, let n):
            return .request(method: head.method, target: head.target,
                            fields: head.headers.fields.map { $0.name + ":" + $0.value }, headerBytes: n)
        }
    } catch {
        #expect((400...505).contains(error.status))
        #expect(!error.message.isEmpty)
        return .refused(error.status)
    }
}

@Suite struct FuzzTests {
    static let heads = [
        "GET http://a.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
        "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: b:81\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: c\r\nX-Long: " + String(repeating: "v", count: 120) + "\r\n\r\n",
    ].map { Array($0.utf8) }

    @Test func mutatedHeadsParseTheSameWholeOrSplit() {
        var rng = SplitMix64(state: 0xC057_0A5)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<6000 {
            let bytes = Mutator.mutate(Self.heads[iteration % Self.heads.count], using: &rng)
            let small = iteration % 3 == 0
            let make = { small ? HeadParser(maxRequestLine: 48, maxHeaderBytes: 160) : HeadParser() }
            var wholeParser = make()
            let whole = outcome { () throws(WireError) in
                try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try wholeParser.parseRequest(raw) } }.get()
            }
            var splitParser = make()
            let split = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            var pieces = outcome { () throws(WireError) in
                try Array(bytes[..<split]).withUnsafeBytes { raw in Result { () throws(WireError) in try splitParser.parseRequest(raw) } }.get()
            }
            if pieces == .incomplete {
                pieces = outcome { () throws(WireError) in
                    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try splitParser.parseRequest(raw) } }.get()
                }
            }
            #expect(pieces == whole, "iteration \(iteration)")
            if case .request(_, _, _, let n) = whole { #expect(n <= bytes.count) }
            outcomes[String(describing: whole).prefix(10).description, default: 0] += 1
        }
        // The mutations must exercise acceptance and refusal alike, or the test proves little.
        #expect(outcomes.count >= 3)
    }

    @Test func mutatedResponsesParseTheSameWholeOrSplit() {
        var rng = SplitMix64(state: 0x5EED)
        let seeds = [
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\nSet-Cookie: a=b\r\n\r\n",
            "HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
        ].map { Array($0.utf8) }
        func summary(_ r: Result<HeadParseResult<HTTPResponseHead>, WireError>) -> String {
            switch r {
            case .failure(let e): return "refused \(e.status)"
            case .success(.incomplete): return "incomplete"
            case .success(.complete(let h, let n)): return "\(h.status) \(h.reason) \(h.headers) \(n)"
            }
        }
        for iteration in 0..<3000 {
            let bytes = Mutator.mutate(seeds[iteration % seeds.count], using: &rng)
            var wholeParser = HeadParser()
            let whole = summary(bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try wholeParser.parseResponse(raw) } })
            var splitParser = HeadParser()
            let split = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            var pieces = summary(Array(bytes[..<split]).withUnsafeBytes { raw in
                Result { () throws(WireError) in try splitParser.parseResponse(raw) }
            })
            if pieces == "incomplete" {
                pieces = summary(bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try splitParser.parseResponse(raw) } })
            }
            #expect(pieces == whole, "iteration \(iteration)")
        }
    }

    @Test func randomBytesNeverCrashTheParsers() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<n).map { _ in
                Bool.random(using: &rng) ? Mutator.interesting.randomElement(using: &rng)! : UInt8.random(in: 0x20...0x7E, using: &rng)
            }
            var p = HeadParser()
            _ = outcome { () throws(WireError) in
                try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try p.parseRequest(raw) } }.get()
            }
            _ = bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try p.parseResponse(raw) } }
            _ = bytes.withUnsafeBytes { parseClientHello($0) }
            var d = ChunkedDecoder()
            _ = bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try d.decode(raw) { _ in } } }
        }
    }

    @Test func mutatedFramingHeadersOnlyThrowWireError() {
        var rng = SplitMix64(state: 7)
        let values = ["chunked", "Chunked", "gzip, chunked", "chunked, gzip", "", " ", "5", "05", "5, 5", "5,6",
                      "-1", "18446744073709551616", "identity", "chunked;x", ",", "0x10", "1 0"]
        for _ in 0..<2000 {
            var head = "POST http://a/ HTTP/1.\(Int.random(in: 0...1, using: &rng))\r\nHost: a\r\n"
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                let name = Bool.random(using: &rng) ? "Content-Length" : "transfer-encoding"
                head += "\(name): \(values.randomElement(using: &rng)!)\r\n"
            }
            guard case .complete(let parsed, _)? = try? parseRequest(head + "\r\n") else { continue }
            do {
                switch try requestBodyFraming(parsed) {
                case .chunked: #expect(!parsed.headers.contains("content-length"))
                case .contentLength: #expect(!parsed.headers.contains("transfer-encoding"))
                case .none: #expect(!parsed.headers.contains("content-length") && !parsed.headers.contains("transfer-encoding"))
                case .untilClose: Issue.record("a request is never read until close")
                }
            } catch {
                #expect([400, 501].contains(error.status))
            }
        }
    }

    @Test func mutatedChunkedStreamsDecodeTheSameWholeOrByteByByte() {
        var rng = SplitMix64(state: 0xBEEF)
        let seeds = [
            "5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
            "1a\r\n" + String(repeating: "q", count: 26) + "\r\n3\r\nabc\r\n0\r\n\r\n",
            "FFF\r\n" + String(repeating: "z", count: 40),
        ].map { Array($0.utf8) }
        for iteration in 0..<4000 {
            let bytes = Mutator.mutate(seeds[iteration % seeds.count], using: &rng)
            let whole = Result { () throws(WireError) in try decodeChunked(bytes) }
            let stepped = Result { () throws(WireError) in try decodeChunked(bytes, step: 1) }
            switch (whole, stepped) {
            case let (.success(a), .success(b)):
                #expect(a.body == b.body && a.consumed == b.consumed && a.decoder.isComplete == b.decoder.isComplete,
                        "iteration \(iteration)")
            case let (.failure(a), .failure(b)):
                #expect(a.status == 400 && b.status == 400)
            default:
                Issue.record("iteration \(iteration): whole and byte-by-byte disagree")
            }
        }
    }

    @Test func mutatedClientHellosNeverCrash() {
        var rng = SplitMix64(state: 99)
        let seed = HelloBuilder.records(ClientHelloTests.full, fragment: 70)
        var parsed = 0
        for _ in 0..<4000 {
            let bytes = Mutator.mutate(seed, using: &rng)
            if case .hello = clientHello(bytes) { parsed += 1 }
        }
        #expect(parsed > 0)
    }
}
