import CustomsCore
import Foundation
import Testing
@testable import Inspection

/// Per-body state is reset and reused by later bodies: nothing an earlier body found, nor where
/// it stopped, may show in a later body's result.
@Suite("Reused per-body state")
struct StateReuseTests {
    /// A configuration no other test uses, so the first body gets a state of its own.
    private func isolated() -> InspectionConfiguration {
        InspectionConfiguration(secret: Array("reuse-\(UUID().uuidString)".utf8), now: evaluationDate)
    }

    private func digest(_ r: InspectionResult) -> String {
        let kinds = r.kindCounts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }
        let subjects = r.subjects.map { "\($0.key.hi):\($0.key.lo):\($0.kinds.map(\.rawValue).sorted()):\($0.isSensitive):\($0.masked)" }.sorted()
        return "\(r.records) \(r.minors) \(r.bytes) \(r.uninspectable ?? "-") \(kinds) \(subjects)"
    }

    static let order = #"{"orders":[{"buyer":{"name":"张三","id_card":"11010519491231002X","phone":"13800138000"},"#
        + #""receiver":{"name":"李四","mobile":"+86 139 0013 9000","address":"北京市朝阳区建国路88号"}},"#
        + #"{"buyer":{"name":"王五","email":"Wang.Wu@example.com","card":"6222 0214 0000 1234 561"},"#
        + #""merchant":{"name":"某某有限公司"},"location":[116.397128,39.916527]}]}"#
    static let form = "name=%E5%BC%A0%E4%B8%89&mobile=13800138000&contacts%5B0%5D%5Bname%5D=%E6%9D%8E%E5%9B%9B&contacts%5B0%5D%5Bphone%5D=13900139000"
    static let ndjson = #"{"user":{"name":"Chen Jing","phone":"13700137000"}}"# + "\n" + #"{"user":{"name":"Chen Jing","id":"11010519491231002X"}}"# + "\n"

    @Test("a body reads the same on a fresh state and after bodies that failed, grew the tables, or used other names")
    func sameResultAfterOtherBodies() {
        let c = isolated()
        let bodies: [(String, String)] = [(Self.order, "application/json"), (Self.form, "application/x-www-form-urlencoded"),
                                          (Self.ndjson, "application/x-ndjson")]
        let fresh = bodies.map { digest(inspect($0.0, type: $0.1, configuration: c)) }

        // Bodies that stop mid-way (inside a string, an escape, an object; a form value), and one
        // large enough to grow every table past what is kept.
        let cut = #"{"a":[{"name":"赵六","phone":"13600136000","note":"\u4e2"#
        #expect(inspect(cut, type: "application/json", configuration: c).uninspectable != nil)
        _ = inspect(#"[{"x":{"name":"A B","mobile":"13500135000"}"#, type: "application/x-ndjson", configuration: c)
        _ = inspect("name=%E5%BC%A0&phone=1350013", type: "application/x-www-form-urlencoded", configuration: c)
        var big = "["
        for i in 0..<5_000 { big += #"{"e\#(i % 1000)":"u\#(i)@example.com","name":"N\#(i)"},"# }
        big += "{}]"
        let large = inspect(big, type: "application/json", configuration: c)
        #expect(large[.email] == 5_000)

        for (k, b) in bodies.enumerated() {
            #expect(digest(inspect(b.0, type: b.1, configuration: c)) == fresh[k], "\(b.1) after other bodies")
            #expect(digest(inspect(b.0, type: b.1, chunks: [1, 3, 7], configuration: c)) == fresh[k], "\(b.1) in small chunks")
        }
    }

    @Test("a state's last few content types answer as parsing them does, the oldest forgotten past the kept few")
    func contentTypesKept() {
        let state = InspectionState(configuration: isolated(), key: nil)
        #expect(state.knownContentType("application/json") == nil)
        let types = ["application/json", "text/csv; charset=GBK", "application/x-www-form-urlencoded",
                     "application/x-ndjson", "text/plain; charset=\"utf-8\""]
        for t in types {
            let media = MediaType(t)!
            state.rememberContentType(t, syntax: media.syntax!, charset: media.parameters["charset"])
        }
        // The first was forgotten (four are kept); the others answer as parsing them does.
        #expect(InspectionState.contentTypesKept == 4)
        #expect(state.knownContentType(types[0]) == nil)
        #expect(state.knownContentType("application/json; charset=utf-8") == nil)
        for t in types.dropFirst() {
            let known = state.knownContentType(t), media = MediaType(t)!
            #expect(known.map { "\($0.syntax)" } == "\(media.syntax!)", "\(t)")
            #expect(known?.charset == media.parameters["charset"], "\(t)")
        }

        // Bodies of alternating types on one configuration (their states remember each type)
        // read as on a fresh configuration.
        let c = isolated()
        let bodies: [(String, String)] = [(Self.order, "application/json"), (Self.form, "application/x-www-form-urlencoded"),
                                          (Self.ndjson, "application/x-ndjson"), ("姓名,手机\n张三,13800138000\n", "text/csv; charset=utf-8"),
                                          ("张三 13800138000", "text/plain")]
        // A field name no body uses: every body of this configuration gets a new state.
        var unshared = c
        unshared.extraFieldNames = [.name: ["未用字段"]]
        let fresh = bodies.map { digest(inspect($0.0, type: $0.1, configuration: unshared)) }
        for round in 0..<3 {
            for (k, b) in bodies.enumerated() {
                #expect(digest(inspect(b.0, type: b.1, configuration: c)) == fresh[k], "\(b.1), round \(round)")
            }
        }
    }

    @Test("the pool hands a state back only to bodies of the same secret, date and value limit")
    func poolKeys() {
        let pool = InspectionStatePool()
        let c = isolated()
        let s = pool.take(c)
        pool.give(s)
        #expect(pool.take(c) === s)
        pool.give(s)
        var otherDay = c
        otherDay.now = c.now.addingTimeInterval(86_400)
        #expect(pool.take(otherDay) !== s)
        var otherLimit = c
        otherLimit.maxValueBytes = c.maxValueBytes * 2
        #expect(pool.take(otherLimit) !== s)
        var extra = c
        extra.extraFieldNames = [.name: ["会员号"]]
        #expect(pool.take(extra) !== s)
        #expect(pool.take(c) === s)
    }

    @Test("text the charset decoder did not check is keyed as it decodes (U+FFFD), checked or not")
    func uncheckedText() {
        // A valid window decides UTF-8; a later chunk passes unchecked and holds a name with a stray byte.
        let c = isolated()
        let head = Array((#"[{"note":"中"# + String(repeating: "x", count: 5000) + #""},"#).utf8)
        let tail = { (name: [UInt8]) in Array(#"{"name":""#.utf8) + name + Array(#"","id":"11010519491231002X"}]"#.utf8) }
        let stray = tail(Array("张".utf8) + [0xFF] + Array("三".utf8))
        let repaired = tail(Array("张\u{FFFD}三".utf8))
        let a = inspect(head + stray, type: "application/json", chunks: [head.count, stray.count], configuration: c)
        let b = inspect(head + repaired, type: "application/json", chunks: [head.count, repaired.count], configuration: c)
        #expect(a.uninspectable == nil && a[.name] == 1 && a[.idNumber] == 1)
        #expect(Set(a.subjects) == Set(b.subjects) && a.kindCounts == b.kindCounts, "the stray byte reads as U+FFFD")
        let keys = inspect(head + stray, type: "application/json", chunks: [head.count, stray.count],
                           configuration: { var k = c; k.reportValueKeys = true; return k }()).valueKeys[.name]
        #expect(keys == [SubjectKeys.key(for: "张\u{FFFD}三", kind: .name, secret: c.secret)])
    }

    @Test("masked values: **** and the last four characters, as String.suffix(4) reads them")
    func maskedTail() {
        var t = ValueTable(secret: Array("tail".utf8))
        for v in ["", "a", "abcd", "11010519491231002X", "+8613800138000", "wang.wu@example.com", "北京市朝阳区建国路",
                  "ab张三", "x\r\nyz", "ab\r\n", "e\u{301}abc", "abc\u{301}d", "1234😀"] {
            let id = t.intern(.address, v)
            #expect(t.masked(id) == "****" + String(v.suffix(4)), "\(v.debugDescription)")
        }
    }
}
