import CustomsCore
import Foundation

/// One counted (scope, category): who is in it and when each was last seen.
struct SeriesKey: Hashable, Sendable {
    let scope: CountScope
    let category: Category

    /// How the scope is spelled in storage and output: `company` or `recipient:<id>`.
    var scopeText: String { scope.description }

    init(scope: CountScope, category: Category) {
        self.scope = scope
        self.category = category
    }

    init?(scopeText: String, category: String) {
        if scopeText == "company" {
            scope = .company
        } else if scopeText.hasPrefix("recipient:") {
            scope = .recipient(String(scopeText.dropFirst("recipient:".count)))
        } else {
            return nil
        }
        self.category = Category(category)
    }
}

/// What counting one batch changed, grouped the way the log stores it: per series the batch
/// touched, one run of keys whose last-seen hour moved forward to the batch's hour (new keys
/// included). The keys sit in one flat array, so a commit packs them into blocks without a record
/// per change; the same value undoes them.
struct BatchChanges: Sendable {
    struct Run: Sendable {
        let series: Int32
        let hour: UInt32
        let range: Range<Int>
    }

    /// The `old` hour of a key that was new to its series (never a real hour: see `SubjectTable.maxHour`).
    static let new = UInt32.max

    private(set) var runs: [Run] = []
    private(set) var keys: [SubjectKey] = []
    /// `old[n]`: `keys[n]`'s last-seen hour before, or `BatchChanges.new`.
    private(set) var old: [UInt32] = []

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    init(reservingCapacity n: Int) {
        keys.reserveCapacity(n)
        old.reserveCapacity(n)
    }

    @inline(__always)
    mutating func record(_ key: SubjectKey, old hour: UInt32?) {
        keys.append(key)
        old.append(hour ?? Self.new)
    }

    /// Closes the run of keys recorded since `start` (nothing if none were).
    mutating func endRun(series: Int32, hour: UInt32, from start: Int) {
        if keys.count > start { runs.append(Run(series: series, hour: hour, range: start..<keys.count)) }
    }

    /// Every change in order: series, key, old hour (nil: new), new hour.
    func forEach(_ body: (Int32, SubjectKey, UInt32?, UInt32) -> Void) {
        for run in runs {
            for n in run.range { body(run.series, keys[n], old[n] == Self.new ? nil : old[n], run.hour) }
        }
    }
}

/// Hour arithmetic: the ledger keeps last-seen times to the UTC hour.
enum LedgerClock {
    static func hour(_ date: Date) -> UInt32 {
        let h = (date.timeIntervalSince1970 / 3600).rounded(.down)
        if h <= 0 { return 0 }
        return h >= Double(SubjectTable.maxHour) ? SubjectTable.maxHour : UInt32(h)
    }

    /// The first hour inside `window` at `now`. Exact when the calendar's offset is a whole number
    /// of hours; otherwise rounded down, which can only count a subject early (never miss one).
    static func startHour(_ window: CountingWindow, now: Date, calendar: CivilCalendar) -> Int {
        if window == .unbounded { return 0 }
        let start = calendar.windowStart(window, now: now).timeIntervalSince1970
        return Int((start / 3600).rounded(.down))
    }
}

/// Window start hours, remembered per civil day: Foundation's calendar arithmetic costs
/// microseconds, and every flow of a day asks the same question.
struct WindowStartCache: Sendable {
    private struct Key: Hashable { let offset: Int; let day: Int; let window: CountingWindow }
    private var starts: [Key: Int] = [:]

    mutating func startHour(_ window: CountingWindow, now: Date, calendar: CivilCalendar) -> Int {
        if window == .unbounded { return 0 }
        let key = Key(offset: calendar.utcOffsetSeconds, day: calendar.dayNumber(now), window: window)
        if let hit = starts[key] { return hit }
        if starts.count > 1_024 { starts.removeAll(keepingCapacity: true) }
        let start = LedgerClock.startHour(window, now: now, calendar: calendar)
        starts[key] = start
        return start
    }
}

