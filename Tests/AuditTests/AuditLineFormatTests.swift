@testable import Audit
import Foundation
import Testing

/// The stored line is what the chain hashes: its bytes must not drift between versions, or a
/// reader comparing logs written before and after an upgrade would see two spellings of one record.
@Suite struct AuditLineFormatTests {
    static let record = AuditRecord(
        time: Date(timeIntervalSince1970: 1_795_000_000.123), incident: "CUS-20261116-7Q2K9M3X", flow: "f-00000042",
        action: "monitor", rule: "cn-2024-provisions/pi>=100000/scc", regime: "cn-2024-provisions",
        requiredInstrument: "scc_or_certification", approval: "SCC-7",
        approvalFindings: ["scc-1: expired on 2026-01-01", "cert \"B\"\\x"], exemption: "hr-payroll",
        reason: "company total would reach 100,001 people\nwithout a standard contract \u{2028}张伟",
        clientAddress: "10.0.0.7", clientName: "billing", user: "alice", method: "POST", host: "api.acme.com",
        path: "/v1/upload", destination: "127.0.0.2", country: "US", recipient: "acme-us", recipientName: "Acme \u{1} US",
        subjectsNew: ["sensitive": 3, "pi": 50],
        counts: ["recipient:acme-us/pi/calendar_year": .init(before: 10, after: 60),
                 "company/pi/calendar_year": .init(before: 99_990, after: 100_040)],
        masked: ["****123X", "****5678"], uninspectable: "gzip bomb", bytes: 16_384, foundIn: ["query", "body"])

    /// What the String-based writer of sessions 1–7 made of `record`.
    static let golden = #"{"time":"2026-11-18T11:06:40.123Z","incident":"CUS-20261116-7Q2K9M3X","flow":"f-00000042","action":"monitor","rule":"cn-2024-provisions/pi>=100000/scc","regime":"cn-2024-provisions","required_instrument":"scc_or_certification","approval":"SCC-7","approval_findings":["scc-1: expired on 2026-01-01","cert \"B\"\\x"],"exemption":"hr-payroll","reason":"company total would reach 100,001 people\nwithout a standard contract \u2028张伟","client":"10.0.0.7","client_name":"billing","user":"alice","method":"POST","host":"api.acme.com","path":"/v1/upload","destination":"127.0.0.2","country":"US","recipient":"acme-us","recipient_name":"Acme \u0001 US","subjects_new":{"pi":50,"sensitive":3},"counts":{"company/pi/calendar_year":{"before":99990,"after":100040},"recipient:acme-us/pi/calendar_year":{"before":10,"after":60}},"masked":["****123X","****5678"],"uninspectable":"gzip bomb","bytes":16384,"found_in":["query","body"],"prev":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#

    @Test func aRecordIsWrittenAsBefore() {
        let prev = String(repeating: "a", count: 64)
        #expect(AuditJSON.encode(Self.record, prev: prev) == Self.golden)
    }

    @Test func aRecordReadsBackAsWritten() throws {
        var bytes = Array("older lines\n".utf8)
        let start = bytes.count
        AuditJSON.encode(Self.record, prev: AuditChain.genesis, into: &bytes)
        let hash = AuditChain.seal(&bytes, bodyFrom: start)
        let line = Array(bytes[start...])
        let sealed = try #require(AuditChain.unseal(line))
        #expect(sealed.hash == hash && sealed.prev == AuditChain.genesis)
        #expect(AuditChain.sha256Hex(sealed.covered) == hash)
        let back = try #require(AuditJSON.decode(Substring(String(decoding: line, as: UTF8.self))))
        #expect(back == Self.record)
    }

