import CustomsCore
import Testing
@testable import Wire

/// The relay is a fast path beside `HeadParser`: whatever it accepts, the parser must accept with
/// the same framing, persistence and relayed bytes; whatever is unusual it must leave to the parser.
@Suite struct ResponseHeadRelayTests {
    struct Outcome: Equatable {
        var headerBytes: Int
        var status: Int
        var framing: BodyFraming?
        var keepAlive: Bool
        var relayed: [String]   // droppingTransferEncoding false, true
    }

    static let limits = (statusLine: 65_536, headerBytes: 65_536, fields: 256)

    static func viaRelay(_ raw: [UInt8], method: String = "GET", maxHeaderBytes: Int = limits.headerBytes,
                         maxFields: Int = limits.fields) -> Outcome? {
        raw.withUnsafeBytes { bytes in
            guard let relay = ResponseHeadRelay.scan(bytes, maxStatusLine: limits.statusLine,
                                                     maxHeaderBytes: maxHeaderBytes, maxHeaderFields: maxFields) else { return nil }
            let relayed = [false, true].map { drop in
                var out: [UInt8] = []
                out.appendWriting(maxBytes: relay.forwardedStartMaxBytes) {
                    relay.writeForwardedStart(from: bytes, to: &$0, droppingTransferEncoding: drop)
                }
                return String(decoding: out, as: UTF8.self)
            }
            return Outcome(headerBytes: relay.headerBytes, status: relay.status,
                           framing: try? responseBodyFraming(relay.decidingHead, requestMethod: method),
                           keepAlive: relay.decidingHead.keepAlive, relayed: relayed)
        }
    }

    static func viaParser(_ raw: [UInt8], method: String = "GET", maxHeaderBytes: Int = limits.headerBytes,
                          maxFields: Int = limits.fields) -> Outcome? {
        var parser = HeadParser(maxRequestLine: limits.statusLine, maxHeaderBytes: maxHeaderBytes, maxHeaderFields: maxFields)
        guard let result = try? raw.withUnsafeBytes({ try parser.parseResponse($0) }),
              case .complete(let head, let n) = result else { return nil }
        let relayed = [false, true].map { drop in
            var out: [UInt8] = []
            head.serializeForwardedStart(into: &out) { drop && $0.equalsLowercased("transfer-encoding") }
            return String(decoding: out, as: UTF8.self)
        }
        return Outcome(headerBytes: n, status: head.status, framing: try? responseBodyFraming(head, requestMethod: method),
                       keepAlive: head.keepAlive, relayed: relayed)
    }

    static let heads = [
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 15:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 34\r\nConnection: keep-alive\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nx-other:  padded value \t\r\n\r\n",
        "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 204\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Connection: close\r\nProxy-Authenticate: Basic\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\nEmpty:\r\n\r\n",
        "HTTP/1.1 500 Internal Server Error\r\nX-Name: caf\u{e9} \u{4e2d}\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: content-length, host\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n",
    ].map { Array($0.utf8) }

    @Test func cleanHeadsMatchTheParserExactly() throws {
        for raw in Self.heads {
            for method in ["GET", "HEAD", "CONNECT"] {
                let fast = try #require(Self.viaRelay(raw, method: method), "\(String(decoding: raw, as: UTF8.self))")
                #expect(fast == Self.viaParser(raw, method: method), "\(String(decoding: raw, as: UTF8.self))")
            }
        }
    }

    @Test func fieldsWithoutSpacesStayWithinTheReservedRoom() throws {
        // Each `a:b` line grows by a byte when relayed; the writer stops the process on overrun.
        let raw = Array(("HTTP/1.1 200\r\n" + String(repeating: "a:b\r\n", count: 250) + "\r\n").utf8)
        let fast = try #require(Self.viaRelay(raw))
        #expect(fast == Self.viaParser(raw))
        // Status line one byte longer, every field line one byte longer, no final empty line.
        #expect(fast.relayed[0].utf8.count == raw.count + 1 + 250 - 2)
    }

    @Test func hopByHopFieldsAndTheOnesConnectionNamesAreNotRelayed() throws {
        let fast = try #require(Self.viaRelay(Self.heads[1]))
        #expect(fast.relayed[0] == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-other: padded value\r\n")
        #expect(fast.relayed[1] == "HTTP/1.1 200 OK\r\nx-other: padded value\r\n")
        #expect(fast.keepAlive == false)
        #expect(fast.framing == .chunked)
    }

    @Test func leavesEverythingUnusualToTheParser() {
        let refused = [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n",             // incomplete
            "HTTP/1.1 100 Continue\r\n\r\n",                        // informational
            "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",           // obs-fold
            "HTTP/1.1 200 OK\nX: a\r\n\r\n",                        // bare LF
            "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",                   // bare CR
            "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",                     // space before colon
            "HTTP/1.1 200 OK\r\n: a\r\n\r\n",                       // empty name
            "HTTP/1.1 200 OK\r\nX: a\u{1}\r\n\r\n",                 // control character
            "HTTP/2.0 200 OK\r\n\r\n",                              // version
            "HTTP/1.1 20 OK\r\n\r\n",                               // status
            "HTTP/1.1 600 OK\r\n\r\n",
            "HTTP/1.1 200OK\r\n\r\n",
            "HTTP/1.1 200 O\u{7f}K\r\n\r\n",
        ].map { Array($0.utf8) }
        for raw in refused { #expect(Self.viaRelay(raw) == nil, "\(String(decoding: raw, as: UTF8.self))") }
        // Limits: the same head fits, or not, exactly as the parser's limits say.
        let head = Array("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n".utf8)
        #expect(Self.viaRelay(head, maxFields: 2) != nil)
        #expect(Self.viaRelay(head, maxFields: 1) == nil)
        #expect(Self.viaParser(head, maxFields: 1) == nil)
        let section = head.count - 17   // bytes after the status line
        #expect(Self.viaRelay(head, maxHeaderBytes: section) != nil)
        #expect(Self.viaParser(head, maxHeaderBytes: section) != nil)
        #expect(Self.viaRelay(head, maxHeaderBytes: section - 1) == nil)
        #expect(Self.viaParser(head, maxHeaderBytes: section - 1) == nil)
    }

    /// Hostile variations of real heads: the relay may decline any of them, but what it accepts,
    /// the parser accepts the same way.
    @Test func neverAcceptsWhatTheParserJudgesDifferently() {
        var rng = SplitMix64(state: 0x5EED_2026)
        var accepted = 0
        for _ in 0..<20_000 {
            let raw = Mutator.mutate(Self.heads.randomElement(using: &rng)!, using: &rng)
            guard let fast = Self.viaRelay(raw) else { continue }
            accepted += 1
            let slow = Self.viaParser(raw)
            // Bytes that are not valid UTF-8 are relayed as they came; the parser's Strings repair them.
            if String(validating: raw, as: UTF8.self) == nil {
                #expect(slow.map { ($0.headerBytes, $0.status, $0.framing, $0.keepAlive) == (fast.headerBytes, fast.status, fast.framing, fast.keepAlive) } == true)
            } else {
                #expect(fast == slow, "\(raw)")
            }
        }
        #expect(accepted > 1_000)
    }
}