/// The in-memory count state: series, their subject tables and hour histograms. Not thread-safe;
/// its owner confines it to one queue.
struct CountState: Sendable {
    struct Series: Sendable {
        let key: SeriesKey
        var table = SubjectTable()
        var histogram = HourHistogram()
        var persisted: Bool
    }

    private(set) var series: [Series] = []
    private var index: [SeriesKey: Int32] = [:]
    private var windowStarts = WindowStartCache()

    var subjectEntries: Int { series.reduce(0) { $0 + $1.table.count } }
    var memoryBytes: Int { series.reduce(0) { $0 + $1.table.memoryBytes + $1.histogram.memoryBytes } }

    func id(of key: SeriesKey) -> Int32? { index[key] }

    /// Registers a series read back from storage under its stored id.
    mutating func restoreSeries(id: Int32, key: SeriesKey) {
        precondition(Int(id) == series.count, "series ids are dense")
        series.append(Series(key: key, persisted: true))
        index[key] = id
    }

    private mutating func seriesID(_ key: SeriesKey) -> Int32 {
        if let id = index[key] { return id }
        let id = Int32(series.count)
        series.append(Series(key: key, persisted: false))
        index[key] = id
        return id
    }

    /// Series created in memory that storage has not recorded yet.
    func unpersistedSeries() -> [(id: Int32, key: SeriesKey)] {
        series.indices.filter { !series[$0].persisted }.map { (Int32($0), series[$0].key) }
    }

    mutating func markPersisted(_ ids: [Int32]) {
        for id in ids { series[Int(id)].persisted = true }
    }

    /// Replays one stored sighting (keeping the latest hour).
    mutating func restore(series id: Int32, key: SubjectKey, hour: UInt32) {
        Self.see(key, at: hour, in: &series[Int(id)])
    }

    func lastSeen(_ subject: SubjectKey, in key: SeriesKey) -> UInt32? {
        guard let id = index[key] else { return nil }
        return series[Int(id)].table.lastSeen(subject)
    }

    mutating func count(_ key: CountKey, at: Date, calendar: CivilCalendar) -> Int {
        guard let id = index[SeriesKey(scope: key.scope, category: key.category)] else { return 0 }
        let start = windowStarts.startHour(key.window, now: at, calendar: calendar)
        return series[Int(id)].histogram.count(atOrAfter: start)
    }

