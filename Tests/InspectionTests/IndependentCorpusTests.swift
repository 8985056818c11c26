import CustomsCore
import Testing
@testable import Inspection

/// Bodies the independent corpus (Benchmarks/corpus/independent_corpus.py) found wrong, each cut
/// down to the smallest that failed.
@Suite("Independent corpus findings")
struct IndependentCorpusTests {
    @Test("a child registered under a parent's phone is a second person (two resident IDs)")
    func sharedPhoneTwoIDs() {
        let r = json(#"""
            {"registrations":[{"name":"张三","idNo":"11010519491231002X","mobile":"13812345678",
              "children":[{"name":"张小","idNo":"110105201501010025","guardianPhone":"13812345678"}]}]}
            """#)
        #expect(r.subjects.count == 2)
        #expect(r[.idNumber] == 2 && r[.mobile] == 1)
        #expect(r.minors == 1)
    }

    @Test("the same phone still joins records of one person, and an ID joins across phones")
    func sharedPhoneOnePerson() {
        #expect(json(#"[{"idNo":"11010519491231002X","mobile":"13812345678"},{"mobile":"+86 138 1234 5678","email":"a@b.cn"}]"#)
            .subjects.count == 1)
        #expect(json(#"[{"idNo":"11010519491231002X","mobile":"13812345678"},{"idNo":"11010519491231002x","mobile":"13912345678"}]"#)
            .subjects.count == 1)
    }
}
