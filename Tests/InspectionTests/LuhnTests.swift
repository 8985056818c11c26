import CustomsCore
import Testing
@testable import Inspection

/// `Checksums.luhn` sums eight digits a word at a time: it must answer as the digit-by-digit
/// definition does for every length and every digit in every position.
@Suite("Luhn check")
struct LuhnTests {
    /// The definition: from the right, every second digit doubled, less 9 when that passes 9.
    private func reference(_ d: [UInt8]) -> Bool {
        var sum = 0
        for (k, c) in d.reversed().enumerated() {
            let v = Int(c - 0x30)
            sum += k % 2 == 1 ? (2 * v > 9 ? 2 * v - 9 : 2 * v) : v
        }
        return sum % 10 == 0
    }

    @Test("word-at-a-time sums agree with the definition for lengths 1–26 and every digit at every position")
    func agreesWithDefinition() {
        var rng = SplitMix64(state: 2026)
        var valid = 0
        for n in 1...26 {
            for _ in 0..<300 {
                let d = (0..<n).map { _ in UInt8(0x30 + rng.next() % 10) }
                let answer = d.withUnsafeBufferPointer { Checksums.luhn($0) }
                #expect(answer == reference(d), "\(String(decoding: d, as: UTF8.self))")
                if answer { valid += 1 }
            }
            // Each digit 0–9 at each position of an otherwise zero number.
            for p in 0..<n {
                for v in 0...9 {
                    var d = [UInt8](repeating: 0x30, count: n)
                    d[p] = 0x30 + UInt8(v)
                    #expect(d.withUnsafeBufferPointer { Checksums.luhn($0) } == reference(d))
                }
            }
        }
        #expect(valid > 500)  // about a tenth of the random numbers pass
        #expect(Checksums.luhnString("6222021234567890128") == reference(Array("6222021234567890128".utf8)))
        #expect(Checksums.luhnString("4111111111111111"))
        #expect(!Checksums.luhnString("4111111111111112"))
    }
}
