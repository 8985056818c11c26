import CustomsCore
import Testing
@testable import Inspection

/// The JSON parser's string cycle (name → `: "` → value → `, "` …) keeps its state in locals and
/// stores it when it leaves: every way out must leave the machine where its byte-at-a-time rounds
/// would (fed one byte a chunk, no string lies whole in a chunk and the cycle never runs).
@Suite("JSON string cycle")
struct JSONCycleTests {
    private static let people = [
        ("张三", "11010519491231002X", "13812345678", "zhang@example.com"),
        ("李四", "520181200504185021", "13912345678", "li.si@example.org"),
        ("王五", "110105194912310021", "13712345678", "wang@example.net"),
    ]

    /// The same records in one layout: `colon` and `comma` are what follows a name and a value.
    private static func body(colon: String, comma: String, open: String = "", close: String = "") -> String {
        let records = people.map { p in
            "{\(open)\"name\"\(colon)\"\(p.0)\"\(comma)\"id\"\(colon)\"\(p.1)\"\(comma)\"tags\"\(colon)[\"a\"\(comma)\"b\"]"
                + "\(comma)\"phone\"\(colon)\"\(p.2)\"\(comma)\"email\"\(colon)\"\(p.3)\"\(comma)\"age\"\(colon)41\(comma)"
                + "\"note\"\(colon)\"line\\nbreak \\u00e9\"\(comma)\"ok\"\(colon)true\(close)}"
        }
        return "[" + records.joined(separator: comma) + "]"
    }

    private func same(_ a: InspectionResult, _ b: InspectionResult) -> Bool {
        a.records == b.records && Set(a.subjects) == Set(b.subjects) && a.kindCounts == b.kindCounts
            && a.uninspectable == b.uninspectable
    }

    @Test("every layout of separators and white space gives the result of byte-at-a-time feeding")
    func layouts() {
        let layouts = [(":", ","), (": ", ", "), (" : ", " , "), (":\t", ",\n  "), (":\n\n   ", ",\r\n\t\t"),
                       (" \n: \n ", " ,\n\n\n    ")]
        var results: [InspectionResult] = []
        for (colon, comma) in layouts {
            for (open, close) in [("", ""), ("\n  ", "\n")] {
                let b = Array(Self.body(colon: colon, comma: comma, open: open, close: close).utf8)
                let whole = inspect(b, type: "application/json")
                #expect(whole.uninspectable == nil, "\(colon.debugDescription) \(comma.debugDescription)")
                #expect(same(whole, inspect(b, type: "application/json", chunks: [1])))
                #expect(same(whole, inspect(b, type: "application/json", chunks: [7, 13, 2])))
                results.append(whole)
            }
        }
        #expect(results[0].subjects.count == 3 && results[0][.mobile] == 3 && results[0][.email] == 3)
        #expect(results.allSatisfy { same($0, results[0]) })
    }

    @Test("NDJSON lines of top-level strings and objects leave the cycle at each line's end")
    func topLevel() {
        let p = Self.people
        let text = "\"\(p[0].3)\"\n{\"id\": \"\(p[1].1)\", \"email\": \"\(p[1].3)\"}\n\"x\"\n{\"id\":\"\(p[2].1)\"}\n"
        let b = Array(text.utf8)
        let whole = inspect(b, type: "application/x-ndjson")
        #expect(whole.uninspectable == nil)
        #expect(whole[.email] == 2)
        #expect(same(whole, inspect(b, type: "application/x-ndjson", chunks: [1])))
    }

    @Test("a closing quote, separator and opening quote read in one word: exactly `\"<sep> \"` and `\"<sep>\"`")
    func separatorWords() {
        let alphabet: [UInt8] = Array("\":, \na".utf8)
        for separator in [UInt8(ascii: ":"), UInt8(ascii: ",")] {
            let pattern = JSONParser.separatorPattern(separator)
            for a in alphabet { for b in alphabet { for c in alphabet { for d in alphabet {
                let w = UInt32(a) | UInt32(b) << 8 | UInt32(c) << 16 | UInt32(d) << 24
                let expected: Int? = a == 0x22 && b == separator && c == 0x20 && d == 0x22 ? 3
                    : a == 0x22 && b == separator && c == 0x22 ? 2 : nil
                #expect(JSONParser.separatorRun(w, pattern) == expected, "\([a, b, c, d])")
            } } } }
        }
    }

