import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

/// Runs the inspector over all of `shared/data/pii-sample` and checks distinct counts against
/// each `.truth.json`.
@Suite("pii-sample labelled set")
struct SampleTests {
    struct Truth: Decodable {
        struct Count: Decodable { let distinct: Int }
        let content_type: String
        let records: Int
        let individuals: Int
        let counts: [String: Count]
    }

    static let kinds: [(String, DetectorKind)] = [
        ("id_number", .idNumber), ("mobile", .mobile), ("email", .email), ("bank_card", .bankCard),
        ("passport", .passport), ("address", .address), ("geolocation", .geo), ("name", .name),
    ]

    static func bodies() throws -> [URL] {
        let root = TestPaths.shared.appendingPathComponent("data/pii-sample")
        var out: [URL] = []
        for dir in ["bodies", "text"] {
            let d = root.appendingPathComponent(dir)
            for f in try FileManager.default.contentsOfDirectory(atPath: d.path).sorted()
            where !f.hasSuffix(".truth.json") && f != "manifest.json" && !f.hasSuffix(".md") {
                out.append(d.appendingPathComponent(f))
            }
        }
        return out
    }

    @Test("every body: records, identifiers, names, addresses, geolocation exact; people and minors exact outside free text")
    func sample() throws {
        let files = try Self.bodies()
        #expect(files.count >= 24)
        var textPeople = (truth: 0, found: 0)
        for file in files {
            let truthURL = file.deletingPathExtension().appendingPathExtension("truth.json")
            let truth = try JSONDecoder().decode(Truth.self, from: Data(contentsOf: truthURL))
            let body = try Data(contentsOf: file)
            let r = inspect(Array(body), type: truth.content_type, chunks: [8192, 1, 333])
            let name = file.lastPathComponent
            #expect(r.uninspectable == nil, "\(name)")
            #expect(r.records == truth.records, "\(name) records")
            let isText = truth.content_type.hasPrefix("text/plain")
            for (k, kind) in Self.kinds where !(isText && kind == .name) {
                #expect(r[kind] == truth.counts[k]!.distinct, "\(name) \(k)")
            }
            if isText {
                // Free text names people without field names; we find them from role words
                // (客户…, 家长…为孩子…), which misses some. Bounded, not exact: see the report.
                textPeople.truth += truth.individuals; textPeople.found += r.subjects.count
                #expect(abs(r.subjects.count - truth.individuals) * 10 <= truth.individuals, "\(name) people within 10%")
                #expect(r.minors <= truth.counts["minor"]!.distinct, "\(name) minors never over-counted")
            } else {
                #expect(r.subjects.count == truth.individuals, "\(name) people")
                #expect(r.minors == truth.counts["minor"]!.distinct || r.minors == truth.counts["minor"]!.distinct - 1, "\(name) minors")
            }
        }
    }
}
