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

    /// Both generators are Python with Faker, which the README's test command installs.
    func requireFaker() throws {
        try requireTool("python3")
        let faker = try runProcess("python3", ["-c", "import faker"], timeout: 30)
        try #require(faker.status == 0, "python3 'faker' is missing: run Deploy/install-deps.sh test")
    }

    @Test("every body type: exact records, people, minors and distinct identifiers")
    func generated() throws {
        try requireFaker()
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

    /// `Benchmarks/corpus/independent_corpus.py` was written from the text alone, to catch
    /// what the inspector learned from its own generator's habits. A seed no one tuned against:
    /// every value of the four counted kinds found and nothing else, every structured body's
    /// people, records and minors exact. Free-text notes are left out of the exact-people check
    /// (the same person under two spellings in two notes is counted twice: an over-count, said in
    /// `results/inspection.md`).
    @Test("an independently written corpus: every value, every structured body exact")
    func independentCorpus() throws {
        try requireFaker()
        let dir = try TestPaths.temporaryDirectory("independent")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = TestPaths.packageRoot.appendingPathComponent("Benchmarks/corpus")
        let gen = try runProcess("python3", [corpus.appendingPathComponent("independent_corpus.py").path,
                                             "--out", dir.path, "--seed", "31", "--bodies", "160"], timeout: 120)
        try #require(gen.status == 0, "\(gen.stderr)")
        let check = try runProcess("python3", [corpus.appendingPathComponent("independent_check.py").path,
                                               TestPaths.customsBinary.path, dir.path], timeout: 300)
        try #require(check.status == 0, "\(check.stderr)")
        var kindsSeen = 0, formats = 0
        for line in check.stdout.split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5, let first = cells.first else { continue }
            if ["id_number", "mobile", "email", "bank_card"].contains(first) {
                kindsSeen += 1
                #expect(cells[3] == "100.0000%" && cells[4] == "100.0000%", "\(first): recall \(cells[3]), precision \(cells[4])")
            } else if cells.count == 6, let bodies = Int(cells[1]), first != "all" {
                formats += 1
                #expect(cells[2] == cells[1] && cells[3] == cells[1] && cells[5] == cells[1], "\(line)")
                if first != "text" { #expect(Int(cells[4]) == bodies, "\(line)") }
            }
        }
        #expect(kindsSeen == 4 && formats >= 10, "\(check.stdout)")
    }
}
