import CustomsCore
import Testing
@testable import Inspection

/// CSV and TSV exports without a header row: the first row is a person, not field names.
@Suite("Delimited shapes")
struct DelimitedShapesTests {
    static let id1 = "11010519491231002X", id2 = "110105194912310003"

    private func counted(_ body: String, type: String = "text/csv") -> InspectionResult {
        let whole = inspect(body, type: type)
        for size in 1...9 {
            let r = inspect(body, type: type, chunks: [size])
            #expect(r.records == whole.records && r.subjects.map(\.key) == whole.subjects.map(\.key), "chunks of \(size)")
        }
        return whole
    }

    @Test("a first row holding an identifier is the first record")
    func headerless() {
        let csv = counted("\(Self.id1),张三\n\(Self.id2),李四\n")
        #expect(csv.records == 2)
        #expect(csv.subjects.count == 2)
        let quoted = counted("\"13812345678\",\"a@example.cn\"\n\"13912345678\",\"b@example.cn\"\n")
        #expect(quoted.subjects.count == 2)
        #expect(quoted[.email] == 2)
        let tsv = counted("张三\t13812345678\n李四\t13912345678\n", type: "text/tab-separated-values")
        #expect(tsv.subjects.count == 2)
        // As a spreadsheet writes a long number.
        #expect(counted("=\"\(Self.id1)\",x\n").subjects.count == 1)
    }

    @Test("a header row still names the fields")
    func header() {
        let r = counted("name,idNo,note\n张三,\(Self.id1),\n李四,\(Self.id2),vip 2026\n")
        #expect(r.records == 2)
        #expect(r.subjects.count == 2)
        #expect(r[.name] == 2, "names are found only under a field named for them")
        // A header naming columns with numbers in them (not identifiers) stays a header.
        #expect(counted("name1,phone2,q3_2026\n张三,13812345678,1\n")[.name] == 1)
    }
}
