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
