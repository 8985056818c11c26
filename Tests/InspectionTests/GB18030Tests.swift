import CustomsCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Inspection

@Suite("GB18030 by table")
struct GB18030Tests {
    /// What the decoder produced before the table: iconv over the whole input, a rejected byte
    /// skipped as U+FFFD, a sequence cut by the end reported as an error.
    static func viaIconv(_ input: [UInt8]) -> [UInt8]? {
        let cd = iconv_open("UTF-8", "GB18030")
        defer { iconv_close(cd) }
        var result: [UInt8] = []
        var out = [UInt8](repeating: 0, count: input.count * 4 + 16)
        return input.withUnsafeBufferPointer { i -> [UInt8]? in
            var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: i.baseAddress)?.assumingMemoryBound(to: CChar.self)
            var inLeft = i.count
            while inLeft > 0 {
                let (rc, err, produced): (Int, Int32, Int) = out.withUnsafeMutableBufferPointer { o in
                    var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(o.baseAddress)?.assumingMemoryBound(to: CChar.self)
                    var outLeft = o.count
                    let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    return (rc, errno, o.count - outLeft)
                }
                result += out[0..<produced]
                if rc != -1 { break }
                if err == EINVAL { return nil }
                inPtr = inPtr! + 1; inLeft -= 1
                result += [0xEF, 0xBF, 0xBD]
            }
            return result
        }
    }

    /// Through `CharsetDecoder` in chunks of the given sizes (cycled); nil if it reports a cut sequence.
    static func decoded(_ input: [UInt8], chunks: [Int]) -> [UInt8]? {
        guard let decoder = try? CharsetDecoder(charset: "gbk") else { return nil }
        var result: [UInt8] = []
        var offset = 0, k = 0
        do throws(UninspectableError) {
            while offset < input.count {
                let end = min(input.count, offset + chunks[k % chunks.count]); k += 1
                try input[offset..<end].withUnsafeBufferPointer { b throws(UninspectableError) in
                    try decoder.feed(b) { result += $0 }
                }
                offset = end
            }
            try decoder.finish { result += $0 }
        } catch {
            return nil
        }
        return result
    }

    @Test("every two-byte code reads as iconv reads it, alone and among ASCII")
    func everyCode() throws {
        var body: [UInt8] = []
        for lead in UInt8(0x81)...0xFE {
            for trail in UInt8(0x40)...0xFF {
                let code = [lead, trail]
                #expect(Self.decoded(code, chunks: [2]) == Self.viaIconv(code), "\(code)")
                body += code + [0x2C]
            }
        }
        #expect(Self.decoded(body, chunks: [65_536]) == Self.viaIconv(body))
    }

    @Test("random GB18030 with four-byte codes and malformed bytes, in random chunks: iconv's output")
    func randomText() throws {
        var rng = SplitMix64(state: 18030)
        let chinese = try #require("张三,北京市海淀区中关村大街1号,13812345678\n".data(using: .init(rawValue: 0x80000632)))
        let pieces: [[UInt8]] = [Array(chinese), Array("110101199003077777,".utf8), [0x81, 0x30, 0x81, 0x30], [0x95, 0x32, 0x82, 0x36],
                                 [0x80], [0xFF], [0x81, 0x7F], [0xB0, 0xFF], [0xB0, 0x20], [0x81, 0x30, 0x41], [0xA1, 0xA1], [0xFE, 0xFE]]
        for _ in 0..<400 {
            var body: [UInt8] = []
            for _ in 0..<Int(rng.next() % 40) {
                body += rng.next() % 4 == 0 ? pieces[Int(rng.next() % UInt64(pieces.count))] : pieces[Int(rng.next() % 2)]
            }
            // Sometimes a code cut by the body's end.
            if rng.next() % 8 == 0 { body.append(0xB0) }
            let chunks = (0..<3).map { _ in 1 + Int(rng.next() % 97) }
            let expected = Self.viaIconv(body)
            #expect(Self.decoded(body, chunks: chunks) == expected, "\(body) in \(chunks)")
            #expect(Self.decoded(body, chunks: [max(1, body.count)]) == expected, "\(body)")
        }
    }
}
