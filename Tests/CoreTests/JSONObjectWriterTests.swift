import CustomsCore
import Foundation
import Testing

@Suite struct JSONObjectWriterTests {
    /// Pieces the generator strings are made of: every escape `quote` makes, the two line
    /// separators, the other three-byte sequences that start E2 80 (which must pass unchanged),
    /// CJK, a four-byte scalar, and plain ASCII runs.
    static let pieces: [String] = ["a", "plain text ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1f}", "\u{7f}",
                                   "\u{2028}", "\u{2029}", "\u{2026}", "\u{202A}", "\u{2000}", "é", "张伟", "😀", "/", " "]

    @Test func quotedBytesAreQuotesBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let s = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
            var out: [UInt8] = [1, 2]   // appends after what is there
            JSONText.appendQuoted(s, to: &out)
            #expect(out == [1, 2] + Array(JSONText.quote(s).utf8), "\(s.debugDescription)")
        }
    }

    @Test func decimalsAreStringInt() {
        for v in [0, 1, 9, 10, 99, 100, 12_345, -1, -10, -987, Int.max, Int.min] {
            var out: [UInt8] = []
            JSONText.appendDecimal(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
        var padded: [UInt8] = []
        JSONText.appendDecimal(7, width: 3, to: &padded)
        JSONText.appendDecimal(2026, width: 4, to: &padded)
        JSONText.appendDecimal(12_345, width: 2, to: &padded)
        #expect(String(decoding: padded, as: UTF8.self) == "007202612345")
    }

    @Test func objectsParseBackToWhatWasWritten() throws {
        var buffer = Array("prefix ".utf8)
        var o = JSONObjectWriter(taking: &buffer)
        #expect(buffer.isEmpty, "the writer holds the buffer while it writes")
        o.string("name", "a \"quoted\"\n张伟 \u{2028}")
        o.optional("missing", nil)
        o.optional("present", "yes")
        o.int("count", -42)
        o.strings("empty", [])
        o.strings("list", ["x", "y\\z"])
        o.intMap("map", ["b": 2, "a": 1, "c": 3])
        o.intMap("none", [:])
        o.key("raw")
        o.raw(Array("[1,2]".utf8))
        o.finish(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.hasPrefix("prefix {\"name\":"))
        #expect(text.contains(#""map":{"a":1,"b":2,"c":3}"#), "map keys sorted")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer.dropFirst(7))) as? [String: Any])
        #expect(object["name"] as? String == "a \"quoted\"\n张伟 \u{2028}")
        #expect(object["missing"] == nil && object["empty"] == nil)
        #expect(object["present"] as? String == "yes")
        #expect(object["count"] as? Int == -42)
        #expect(object["list"] as? [String] == ["x", "y\\z"])
        #expect(object["map"] as? [String: Int] == ["a": 1, "b": 2, "c": 3])
        #expect((object["none"] as? [String: Int])?.isEmpty == true)
        #expect(object["raw"] as? [Int] == [1, 2])
    }
}
