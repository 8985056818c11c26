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

    @Test("a legacy 15-digit ID in an ID field is an ID even when it passes Luhn")
    func legacyIDPassingLuhn() {
        let r = json(#"[{"id_card":"360102920621313"}]"#)
        #expect(r[.idNumber] == 1)
        #expect(r[.bankCard] == 0)
    }

    @Test("an 18-digit number failing the ID check is not a card because it passes Luhn")
    func badIDPassingLuhn() {
        // Province, birth date and sequence of an ID, wrong check digit, Luhn-valid, issuer-like prefix.
        for v in ["620102194303286861", "350203196505053306"] {
            #expect(json(#"[{"refNo":"\#(v)"}]"#)[.bankCard] == 0, "\(v)")
            #expect(json(#"[{"idNo":"\#(v)"}]"#)[.bankCard] == 0, "\(v)")
            #expect(json(#"[{"idNo":"\#(v)"}]"#)[.idNumber] == 0, "\(v)")
        }
        // Named a card, it is one.
        #expect(json(#"[{"bankCardNo":"620102194303286861"}]"#)[.bankCard] == 1)
    }
}
