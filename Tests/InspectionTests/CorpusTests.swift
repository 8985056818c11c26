import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

/// Generates a small seeded labelled corpus with `Benchmarks/corpus/generate_corpus.py` (Faker) and
/// checks exact distinct counts on every body.
@Suite("generated labelled corpus")
struct CorpusTests {
    struct Truth: Decodable {
        struct Count: Decodable { let distinct: Int }
        let kind: String
        let content_type: String?
        let content_encoding: String?
        let records: Int
        let individuals: Int
        let counts: [String: Count]
    }

    @Test("every body type: exact records, people, minors and distinct identifiers")
    func generated() throws {
        try requireTool("python3")
        let faker = try runProcess("python3", ["-c", "import faker"], timeout: 30)
        try #require(faker.status == 0, "python3 'faker' is missing: run Deploy/install-deps.sh test")
        let dir = try TestPaths.temporaryDirectory("corpus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = TestPaths.packageRoot.appendingPathComponent("Benchmarks/corpus/generate_corpus.py").path
        let gen = try runProcess("python3", [script, dir.path, "--seed", "42", "--bytes", "400000"], timeout: 90)
        try #require(gen.status == 0, "\(gen.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .filter { !$0.hasSuffix(".truth.json") && $0 != "manifest.json" }
        #expect(names.count >= 11)
        var kinds = Set<String>()
        for name in names {
            let base = String(name.prefix(while: { $0 != "." }))
            let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: dir.appendingPathComponent(base + ".truth.json")))
            kinds.insert(truth.kind)
            let body = try Data(contentsOf: dir.appendingPathComponent(name))
            let r = inspect(Array(body), type: truth.content_type, encoding: truth.content_encoding, chunks: [4093, 7])
            #expect(r.uninspectable == nil, "\(name)")
            #expect(r.records == truth.records, "\(name) records")
            #expect(r.subjects.count == truth.individuals, "\(name) people")
            #expect(r.minors == truth.counts["minor"]!.distinct, "\(name) minors")
            for (k, kind) in [("id_number", DetectorKind.idNumber), ("mobile", .mobile), ("email", .email),
                              ("bank_card", .bankCard), ("passport", .passport), ("address", .address), ("geolocation", .geo)] {
                #expect(r[kind] == truth.counts[k]!.distinct, "\(name) \(k)")
            }
        }
        #expect(kinds.count == 11, "every body type generated: \(kinds.sorted())")
    }
}
