import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

/// Hostile and broken bodies: the labelled sample bodies, mutated the ways traffic breaks (bytes
/// flipped, cut, repeated, structure characters and invalid UTF-8 thrown in, gzip streams
/// corrupted), under their own content type and under others. Debug builds check every bounds,
/// so a read past a buffer traps here instead of passing silently. For each body the inspector
/// must answer, and answer the same whether the body comes whole or in random pieces: a verdict
/// must not depend on how TCP happened to cut the stream.
///
/// Reproducible: `CUSTOMS_FUZZ_SEED` picks the seed (default fixed), `CUSTOMS_FUZZ_ITERATIONS`
/// how many mutated bodies (default 160, a few seconds in a debug build). A failure prints its
/// iteration, content type and where the body was kept.
@Suite("Mutated bodies")
struct MutationFuzzTests {
    static let types: [String: String] = [
        "json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv",
        "form": "application/x-www-form-urlencoded", "txt": "text/plain; charset=utf-8",
    ]
    static let otherTypes = [
        "application/json", "application/x-ndjson", "text/csv", "text/tab-separated-values",
        "application/x-www-form-urlencoded", "text/plain", "text/csv; charset=gbk",
        "multipart/form-data; boundary=XyZ", "application/json; charset=gb18030", "application/octet-stream",
    ]
    /// Bytes that change how a parser reads what follows.
    static let structural: [[UInt8]] = [
        "\"", "\\", ",", "\n", "\r\n", "{", "}", "[", "]", ":", "&", "=", "%", "%E4%B8", "\\u", "\\ud800",
        "\t", "'", "=\"", "--XyZ\r\n", "--XyZ--", "\u{FEFF}", "１３８", "\0",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xE4, 0xB8], [0x81, 0x30], [0x80]]

    struct Sample {
        let name: String
        let type: String
        let bytes: [UInt8]
    }

    /// The sample bodies, each cut to its first 6 KiB (mutations near the start reach every parser
    /// state; whole bodies would make the debug build slow), plus a multipart body. `long` keeps
    /// up to 40 KiB, past the charset window and the value windows.
    static func samples(long: Bool = false) throws -> [Sample] {
        let dir = TestPaths.shared.appendingPathComponent("data/pii-sample/bodies")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.contains(".truth.") }.sorted()
        var out: [Sample] = []
        for name in names {
            guard let type = types[(name as NSString).pathExtension] else { continue }
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            out.append(Sample(name: name, type: type, bytes: Array(data.prefix((long ? 40 : 6) * 1024))))
        }
        let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n"
            + "{\"name\":\"张三\",\"idCard\":\"11010519491231002X\",\"phone\":\"+86 138 1234 5678\"}\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"rows\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            + "姓名,手机号,邮箱\n李四,13912345678,li.si@example.com\n\r\n--XyZ--\r\n"
        out.append(Sample(name: "multipart", type: "multipart/form-data; boundary=XyZ", bytes: Array(multipart.utf8)))
        // The shapes session 10 taught the parsers: rows as arrays, names holding identifiers,
        // values one after another, two documents in one value, a headerless export, transfer codings.
        let shapes = #"{"values":[["姓名","手机"],["张三","13812345678"]],"users":{"11010519491231002X":{"city":"北京"},"#
            + #""a@example.cn":true},"ids":"110105194912310003;11010519491231002X","n":"Tel13912345678"} [["ID11010519491231002X"]]"#
        out.append(Sample(name: "shapes", type: "application/json", bytes: Array(shapes.utf8)))
        out.append(Sample(name: "headerless", type: "text/csv", bytes: Array("11010519491231002X,张三,13812345678\n110105194912310003,李四,a@b.cn\n".utf8)))
        let coded = "--B\r\nContent-Disposition: form-data; name=\"idNo\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMTEwMTA1MTk0OTEyMzEwMDJY\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"tel\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=31381234=\r\n5678\r\n--B--\r\n"
        out.append(Sample(name: "transfer-coded", type: "multipart/form-data; boundary=B", bytes: Array(coded.utf8)))
        return out
    }

    static func mutate(_ input: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...6, using: &g) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &g)
            switch Int.random(in: 0..<7, using: &g) {
            case 0 where !b.isEmpty:
                b[at] = UInt8.random(in: 0...255, using: &g)
            case 1:
                b.insert(contentsOf: structural.randomElement(using: &g)!, at: at)
            case 2 where !b.isEmpty:
                b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...64, using: &g)))
            case 3 where !b.isEmpty:
                let piece = Array(b[at..<min(b.count, at + Int.random(in: 1...200, using: &g))])
                b.insert(contentsOf: piece, at: Int.random(in: 0...b.count, using: &g))
            case 4:
                b.removeSubrange(min(at, b.count)...)
            case 5:
                // A long run: values longer than any window, deep nesting.
                let unit = structural.randomElement(using: &g)! + Array("1".utf8)
                b.insert(contentsOf: Array(repeating: unit, count: Int.random(in: 50...3_000, using: &g)).joined(), at: at)
            default:
                if !b.isEmpty { b[at] ^= 1 << UInt8.random(in: 0...7, using: &g) }
            }
        }
        return b
    }

    /// What a verdict depends on. An uninspectable body goes to the site's rule for such bodies
    /// whatever was read of it, so two uninspectable results are the same outcome even when the
    /// fault was noticed at another byte (a corrupt gzip stream against the JSON it produced).
    struct Outcome: Equatable, CustomStringConvertible {
        let records: Int
        let subjects: Set<DetectedSubject>
        let kinds: [DetectorKind: Int]
        let minors: Int
        let uninspectable: String?
        init(_ r: InspectionResult) {
            records = r.records; subjects = Set(r.subjects); kinds = r.kindCounts.filter { $0.value > 0 }; minors = r.minors
            uninspectable = r.uninspectable
        }
        static func == (a: Outcome, b: Outcome) -> Bool {
            if a.uninspectable != nil || b.uninspectable != nil { return (a.uninspectable != nil) == (b.uninspectable != nil) }
            return a.records == b.records && a.subjects == b.subjects && a.kinds == b.kinds && a.minors == b.minors
        }
        var description: String {
            let k = kinds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
            return "records \(records), subjects \(subjects.count), \(k), minors \(minors), uninspectable: \(uninspectable ?? "no")"
        }
    }

    /// Where a failing body is kept, so it can be fed to `customs inspect` or a new unit test.
    static func keep(_ body: [UInt8], _ label: String) -> String {
        let dir = (try? TestPaths.temporaryDirectory("fuzz-failures"))?.path ?? NSTemporaryDirectory()
        let path = dir + "/" + label
        _ = FileManager.default.createFile(atPath: path, contents: Data(body))
        return path
    }

    @Test("mutated sample bodies: no trap, and the same result whole and in random pieces")
    func mutatedBodies() throws {
        let seed = FuzzSettings.seed(default: 0x4355_5354_4F4D_5321)
        let iterations = FuzzSettings.iterations(default: 160)
        var g = SplitMix64(state: seed)
        let samples = try Self.samples()
        let longSamples = try Self.samples(long: true)
        #expect(samples.count >= 20, "the sample bodies are missing")
        var failures = 0
        for i in 0..<iterations where failures < 5 {
            let sample = (i % 8 == 7 ? longSamples : samples).randomElement(using: &g)!
            let body = Self.mutate(sample.bytes, &g)
            let type = Int.random(in: 0..<4, using: &g) == 0 ? Self.otherTypes.randomElement(using: &g)! : sample.type
            let whole = Outcome(inspect(body, type: type))
            for _ in 0..<2 {
                let sizes = (0..<8).map { _ in Int.random(in: 1...(Bool.random(using: &g) ? 3 : 700), using: &g) }
                let pieces = Outcome(inspect(body, type: type, chunks: sizes))
                if pieces != whole {
                    failures += 1
                    Issue.record("""
                        iteration \(i) (seed \(seed)), \(sample.name) as \(type), pieces \(sizes):
                          whole:  \(whole)
                          pieces: \(pieces)
                          body: \(Self.keep(body, "iteration-\(i)"))
                        """)
                    break
                }
            }
        }
    }

    @Test("corrupted gzip and deflate streams are uninspectable or read, never a trap")
    func corruptedCompression() throws {
        try requireTool("gzip")
        var g = SplitMix64(state: 0x677A_6970)
        let samples = try Self.samples()
        let dir = try TestPaths.temporaryDirectory("fuzz-gz")
        for (n, sample) in samples.prefix(8).enumerated() {
            let file = dir.appendingPathComponent("b\(n)")
            try Data(sample.bytes).write(to: file)
            #expect(try runProcess("gzip", ["-6", file.path]).status == 0)
            let gz = Array(try Data(contentsOf: URL(fileURLWithPath: file.path + ".gz")))
            let clean = inspect(gz, type: sample.type, encoding: "gzip")
            #expect(Outcome(clean) == Outcome(inspect(sample.bytes, type: sample.type)), "\(sample.name): gzip reads as plain")
            for _ in 0..<12 {
                var bad = gz
                let at = Int.random(in: 10..<bad.count, using: &g)
                if Bool.random(using: &g) { bad[at] ^= UInt8.random(in: 1...255, using: &g) } else { bad.removeSubrange(at...) }
                let whole = inspect(bad, type: sample.type, encoding: "gzip")
                let pieces = inspect(bad, type: sample.type, encoding: "gzip", chunks: [Int.random(in: 1...97, using: &g)])
                #expect(Outcome(whole) == Outcome(pieces), "\(sample.name): corrupted at \(at)")
                // A stream that does not end properly must never read as a body without people.
                if bad.count < gz.count { #expect(whole.uninspectable != nil || whole.count > 0, "\(sample.name) cut at \(at)") }
            }
        }
    }

    // What the mutations found, each as the smallest body that showed it.

    @Test("a stray invalid byte past the charset window reads the same whole and in pieces")
    func charsetWindowIsFixedInTheBody() {
        // Chinese names in the first 4 KiB decide UTF-8; a stray 0xFF 5 KiB in must not turn the
        // whole body into GB18030 when it happens to arrive in one chunk.
        var text = ""
        var i = 0
        while text.utf8.count < 5_000 {
            text += "客户张三\(i)的手机号是1381234\(String(format: "%04d", i))。\n"
            i += 1
        }
        var bytes = Array(text.utf8)
        bytes.append(0xFF)
        bytes += Array("\n客户李四的手机号是13912345678。\n".utf8)
        let whole = inspect(bytes, type: "text/plain; charset=utf-8")
        #expect(whole.uninspectable == nil)
        #expect(whole[.mobile] == i + 1)
        #expect(Outcome(whole) == Outcome(inspect(bytes, type: "text/plain; charset=utf-8", chunks: [3, 2, 700])))
        #expect(Outcome(whole) == Outcome(inspect(bytes, type: "text/plain; charset=utf-8", chunks: [4_100])))
    }

    @Test("form field names with unbalanced brackets are read, not trapped on")
    func unbalancedBracketsInFormNames() {
        for body in ["[ab=13812345678", "x[a]]]=13812345678", "[=13812345678", "a[b][=13812345678", "]]=13812345678"] {
            let r = inspect(Array(body.utf8), type: "application/x-www-form-urlencoded")
            #expect(r.uninspectable == nil, "\(body)")
            #expect(r[.mobile] == 1, "\(body)")
        }
    }

    @Test("form fields of numbered other people (contact2_, emergency1_) are their own people, not a trap")
    func numberedPeopleInForms() {
        let body = "name=Zhang+San&phone=13812345678&contact2_name=Li+Si&contact2_phone=13912345678&emergency1_phone=13712345678"
        let r = inspect(Array(body.utf8), type: "application/x-www-form-urlencoded")
        #expect(r.uninspectable == nil)
        #expect(r.subjects.count == 3 && r[.mobile] == 3)
    }

    @Test("a multipart part's header block has one length limit, however it arrives")
    func multipartHeaderLimit() {
        let long = String(repeating: "X-Filler: 0123456789abcdef\r\n", count: 700)   // ~19 KiB
        let body = Array(("--XyZ\r\nContent-Disposition: form-data; name=\"phone\"\r\n" + long + "\r\n13812345678\r\n--XyZ--\r\n").utf8)
        let type = "multipart/form-data; boundary=XyZ"
        let whole = inspect(body, type: type)
        #expect(whole.uninspectable == "multipart part headers too long")
        #expect(Outcome(whole) == Outcome(inspect(body, type: type, chunks: [500])))
    }

    @Test("mutated request targets and header fields: no trap, the same finding every time")
    func mutatedHeads() throws {
        let seed = FuzzSettings.seed(default: 0x4845_4144)
        let iterations = FuzzSettings.iterations(default: 400)
        var g = SplitMix64(state: seed)
        let inspector = RequestInspector(configuration: configuration())
        // A JWT whose claims carry a phone and an e-mail, a Basic credential, a cookie jar.
        let claims = Data(#"{"sub":"u1","phone_number":"+8613812345678","email":"Zhang.San@example.com","name":"张三"}"#.utf8)
            .base64EncodedString().replacingOccurrences(of: "=", with: "")
        let paths = ["/v1/users/11010519491231002X/orders", "/api/%E5%BC%A0%E4%B8%89/13812345678", "/", "/a//b/../c;x=1"]
        let queries = ["id_card=11010519491231002X&phone=13812345678", "q=%E5%BC%A0%E4%B8%89&a[0][name]=李四&a[0][tel]=13912345678", ""]
        let headers: [(String, String)] = [
            ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.\(claims).c2ln"), ("Authorization", "Basic emhhbmdzYW46c2VjcmV0"),
            ("Cookie", "uid=42; phone=13812345678; name=%E5%BC%A0%E4%B8%89"), ("Referer", "https://a.example/p?email=a%40b.cn"),
            ("X-User-Phone", "+86 138 1234 5678"), ("X-User-Name", "张三"), ("User-Agent", "curl/8.0"),
        ]
        func mangle(_ s: String) -> String {
            var b = Array(s.utf8)
            let bytes = Self.mutate(b.isEmpty ? [0x61] : b, &g)
            b = bytes.count > 600 ? Array(bytes.prefix(600)) : bytes
            return String(decoding: b, as: UTF8.self)
        }
        for _ in 0..<iterations {
            let path = Bool.random(using: &g) ? mangle(paths.randomElement(using: &g)!) : paths.randomElement(using: &g)!
            let query = Bool.random(using: &g) ? mangle(queries.randomElement(using: &g)!) : queries.randomElement(using: &g)!
            let fields = headers.map { h in (name: h.0, value: Int.random(in: 0..<3, using: &g) == 0 ? mangle(h.1) : h.1) }
            let a = inspector.inspect(path: path, query: query, headers: fields)
            let b = inspector.inspect(path: path, query: query, headers: fields)
            #expect(Set(a.result.subjects) == Set(b.result.subjects) && a.foundIn == b.foundIn && a.redactedPath == b.redactedPath)
            // What the audit log keeps of the path never holds an identifier the inspector counted.
            if let redacted = a.redactedPath { #expect(!redacted.contains("11010519491231002X"), "\(redacted)") }
        }
    }
}