    @Test func writtenTimesReadBackWithoutAFormatter() throws {
        var rng = SystemRandomNumberGenerator()
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800_000, using: &rng)) / 1000)
            let text = AuditTime.format(date)
            let fast = try #require(AuditTime.parseWritten(text), "\(text)")
            #expect(AuditTime.format(fast) == text)
            #expect(abs(fast.timeIntervalSince(try #require(iso.date(from: text)))) < 0.0005, "\(text)")
        }
        for bad in ["2026-02-30T10:00:00.000Z", "2026-13-01T10:00:00.000Z", "2026-11-29T24:00:00.000Z",
                    "2026-11-29T10:00:00Z", "2026-11-29 10:00:00.000Z", "2026-11-29T10:00:00.000+", "2026-1x-29T10:00:00.000Z"] {
            #expect(AuditTime.parseWritten(bad) == nil, "\(bad)")
        }
        #expect(AuditTime.parse("2026-11-29T10:00:00Z") == Date(timeIntervalSince1970: 1_795_946_400), "other forms still parse")
    }

    /// Random records through the writer: the quick reader, Foundation's reading and the record agree.
    /// (Numbers stay below 2^53: Foundation reads larger integers through Double and loses them.)
    @Test func theQuickReaderReadsWhatTheWriterWrites() throws {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "Zz9", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7f}", "é", "张伟", "😀", "\u{2028}", "{", "]", ":", ","]
        func text(_ max: Int = 6) -> String { (0..<Int.random(in: 0...max, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() }
        func maybe(_ s: @autoclosure () -> String) -> String? { Bool.random(using: &rng) ? s() : nil }
        for n in 0..<500 {
            let r = AuditRecord(
                time: Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000_000, using: &rng)) / 1000),
                incident: text(), flow: text(), action: ["block", "monitor", "allow"].randomElement(using: &rng)!, rule: text(),
                regime: maybe(text()), requiredInstrument: maybe(text()), approval: maybe(text()),
                approvalFindings: (0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }, exemption: maybe(text()),
                reason: text(12), clientAddress: text(), clientName: maybe(text()), user: maybe(text()), method: text(),
                host: text(), path: text(), destination: maybe(text()), country: maybe(text()), recipient: text(),
                recipientName: maybe(text()),
                subjectsNew: Dictionary((0..<Int.random(in: 0...3, using: &rng)).map { _ in (text(), Int.random(in: 0...1_000_000, using: &rng)) },
                                        uniquingKeysWith: { a, _ in a }),
                counts: Dictionary((0..<Int.random(in: 0...3, using: &rng)).map { _ in
                    (text(), AuditRecord.CountPair(before: Int.random(in: 0...1_000_000_000, using: &rng), after: Int.random(in: 0...1_000_000_000, using: &rng)))
                }, uniquingKeysWith: { a, _ in a }),
                masked: (0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }, uninspectable: maybe(text()),
                bytes: Bool.random(using: &rng) ? Int.random(in: 0...1 << 40, using: &rng) : nil,
                foundIn: (0..<Int.random(in: 0...2, using: &rng)).map { _ in text() })
            var bytes: [UInt8] = []
            AuditJSON.encode(r, prev: AuditChain.genesis, into: &bytes)
            _ = AuditChain.seal(&bytes, bodyFrom: 0)
            let quick = bytes.withUnsafeBufferPointer { AuditLineReader.record($0) }
            let line = Substring(String(decoding: bytes, as: UTF8.self))
            #expect(quick != nil, "record \(n): \(line)")
            #expect(quick == AuditJSON.decodeWithFoundation(line), "record \(n): \(line)")
            #expect(quick == r, "record \(n): \(line)")
        }
    }

    /// Lines the writer never makes: the quick reader declines them (nil) or reads them as Foundation
    /// does, and `decode` always gives Foundation's answer.
    @Test(arguments: [
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","reason":"\u00e9 \ud83d\ude00 \/ \b\f"}"#,
        #" { "time" : "2026-11-29T10:00:00.000Z" , "incident":"I","action":"block","rule":"r" } "#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","extra":1}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","user":null}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","bytes":1.5}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","bytes":012}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","rule":"s"}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","counts":{"c":{"before":1}}}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","counts":{"c":{"before":1,"after":2,"x":3}}}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","subjects_new":{"pi":"7"}}"#,
        #"{"time":"2026-11-29T10:00:00Z","incident":"I","action":"block","rule":"r"}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block"}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","reason":"\ud83d"}"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r"} x"#,
        #"{"time":"2026-11-29T10:00:00.000Z","incident":"I","action":"block","rule":"r","#,
        "not json",
    ])
    func linesTheWriterNeverMakesReadAsFoundationReadsThem(line: String) {
        let quick = Array(line.utf8).withUnsafeBufferPointer { AuditLineReader.record($0) }
        let reference = AuditJSON.decodeWithFoundation(Substring(line))
        if let quick { #expect(quick == reference) }
        #expect(AuditJSON.decode(Substring(line)) == reference)
    }
}
