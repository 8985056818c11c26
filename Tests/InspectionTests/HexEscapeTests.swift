import CustomsCore
import Testing
@testable import Inspection

/// `JSONParser.hex4` judges and converts the four hex digits of a `\uXXXX` escape at once: it must
/// answer as a digit-by-digit reading does for every byte at every position.
@Suite("JSON \\u escapes")
struct HexEscapeTests {
    private func reference(_ b: [UInt8]) -> UInt32? {
        var v: UInt32 = 0
        for c in b {
            switch c {
            case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
            case 0x41...0x46: v = v << 4 | UInt32(c - 0x41 + 10)
            case 0x61...0x66: v = v << 4 | UInt32(c - 0x61 + 10)
            default: return nil
            }
        }
        return v
    }

    @Test("every byte at every position of an otherwise valid escape, and random valid ones")
    func agreesWithDigitByDigit() {
        var rng = SplitMix64(state: 0x5f20)
        let hex = Array("0123456789abcdefABCDEF".utf8)
        for _ in 0..<40 {
            let base = (0..<4).map { _ in hex[Int(rng.next() % UInt64(hex.count))] }
            for p in 0..<4 {
                for c in 0...255 {
                    var b = base
                    b[p] = UInt8(c)
                    let answer = b.withUnsafeBufferPointer { JSONParser.hex4($0.baseAddress!) }
                    #expect(answer == reference(b), "\(b)")
                }
            }
        }
    }

    @Test("a code unit of the Basic Multilingual Plane outside the surrogates encodes as its scalar's UTF-8")
    func bmpEncoding() {
        for v in UInt32(0)..<0x1_0000 where v < 0xD800 || v >= 0xE000 {
            var (packed, count) = JSONParser.encodeBMP(v)
            var bytes: [UInt8] = []
            for _ in 0..<count { bytes.append(UInt8(truncatingIfNeeded: packed)); packed >>= 8 }
            #expect(bytes == Array(String(Unicode.Scalar(v)!).utf8), "\(v)")
        }
    }

    @Test("runs of escapes with surrogates, pairs split by other characters and lone halves read as the machine reads them")
    func escapeRuns() {
        let names = [#"\u5f20\u4e09"#, #"\ud83d\ude00\u5f20\u4e09"#, #"\ud83d\u5f20\ude00\u4e09"#, #"\ude00\u5f20\u00e9\u0041\u4e09"#,
                     #"\u5f20\ud83d\u4e09\u0000\n\"\u674e"#, #"\u674e\u56db\ud800"#]
        for name in names {
            let text = #"[{"name": ""# + name + #"", "mobile": "13800138000", "id": "11010519491231002X"}]"#
            let whole = json(text)
            let bytes = inspect(text, type: "application/json", chunks: [1])
            #expect(whole.uninspectable == nil && whole.subjects.count == 1, "\(name)")
            #expect(Set(whole.subjects) == Set(bytes.subjects) && whole.kindCounts == bytes.kindCounts, "\(name)")
        }
    }

    @Test("escaped names in either case key as the plain text")
    func escapedNames() {
        let plain = json(#"[{"name": "张三", "mobile": "13800138000"}, {"name": "李四", "mobile": "13900139000"}]"#)
        let escaped = json(#"[{"name": "\u5f20\u4E09", "mobile": "13800138000"}, {"name": "\u674e\u56DB", "mobile": "13900139000"}]"#)
        #expect(plain.subjects.count == 2)
        #expect(Set(escaped.subjects) == Set(plain.subjects))
        #expect(escaped.kindCounts == plain.kindCounts)
        let broken = json(#"[{"name": "\u5g20", "mobile": "13800138000"}]"#)
        #expect(broken.uninspectable != nil)
    }
}
