import CustomsCore
import Testing
@testable import Inspection

/// One person holds one number of each identity document: a second resident ID (passport, HK or
/// Taiwan ID) in the same object, cell, line or value is a second person, never merged into the first.
@Suite("Second documents")
struct SecondDocumentTests {
    static let adult = "11010519491231002X", other = "110105194912310003", child = "110105201501010025"

    @Test("two resident IDs in one scope are two people")
    func twoIDs() {
        #expect(inspect("张三 \(Self.adult) 李四 \(Self.other)", type: "text/plain").subjects.count == 2)
        #expect(json(#"{"ids":"\#(Self.adult);\#(Self.other)"}"#).subjects.count == 2)
        #expect(json(#"[{"idNo":"\#(Self.adult)","spouseIdNo":"\#(Self.other)","phone":"13812345678"}]"#).subjects.count == 2)
        #expect(inspect("idNo,note\n\(Self.adult),\"with \(Self.other)\"\n", type: "text/csv").subjects.count == 2)
        // The same number twice, or written two ways, is one person.
        #expect(json(#"[{"idNo":"\#(Self.adult)","idCopy":"\#(Self.adult.lowercased())"}]"#).subjects.count == 1)
        #expect(json(#"[{"idNo":"\#(Self.other)","again":"110105 19491231 0003"}]"#).subjects.count == 1)
        // Other kinds still gather on one person: two phones, an ID and a passport.
        #expect(json(#"[{"idNo":"\#(Self.adult)","phones":"13812345678,13912345678","passport":"E12345678"}]"#).subjects.count == 1)
    }

    @Test("a child's ID beside a parent's: the child alone is the minor")
    func minors() {
        let r = inspect("家长 \(Self.adult) 孩子 \(Self.child)", type: "text/plain")
        #expect(r.subjects.count == 2)
        #expect(r.minors == 1)
        // Child first: the parent after it starts a person who is not a minor.
        let reversed = inspect("孩子 \(Self.child) 家长 \(Self.adult)", type: "text/plain")
        #expect(reversed.subjects.count == 2)
        #expect(reversed.minors == 1)
    }

    /// A value seen again is replayed from the body's memo; the replay must start the same people.
    @Test("values seen again count the same as the first time")
    func memoReplay() {
        let pair = "\(Self.child);\(Self.adult)"
        // Under an ID field's role, which the memo remembers (it leaves out values under no role).
        let body = (0..<4).map { _ in #"{"idNo":"\#(pair)","spouseIdNo":"\#(Self.other)"}"# }.joined(separator: ",")
        let r = json("[\(body)]")
        #expect(r.subjects.count == 3)
        #expect(r.minors == 1)
        for size in [1, 5, 13] {
            let chunked = inspect("[\(body)]", type: "application/json", chunks: [size])
            #expect(chunked.subjects.map(\.key) == r.subjects.map(\.key) && chunked.minors == 1, "chunks of \(size)")
        }
        let sensitivity = r.subjects.filter(\.isSensitive).count
        #expect(sensitivity == 1, "the child alone is sensitive (a minor)")
    }
}
