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
}
