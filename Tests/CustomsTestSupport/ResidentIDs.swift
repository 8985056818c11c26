import Foundation

/// Valid Chinese resident identity numbers for tests: GB 11643-1999 layout with the
/// ISO 7064 MOD 11-2 check character, distinct for distinct `index` values.
public enum ResidentIDs {
    public static let regions = ["110101", "310104", "440305", "510107", "330106", "320102", "420102", "610113"]

    public static func make(_ index: Int, birthYear: Int = 1985) -> String {
        let region = regions[index % regions.count]
        // 12 months × 28 days keeps every date valid; region × date × sequence is unique below
        // 2,688,000 people, and the year steps after that.
        let date = (index / regions.count) % 336
        let month = date / 28 + 1, day = date % 28 + 1
        let seq = (index / (regions.count * 336)) % 1000
        let year = birthYear + (index / (regions.count * 336 * 1000)) % 20
        let body = region + String(format: "%04d%02d%02d%03d", year, month, day, seq)
        return body + String(check(body))
    }

    /// `body17` (region, birth date, sequence) with its check character appended.
    public static func withCheck(_ body17: String) -> String { body17 + String(check(body17)) }

    public static func check(_ body17: String) -> Character {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body17.compactMap { $0.wholeNumberValue }, weights).map(*).reduce(0, +)
        return Array("10X98765432")[sum % 11]
    }

    /// A JSON array of customer records, one resident ID each, for people `range`.
    public static func jsonBody(_ range: Range<Int>) -> Data {
        let items = range.map { i in
            "{\"customer_id\":\(1_000_000 + i),\"name\":\"Test Person \(i)\",\"id_card\":\"\(make(i))\",\"order_total\":\(i % 500).5}"
        }
        return Data(("[" + items.joined(separator: ",") + "]").utf8)
    }

    /// The same people as CSV with a header row.
    public static func csvBody(_ range: Range<Int>) -> Data {
        Data((["customer_id,name,id_card"] + range.map { "\(1_000_000 + $0),Test Person \($0),\(make($0))" })
            .joined(separator: "\n").appending("\n").utf8)
    }
}
