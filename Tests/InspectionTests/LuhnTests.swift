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

    /// A number of 13–19 digits is a card when Luhn-valid and, outside a card field, in an issuer's
    /// range (the scanner asks the issuer first): numbers in and out of the ranges, Luhn-valid or
    /// not, under a field of no role and a card field.
    @Test("cards: Luhn-valid in a card field, and in an issuer's range elsewhere; the issuer asked first changes nothing")
    func cardsByIssuerAndLuhn() {
        var rng = SplitMix64(state: 18)
        let prefixes = ["4", "51", "55", "56", "2221", "2720", "2131", "1800", "34", "37", "35", "30", "62", "60", "65", "95", "9", "7", "8", "1"]
        let today = RecordAssembler.civilYMD(evaluationDate)
        var cards = 0
        for _ in 0..<600 {
            let n = 13 + Int(rng.next() % 7)
            var d = Array(prefixes[Int(rng.next() % UInt64(prefixes.count))].utf8)
            while d.count < n { d.append(UInt8(0x30 + rng.next() % 10)) }
            // Luhn-valid half the time: the last digit that makes it so.
            if rng.next() % 2 == 0 {
                for c in UInt8(0x30)...UInt8(0x39) {
                    d[n - 1] = c
                    if reference(d) { break }
                }
            }
            // Numbers the scanner takes for something else first (mobiles, resident IDs) are not the point.
            let other = d.withUnsafeBufferPointer { b in
                (n == 18 && Checksums.residentID18(b, today: today) != nil) || (n == 13 && d[0] == 0x38 && d[1] == 0x36)
            }
            if other || d.last == UInt8(ascii: "X") { continue }
            let text = String(decoding: d, as: UTF8.self)
            let issuer = d.withUnsafeBufferPointer { Checksums.cardIssuer($0) }
            let shaped = n == 18 && d.withUnsafeBufferPointer { Checksums.residentIDShaped($0, today: today) }
            let plain = reference(d) && issuer && !shaped
            #expect(json(#"[{"c":"\#(text)"}]"#)[.bankCard] == (plain ? 1 : 0), "\(text)")
            #expect(json(#"[{"bank_card":"\#(text)"}]"#)[.bankCard] == (reference(d) ? 1 : 0), "\(text) in a card field")
            if plain { cards += 1 }
        }
        #expect(cards > 50)
    }
}
