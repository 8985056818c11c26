import CustomsCore
import Testing
@testable import Inspection

/// JSON shapes whose people were once missed: rows as arrays (a spreadsheet's values) and maps keyed
/// by an identifier. Each must count every person, whatever the chunk boundaries.
@Suite("JSON shapes")
struct JSONShapesTests {
    static let id1 = "11010519491231002X", id2 = "110105194912310003"

    /// The result is the same fed whole and fed in chunks of every size from 1 to 17.
    private func counted(_ body: String) -> InspectionResult {
        let whole = inspect(body, type: "application/json")
        for size in 1...17 {
            let r = inspect(body, type: "application/json", chunks: [size])
            #expect(r.records == whole.records && r.subjects.map(\.key) == whole.subjects.map(\.key), "chunks of \(size)")
        }
        return whole
    }

    @Test("an array of arrays is rows: each row its own record")
    func rows() {
        let sheet = counted(#"{"values":[["姓名","手机"],["张三","13812345678"],["李四","13912345678"]]}"#)
        #expect(sheet.subjects.count == 2)
        #expect(sheet.records == 3)
        let top = counted(#"[["\#(Self.id1)","a"],["\#(Self.id2)","b"],["\#(Self.id1)","c"]]"#)
        #expect(top.subjects.count == 2, "the third row is the first row's person")
        #expect(top.records == 3)
        // Rows of one person's record stay that person's (they share the phone).
        let history = counted(#"[{"idNo":"\#(Self.id1)","calls":[["2026-01-01","13812345678"],["2026-02-01","13812345678"]]}]"#)
        #expect(history.subjects.count == 1)
        // A list of a person's phones is still one person.
        #expect(counted(#"[{"idNo":"\#(Self.id1)","phones":["13812345678","13912345678"]}]"#).subjects.count == 1)
    }

    @Test("coordinates in nested arrays stay one position list, not people")
    func coordinates() {
        let polygon = counted(#"[{"name":"张三","idNo":"\#(Self.id1)","area":{"type":"Polygon","coordinates":[[[116.397128,39.916527],[116.407128,39.916527],[116.397128,39.926527]]]}}]"#)
        #expect(polygon.subjects.count == 1)
        #expect(polygon[.geo] == 3)
    }

    @Test("a member name holding an identifier is read as one")
    func identifierNames() {
        let byID = counted(#"{"users":{"\#(Self.id1)":{"city":"北京"},"\#(Self.id2)":{"city":"上海"}}}"#)
        #expect(byID.subjects.count == 2)
        #expect(byID[.idNumber] == 2)
        let byPhone = counted(#"{"contacts":{"13812345678":"张三","13912345678":"李四"}}"#)
        #expect(byPhone.subjects.count == 2)
        // The name's value is the same person's: one person, with both.
        let merged = counted(#"[{"13812345678":{"idNo":"\#(Self.id1)"}}]"#)
        #expect(merged.subjects.count == 1)
        #expect(merged[.mobile] == 1 && merged[.idNumber] == 1)
        #expect(counted(#"{"a@example.com":true}"#)[.email] == 1)
        // Another person's members after such a name: their own person still (the scopes nest right).
        let receiver = counted(#"[{"13812345678":"张三","receiverPhone":"13912345678","receiverName":"李四"},{"idNo":"\#(Self.id1)"}]"#)
        #expect(receiver.subjects.count == 3)
        #expect(receiver.records == 2)
        // Names that only carry digits are still field names where they hold no identifier.
        let fields = counted(#"[{"name1":"张三","idNo":"\#(Self.id1)","20261129":1,"v12345":"x"}]"#)
        #expect(fields.subjects.count == 1)
        #expect(fields[.name] == 1)
    }

    /// Names are kept to their first 256 bytes as field names; what came after was dropped unread.
    @Test("a member name longer than any field name is read whole")
    func longNames() {
        let pad = String(repeating: "a", count: 300)
        let plain = counted(#"{"users":{"\#(pad) \#(Self.id1)":{"city":"北京"},"\#(pad)\#(Self.id2)":1},"n":"x"}"#)
        #expect(plain.uninspectable == nil)
        #expect(plain.subjects.count == 2)
        #expect(plain[.idNumber] == 2)
        // Written with escapes (the name's bytes arrive one scalar at a time).
        let escaped = "\\u0031\\u0033\\u0038\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038"
        let viaEscapes = counted(#"[{"\#(pad) \#(escaped)":true,"name":"张三"}]"#)
        #expect(viaEscapes[.mobile] == 1)
        #expect(viaEscapes.subjects.count == 1)
        // A long name holding nothing leaves the rest of the object as it was.
        #expect(counted(#"[{"\#(pad)":1,"idNo":"\#(Self.id1)"}]"#).subjects.count == 1)
    }

    /// Elasticsearch's bulk API and log shippers send NDJSON as `application/json`: it was
    /// uninspectable (and so blocked, or let out uncounted where a site allows that).
    @Test("JSON values one after another under application/json: each a document")
    func concatenated() {
        let bulk = counted(#"{"index":{}}\#n{"idNo":"\#(Self.id1)"}\#n{"index":{}}\#n{"idNo":"\#(Self.id2)"}\#n"#)
        #expect(bulk.uninspectable == nil)
        #expect(bulk.subjects.count == 2)
        #expect(counted(#"{"idNo":"\#(Self.id1)"} {"idNo":"\#(Self.id2)"}"#).subjects.count == 2)
        // Still malformed: what follows a value is not another value.
        #expect(json(#"{"a":1} x"#).uninspectable != nil)
        #expect(json(#"{"a":1},{"b":2}"#).uninspectable != nil)
        #expect(json(#"{"a":1}}"#).uninspectable != nil)
    }

    @Test("a name with six digits in a row, eleven in all, or an @ may hold an identifier; others are field names")
    func identifierNameTest() {
        func holds(_ s: String) -> Bool { Array(s.utf8).withUnsafeBufferPointer { ValueScanner.mayHoldIdentifier($0) } }
        #expect(holds("13812345678") && holds("a@b.cn") && holds("id_123456") && holds("138 1234 5678") && holds("１３８１２３"))
        #expect(!holds("name1") && !holds("line12345") && !holds("2026-11-29") && !holds("１２３４５") && !holds(""))
    }
}