    @Test("names of up to three bytes have keys of their own, and a name's key does not depend on where it lies")
    func shortNameKeys() {
        let alphabet: [UInt8] = Array("ab\"é".utf8)
        var names: [[UInt8]] = [[]]
        for length in 1...3 {
            names += names.filter { $0.count == length - 1 }.flatMap { n in alphabet.map { n + [$0] } }
        }
        func key(_ name: [UInt8], at shift: Int) -> NameKey {
            let padded = Array(repeating: UInt8(0x7A), count: shift) + name + [0x22]
            return padded.withUnsafeBufferPointer { NameKey(UnsafeBufferPointer(rebasing: $0[shift..<(shift + name.count)])) }
        }
        for a in names {
            #expect(key(a, at: 0) == key(a, at: 5))
            for b in names where a != b { #expect(key(a, at: 0) != key(b, at: 3), "\(a) \(b)") }
        }
    }

    @Test("a body cut at every byte gives the result of the whole, separators read in one word or not")
    func everyCut() {
        let bodies = [Self.body(colon: ": ", comma: ", "), Self.body(colon: ":", comma: ","),
                      "{\"a\":\"b\":\"c\"}", "{\"a\",\"b\"}", "[\"a\":\"b\"]", "{\"a\": \"b\",\"c\"}",
                      "{\"ids\": [13812345678, 110105194912310021, -1.5e+10, 0, 1234567890.25, 99999999], \"t\": 1705819194306}"]
        for text in bodies {
            let b = Array(text.utf8)
            let whole = inspect(b, type: "application/json")
            for cut in 1..<b.count {
                let split = inspect(b, type: "application/json", chunks: [cut, b.count])
                #expect(same(whole, split) && whole.uninspectable == split.uninspectable, "\(text) cut at \(cut)")
            }
        }
    }

    @Test("a malformed body is reported at the byte at fault, in whatever chunks it comes")
    func faultOffsets() {
        // The byte at fault is the one after the marker `|`, which is not part of the body.
        for marked in [#"{"a": "b",|, "c": "d"}"#, #"[1, 2|}"#, #"{"a": "b"|]"#, #"{"a" |"b"}"#, #"["a" |"b"]"#,
                       #"{"a": |xyz}"#, #"{"a": "\|q"}"#, #"{"a": "\u12|g4"}"#, #"{"a": tru|}"#, #"{"a": 1}|x"#,
                       #"{"a": 1,|}"#, #"[{"a": "b"}, {"c": "d"}|}"#] {
            let at = marked.utf8.firstIndex(of: UInt8(ascii: "|")).map { marked.utf8.distance(from: marked.utf8.startIndex, to: $0) }!
            let b = Array(marked.utf8.filter { $0 != UInt8(ascii: "|") })
            for chunks in [nil, [1], [3], [5, 2]] as [[Int]?] {
                let r = inspect(b, type: "application/json", chunks: chunks)
                #expect(r.uninspectable?.hasSuffix("(at byte \(at))") == true, "\(marked) \(String(describing: chunks)): \(r.uninspectable ?? "-")")
            }
        }
        // At the end: the body's length.
        for text in [#"{"a": "b""#, #"[1, 2"#, #"{"a": nul"#] {
            let r = inspect(text, type: "application/json", chunks: [4])
            #expect(r.uninspectable?.hasSuffix("(at byte \(text.utf8.count))") == true, "\(text): \(r.uninspectable ?? "-")")
        }
    }

    @Test("malformed bodies are reported at the same byte, whole or a byte at a time")
    func malformed() {
        for text in ["{\"name\" \"张三\"}", "{\"name\": \"张三\" \"id\": \"x\"}", "[\"a\", \"b\" \"c\"]",
                     "{\"a\": \"b\",, \"c\": \"d\"}", "{\"a\": \"b\", }", "{\"a\"  :  \"b\"  ,  \"c\"  \"d\"}",
                     "[\"a\",\n\n  \"b\",\n  ]", "{\"a\":\"b\":\"c\"}", "{\"a\",\"b\"}", "[\"a\":\"b\"]",
                     "{\"a\": \"b\", 1}", "{\"a\": 1, 2}"] {
            let b = Array(text.utf8)
            let whole = inspect(b, type: "application/json")
            #expect(whole.uninspectable != nil, "\(text)")
            #expect(whole.uninspectable == inspect(b, type: "application/json", chunks: [1]).uninspectable, "\(text)")
        }
    }
}
