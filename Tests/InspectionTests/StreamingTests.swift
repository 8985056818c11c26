import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

@Suite("Bodies and streaming")
struct StreamingTests {
    static let orders = #"""
    {"request_id":"abf0d75c-0147-40e4-b9d0-01cb51ddb8d3","merchant":{"id":"M1","name":"易动力网络有限公司"},
     "orders":[{"order_id":"SO20261007499556","trade_no":"1703524786671986546",
       "buyer":{"real_name":"刘坤","idCard":"11010519491231002X","email":"41736549@qq.com"},
       "receiver":{"xm":"刘坤","sjhm":"181 2565 3408","dz":"福建省红霞市吉区余路Z座 832549","position":"41.159889,112.778560"},
       "payment":{"cardNo":"4111111111111111"}},
      {"order_id":"SO20261112695760","buyer":{"real_name":"熊阳","tel":"\u0031\u0036\u0035\u0030\u0034\u0033\u0030\u0035\u0038\u0033\u0037"},
       "passengers":[{"fullName":"熊阳","hzhm":"E12345678"},{"fullName":"\u674e\u654f","identity_no":"520181200504185021"}]}]}
    """#

    @Test("nested orders: records are orders, each buyer/receiver/passenger a subject")
    func nested() {
        let r = json(Self.orders)
        #expect(r.uninspectable == nil)
        #expect(r.records == 2)
        #expect(r.subjects.count == 3, "刘坤 (buyer = receiver), 熊阳, 李敏")
        #expect(r[.idNumber] == 2 && r[.mobile] == 2 && r[.email] == 1 && r[.bankCard] == 1 && r[.passport] == 1)
        #expect(r[.name] == 3 && r[.geo] == 1 && r[.address] == 1)
    }

    @Test("the same body split anywhere gives the same result (1 byte, random splits)")
    func chunkInvariance() {
        let bytes = Array(Self.orders.utf8)
        let whole = inspect(bytes, type: "application/json")
        func same(_ r: InspectionResult) -> Bool {
            r.records == whole.records && Set(r.subjects) == Set(whole.subjects) && r.kindCounts == whole.kindCounts
                && r.uninspectable == nil
        }
        #expect(same(inspect(bytes, type: "application/json", chunks: [1])))
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let sizes = (0..<16).map { _ in Int.random(in: 1...40, using: &g) }
            #expect(same(inspect(bytes, type: "application/json", chunks: sizes)))
        }
        // The same for text, CSV and forms with multi-byte characters at the edges.
        let csv = Array("姓名,身份证号,手机号\n张三,11010519491231002X,13812345678\n李四,'520181200504185021,=\"13912345678\"\n".utf8)
        let wholeCSV = inspect(csv, type: "text/csv")
        #expect(wholeCSV.subjects.count == 2 && wholeCSV[.name] == 2 && wholeCSV[.idNumber] == 2 && wholeCSV[.mobile] == 2)
        let oneByte = inspect(csv, type: "text/csv", chunks: [1])
        #expect(Set(oneByte.subjects) == Set(wholeCSV.subjects) && oneByte.kindCounts == wholeCSV.kindCounts)
    }

    @Test("CSV quoted cells read in place equal the copied ones: doubled quotes, CRLF, empty cells, any split")
    func quotedCellsInPlace() {
        let csv = Array(("姓名,身份证号,手机号,备注,地址\r\n"
            + "\"张三\",\"11010519491231002X\",\"13812345678\",\"\",\"北京市朝阳区建国路88号\"\r\n"
            + "\"李四\",'520181200504185021,\"139 1234 5678\",\"他说\"\"13700001111\"\"\",\r\n"
            + "\"王五\",,,\"邮箱 Wang.Wu@Example.com\",\"上海市浦东新区世纪大道1号\"\n"
            + "\"赵六\",\"11010519491231002X\"\n").utf8)
        let whole = inspect(csv, type: "text/csv")
        #expect(whole.uninspectable == nil && whole.records == 4)
        #expect(whole[.name] == 4 && whole[.idNumber] == 2 && whole[.mobile] == 3 && whole[.email] == 1 && whole[.address] == 2)
        #expect(whole.subjects.count == 3, "赵六 holds 张三's ID: one person")
        for size in [1, 2, 3, 5, 7, 8, 13, 31] {
            let r = inspect(csv, type: "text/csv", chunks: [size])
            #expect(r.records == whole.records && Set(r.subjects) == Set(whole.subjects) && r.kindCounts == whole.kindCounts, "chunks of \(size)")
        }
    }

    @Test("NDJSON: every line a record; events of one user id are one person")
    func ndjson() {
        let body = """
        {"uid":1,"user":{"realName":"张凤兰","phoneNumber":"13016103396"}}
        {"uid":2,"event":"page_view"}
        {"uid":1,"user":{"addr":"海南省静市兴山成都街r座 698455"}}
        """
        let r = inspect(body, type: "application/x-ndjson")
        #expect(r.records == 3 && r.subjects.count == 1 && r[.address] == 1)
    }

    @Test("CSV/TSV: header names fields, quoted cells, spreadsheet forms, BOM, GBK")
    func delimited() throws {
        let csv = "\u{FEFF}\"序号\",\"姓名\",\"地址\",\"备注\"\n\"1\",\"王林\",\"重庆市江北区银川路W座\",\"电话 \t138 1234 5678, \"\"ok\"\"\"\n"
        let r = inspect(csv, type: "text/csv; charset=utf-8")
        #expect(r.records == 1 && r[.name] == 1 && r[.address] == 1 && r[.mobile] == 1 && r.subjects.count == 1)
        let tsv = "name\tphone\n张三\t\t13812345678\n"
        #expect(inspect(tsv, type: "text/tab-separated-values")[.mobile] == 1)
        // GBK bytes, declared or not.
        let gbk = try #require("姓名,地址,手机号\n张三,北京市海淀区中关村大街1号,13812345678\n".data(using: .init(rawValue: 0x80000632)))
        for type in ["text/csv; charset=gbk", "text/csv"] {
            let g = inspect(Array(gbk), type: type)
            #expect(g[.name] == 1 && g[.address] == 1 && g[.mobile] == 1, "\(type)")
        }
    }

    @Test("form-urlencoded: bracketed groups are separate people; multipart by part")
    func forms() {
        let form = "fullName=%E8%83%A1%E4%BC%9F&sjhm=16560287395&id_card=441625200603189148"
            + "&contacts%5B0%5D%5Bname%5D=%E8%8E%AB%E5%87%A4%E8%8B%B1&contacts%5B0%5D%5Bmobile%5D=16552146590"
            + "&contacts%5B1%5D%5Bname%5D=%E6%96%B9%E6%9F%B3&contacts%5B1%5D%5Bmobile%5D=%2B86+184+7806+1265"
        let r = inspect(form, type: "application/x-www-form-urlencoded", chunks: [7])
        #expect(r.records == 1 && r.subjects.count == 3 && r[.mobile] == 3 && r[.name] == 3)

        let b = "XyZ"
        let multipart = "--\(b)\r\nContent-Disposition: form-data; name=\"realName\"\r\n\r\n张三\r\n"
            + "--\(b)\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n13812345678\r\n"
            + "--\(b)\r\nContent-Disposition: form-data; name=\"batch\"; filename=\"b.json\"\r\nContent-Type: application/json\r\n\r\n"
            + #"[{"name":"李四","idCard":"11010519491231002X"}]"# + "\r\n"
            + "--\(b)\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\r\n"
            + "--\(b)--\r\n"
        // Delimiters and the blank line after a part's headers split between chunks at every offset.
        for size in [1, 2, 3, 4, 5, 7, 64] {
            let m = inspect(multipart, type: "multipart/form-data; boundary=\(b)", chunks: [size])
            #expect(m.subjects.count == 2 && m[.mobile] == 1 && m[.idNumber] == 1 && m[.name] == 2, "chunks of \(size)")
            #expect(m.records == 2, "chunks of \(size)")
            #expect(m.uninspectable?.contains("image/png") == true, "a part we cannot read is reported, not ignored")
        }
    }

    @Test("plain text: lines are records; names after role words split people")
    func text() {
        let t = "客户郑雷来电，身份证号431228200812165156，反映订单SO20261014648048未收到退款。\n\n"
            + "家长张帆为孩子蒋莹（身份证640181201212029301，出生日期2012-12-02）办理儿童票，联系电话13112768422。\n"
        let r = inspect(t, type: "text/plain; charset=utf-8")
        #expect(r.records == 2 && r.subjects.count == 3 && r.minors == 1 && r[.mobile] == 1)
    }

    @Test("full-width digits and JSON \\u escapes are read as digits")
    func fullWidth() {
        #expect(json(#"[{"n":"１３８１２３４５６７８"}]"#)[.mobile] == 1)
        #expect(json(#"[{"n":"\uff11\uff13\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"}]"#)[.mobile] == 1)
    }

    @Test("gzip and deflate bodies; bombs, unknown encodings, malformed and unknown types are uninspectable")
    func encodings() throws {
        try requireTool("gzip")
        let dir = try TestPaths.temporaryDirectory("inspect-gz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("b.json")
        try Data(Self.orders.utf8).write(to: plain)
        try runProcess("gzip", ["-k", plain.path])
        let gz = try Data(contentsOf: dir.appendingPathComponent("b.json.gz"))
        let r = inspect(Array(gz), type: "application/json", encoding: "gzip", chunks: [13])
        #expect(r.uninspectable == nil && r.subjects.count == 3)

        // 64 MiB of spaces (valid JSON whitespace) compress ~1000:1.
        let bomb = dir.appendingPathComponent("zeros")
        try runProcess("sh", ["-c", "head -c 67108864 /dev/zero | tr '\\0' ' ' | gzip -c > \(bomb.path)"])
        let b = inspect(Array(try Data(contentsOf: bomb)), type: "application/json", encoding: "gzip")
        #expect(b.uninspectable?.contains("ratio") == true)

        #expect(inspect("{}", type: "application/json", encoding: "br").uninspectable?.contains("br") == true)
        #expect(json(#"[{"a":"13812345678"},"#).uninspectable != nil)
        #expect(json(#"{"a" 1}"#).uninspectable != nil)
        #expect(inspect("x", type: "application/octet-stream").uninspectable != nil)
        #expect(inspect(Array(gz.prefix(20)), type: "application/json", encoding: "gzip").uninspectable != nil, "truncated")
    }

    @Test("long values are scanned in windows without losing identifiers at the edges")
    func longValues() {
        var c = configuration()
        c.maxValueBytes = 4096
        let filler = String(repeating: "x ", count: 2045)
        let body = "[{\"note\":\"\(filler)13812345678 \(filler) 11010519491231002X\"}]"
        let r = inspect(body, type: "application/json", chunks: [100], configuration: c)
        #expect(r[.mobile] == 1 && r[.idNumber] == 1)
    }
}

@Suite("Edge cases")
struct EdgeCaseTests {
    @Test("text/csv that is tab-separated is sniffed from the header line")
    func tabsInCSV() {
        let r = inspect("姓名\t手机号\n张三\t13812345678\n", type: "text/csv")
        #expect(r[.name] == 1 && r[.mobile] == 1 && r.subjects.count == 1)
    }

    @Test("a form value longer than the scan window is still scanned")
    func longFormValue() {
        var c = configuration()
        c.maxValueBytes = 4096
        let body = "note=" + String(repeating: "x+", count: 3000) + "13812345678" + String(repeating: "+y", count: 3000) + "&a=1"
        #expect(inspect(body, type: "application/x-www-form-urlencoded", configuration: c)[.mobile] == 1)
    }
}

@Suite("Character sets")
struct CharsetTests {
    @Test("GBK detected even after a long ASCII start, fed in small chunks")
    func lateGBK() throws {
        let gbkRow = try #require("张三,13812345678\n".data(using: .init(rawValue: 0x80000632)))
        let body = Array("name,phone\n".utf8) + Array(String(repeating: ",\n", count: 4000).utf8) + Array(gbkRow)
        let r = inspect(body, type: "text/csv", chunks: [1000])
        #expect(r[.name] == 1 && r[.mobile] == 1 && r.subjects.count == 1)
        let names = inspect(body, type: "text/csv", configuration: {
            var c = configuration(); c.reportValueKeys = true; return c }()).valueKeys[.name]
        #expect(names == [SubjectKeys.key(for: "张三", kind: .name, secret: Array("test-secret".utf8))], "decoded as GB18030")
    }
}
