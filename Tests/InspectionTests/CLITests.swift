import CustomsTestSupport
import Foundation
import Testing

@Suite("customs inspect")
struct CLITests {
    @Test("--json prints one object per file with every key")
    func jsonOutput() throws {
        let dir = try TestPaths.temporaryDirectory("inspect-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("people.json")
        try Data(#"[{"name":"张三","idCard":"11010519491231002X","phone":"13812345678"},{"name":"李四","phone":"13912345678"}]"#.utf8).write(to: a)
        let b = dir.appendingPathComponent("notes.txt")
        try Data("客户郑雷来电，身份证号431228200812165156。\n".utf8).write(to: b)
        let c = dir.appendingPathComponent("blob.bin")
        try Data([1, 2, 3]).write(to: c)
        let r = try runProcess(TestPaths.customsBinary.path, ["inspect", "--json", "--as-of", "2026-11-29", a.path, b.path, c.path], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        try #require(lines.count == 3)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(Set(o.keys) == ["file", "records", "subjects", "categories", "kinds", "minors", "uninspectable", "bytes"])
        #expect(o["records"] as? Int == 2 && o["subjects"] as? Int == 2)
        let kinds = try #require(o["kinds"] as? [String: Int])
        #expect(kinds["id_number"] == 1 && kinds["mobile"] == 2 && kinds["name"] == 2 && kinds.count == 16)
        let cats = try #require(o["categories"] as? [String: Int])
        #expect(cats["pi"] == 2 && cats["sensitive"] == 0)
        #expect(o["uninspectable"] is NSNull)
        let t = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(t["subjects"] as? Int == 1)
        let bin = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        #expect(bin["uninspectable"] is String, "unknown type is uninspectable, never 'no PI'")

        let human = try runProcess(TestPaths.customsBinary.path, ["inspect", "--sensitivity", "gb/t-35273-2020", a.path], timeout: 60)
        #expect(human.status == 0 && human.stdout.contains("2 people (1 sensitive)"))
    }
}