    mutating func preview(_ batch: LedgerBatch) -> CountPreview {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: batch.subjects.count) { hashes in
            for (n, s) in batch.subjects.enumerated() { hashes[n] = SubjectTable.hash(s.key) }
            return preview(batch, hashes: UnsafeBufferPointer(hashes))
        }
    }

    private mutating func preview(_ batch: LedgerBatch, hashes: UnsafeBufferPointer<UInt64>) -> CountPreview {
        var result = CountPreview(minimumCapacity: batch.keys.count)
        // Counters sharing a series share one pass over the batch's subjects. A batch asks for a
        // handful of counters: a short list beats hashing scope and category names.
        var groups: [(series: SeriesKey, keys: [CountKey])] = []
        groups.reserveCapacity(batch.keys.count)
        for key in batch.keys {
            if let g = groups.firstIndex(where: { $0.series.category == key.category && $0.series.scope == key.scope }) {
                groups[g].keys.append(key)
            } else {
                groups.append((SeriesKey(scope: key.scope, category: key.category), [key]))
            }
        }
        var starts: [Int] = [], added: [Int] = []
        for (seriesKey, keys) in groups {
            let id = index[seriesKey]
            starts.removeAll(keepingCapacity: true)
            for key in keys { starts.append(windowStarts.startHour(key.window, now: batch.time, calendar: batch.calendar)) }
            added = Array(repeating: 0, count: keys.count)
            let affected: Bool
            switch seriesKey.scope {
            case .company: affected = true
            case .recipient(let r): affected = r == batch.recipient
            }
            if affected, let i = batch.categories.firstIndex(of: seriesKey.category) {
                let bit: UInt64 = 1 << UInt64(i)
                if let id {
                    series[Int(id)].table.forEachLastSeen(batch.subjects, hashes: hashes, withAny: bit) { seen in
                        guard let seen else {
                            for k in keys.indices { added[k] += 1 }
                            return
                        }
                        for k in keys.indices where Int(seen) < starts[k] { added[k] += 1 }
                    }
                } else {
                    let n = batch.subjects.reduce(0) { $0 + ($1.categories & bit != 0 ? 1 : 0) }
                    for k in keys.indices { added[k] = n }
                }
            }
            for k in keys.indices {
                let before = id.map { series[Int($0)].histogram.count(atOrAfter: starts[k]) } ?? 0
                result[keys[k]] = CountChange(before: before, after: before + added[k])
            }
        }
        return result
    }

    /// Counts `batch` and asks `decide` with the preview it makes; the counts stay if the answer
    /// is `.commit` and are taken back otherwise. The answer and the counts are those of `preview`
    /// then `apply`, but each subject is probed once per series, not twice: the preview is read
    /// off the changes (a subject adds to a window when it is new there or was last seen before
    /// the window's start). Returns the changes kept (empty unless committed).
    mutating func admit<T>(_ batch: LedgerBatch, decide: (CountPreview) -> (LedgerOutcome, T)) -> (LedgerOutcome, T, BatchChanges) {
        // Counts before the batch, and the windows' first hours, while the histograms are untouched.
        var before: [(key: CountKey, series: Int32?, start: Int, count: Int)] = []
        before.reserveCapacity(batch.keys.count)
        for key in batch.keys {
            let id = index[SeriesKey(scope: key.scope, category: key.category)]
            let start = windowStarts.startHour(key.window, now: batch.time, calendar: batch.calendar)
            before.append((key, id, start, id.map { series[Int($0)].histogram.count(atOrAfter: start) } ?? 0))
        }
        let changes = apply(batch)
        var preview = CountPreview(minimumCapacity: batch.keys.count)
        for b in before {
            let id = b.series ?? index[SeriesKey(scope: b.key.scope, category: b.key.category)]
            var added = 0
            if let id {
                for run in changes.runs where run.series == id {
                    for n in run.range {
                        let old = changes.old[n]
                        if old == BatchChanges.new || Int(old) < b.start { added += 1 }
                    }
                }
            }
            preview[b.key] = CountChange(before: b.count, after: b.count + added)
        }
        let (outcome, value) = decide(preview)
        guard outcome == .commit else {
            undo(changes)
            return (outcome, value, BatchChanges(reservingCapacity: 0))
        }
        return (outcome, value, changes)
    }

    /// Counts `batch` in memory; returns what changed, for storage and for undo.
    mutating func apply(_ batch: LedgerBatch) -> BatchChanges {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: batch.subjects.count) { hashes in
            for (n, s) in batch.subjects.enumerated() { hashes[n] = SubjectTable.hash(s.key) }
            return apply(batch, hashes: UnsafeBufferPointer(hashes))
        }
    }

    private mutating func apply(_ batch: LedgerBatch, hashes: UnsafeBufferPointer<UInt64>) -> BatchChanges {
        let hour = LedgerClock.hour(batch.time)
        var changes = BatchChanges(reservingCapacity: batch.subjects.count * 2)
        // Every series the batch touches (company and recipient per category it carries), each with
        // the category bit that selects its subjects.
        var touched: [(id: Int32, bit: UInt64)] = []
        var used = batch.subjects.reduce(UInt64(0)) { $0 | $1.categories }
        while used != 0 {
            let i = used.trailingZeroBitCount
            used &= used - 1
            let category = batch.categories[i]
            touched.append((seriesID(SeriesKey(scope: .company, category: category)), 1 << UInt64(i)))
            touched.append((seriesID(SeriesKey(scope: .recipient(batch.recipient), category: category)), 1 << UInt64(i)))
        }
        // Every table's slots are prefetched before any is probed: the misses of all of them overlap.
        for s in touched {
            series[Int(s.id)].table.prepareAdvance(batch.subjects, hashes: hashes, withAny: s.bit)
        }
        for s in touched {
            let start = changes.count
            Self.see(batch.subjects, hashes: hashes, withAny: s.bit, at: hour, in: &series[Int(s.id)], changes: &changes)
            changes.endRun(series: s.id, hour: hour, from: start)
        }
        return changes
    }

    /// Moves the subjects whose mask has `bit` forward to `hour` in one series (one exclusive
    /// access for the whole batch, one probe per subject), its table prepared (`prepareAdvance`).
    private static func see(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bit: UInt64, at hour: UInt32,
                            in s: inout Series, changes: inout BatchChanges) {
        see(subjects, hashes: hashes, withAny: bit, at: hour, table: &s.table, histogram: &s.histogram, changes: &changes)
    }

    @inline(__always)
    private static func see(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bit: UInt64, at hour: UInt32,
                            table: inout SubjectTable, histogram: inout HourHistogram, changes: inout BatchChanges) {
        table.advancePrepared(subjects, hashes: hashes, withAny: bit, to: hour) { key, result in
            switch result {
            case .unchanged:
                break
            case .inserted:
                histogram.add(hour)
                changes.record(key, old: nil)
            case .moved(let old):
                histogram.remove(old)
                histogram.add(hour)
                changes.record(key, old: old)
            }
        }
    }

    @inline(__always)
    private static func see(_ key: SubjectKey, at hour: UInt32, in s: inout Series) {
        switch s.table.advance(key, to: hour) {
        case .unchanged:
            break
        case .inserted:
            s.histogram.add(hour)
        case .moved(let old):
            s.histogram.remove(old)
            s.histogram.add(hour)
        }
    }

    /// The keys of `blocks` (the log's head, in order) still needed for durability: those carrying
    /// their subject's durable last-seen hour. `pending` are changes counted in memory but not yet
    /// stored, oldest first; for the subjects they touch, the durable hour is the one before the
    /// first of them. Returns the blocks with only those keys (empty ones left out).
    func liveKeys(_ blocks: [SQLiteStore.LogBlock], pending: [BatchChanges]) -> [SQLiteStore.LogBlock] {
        struct Slot: Hashable { let series: Int32; let key: SubjectKey }
        var durableBefore: [Slot: UInt32?] = [:]
        for changes in pending {
            changes.forEach { series, key, old, _ in
                let slot = Slot(series: series, key: key)
                if durableBefore.index(forKey: slot) == nil { durableBefore[slot] = .some(old) }
            }
        }
        var kept = Set<Slot>()
        var live: [SQLiteStore.LogBlock] = []
        for block in blocks {
            let table = Int(block.series) < series.count ? series[Int(block.series)].table : nil
            var keys: [SubjectKey] = []
            for key in block.keys {
                let slot = Slot(series: block.series, key: key)
                let durable: UInt32?
                if let before = durableBefore[slot] {
                    durable = before
                } else {
                    durable = table?.lastSeen(key)
                }
                // Keep the key that holds the durable hour (once); anything unexplained stays too.
                if let durable, durable > block.hour { continue }
                if kept.insert(slot).inserted || durable == nil { keys.append(key) }
            }
            if !keys.isEmpty { live.append(SQLiteStore.LogBlock(rowid: block.rowid, series: block.series, hour: block.hour, keys: keys)) }
        }
        return live
    }

    /// Reverses `changes` (made by `apply`, most recent batch first).
    mutating func undo(_ changes: BatchChanges) {
        for run in changes.runs.reversed() {
            let s = Int(run.series)
            for n in run.range.reversed() {
                let key = changes.keys[n], old = changes.old[n]
                series[s].histogram.remove(run.hour)
                if old == BatchChanges.new {
                    series[s].table.remove(key)
                } else {
                    series[s].table.set(key, hour: old)
                    series[s].histogram.add(old)
                }
            }
        }
    }
}
