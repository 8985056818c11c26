/// How many subjects were last seen in each UTC hour, with per-block sums so "how many at or
/// after hour h" costs one block scan plus the block sums. Covers only the hours in use.
struct HourHistogram: Sendable {
    private static let blockShift = 8
    private static let blockSize = 1 << blockShift  // 256 hours, about 10.7 days

    private var base = 0            // first hour covered, a multiple of blockSize
    private var hours: [UInt32] = []
    private var blocks: [Int] = []
    private(set) var total = 0

    var memoryBytes: Int { hours.capacity * 4 + blocks.capacity * 8 }

    mutating func add(_ hour: UInt32) {
        let i = slot(for: Int(hour))
        hours[i] += 1
        blocks[i >> Self.blockShift] += 1
        total += 1
    }

    mutating func remove(_ hour: UInt32) {
        let i = Int(hour) - base
        precondition(i >= 0 && i < hours.count && hours[i] > 0, "histogram out of step with its table")
        hours[i] -= 1
        blocks[i >> Self.blockShift] -= 1
        total -= 1
    }

    /// Subjects whose last-seen hour is `hour` or later.
    func count(atOrAfter hour: Int) -> Int {
        if hours.isEmpty || hour <= base { return total }
        let i = hour - base
        if i >= hours.count { return 0 }
        let block = i >> Self.blockShift
        var sum = 0
        for b in (block + 1)..<blocks.count { sum += blocks[b] }
        for h in i..<((block + 1) << Self.blockShift) { sum += Int(hours[h]) }
        return sum
    }

    private mutating func slot(for hour: Int) -> Int {
        let aligned = hour & ~(Self.blockSize - 1)
        if hours.isEmpty {
            base = aligned
            hours = Array(repeating: 0, count: Self.blockSize)
            blocks = [0]
        } else if hour < base {
            let extra = (base - aligned) >> Self.blockShift
            hours.insert(contentsOf: repeatElement(0, count: extra << Self.blockShift), at: 0)
            blocks.insert(contentsOf: repeatElement(0, count: extra), at: 0)
            base = aligned
        } else if hour - base >= hours.count {
            let extra = ((aligned - base) >> Self.blockShift) + 1 - blocks.count
            hours.append(contentsOf: repeatElement(0, count: extra << Self.blockShift))
            blocks.append(contentsOf: repeatElement(0, count: extra))
        }
        return hour - base
    }
}
