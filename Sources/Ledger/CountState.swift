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

    /// `runs`: two per category the batch carries (the company's series and the recipient's).
    init(reservingCapacity n: Int, runs r: Int = 0) {
        keys.reserveCapacity(n)
        old.reserveCapacity(n)
        if r > 0 { runs.reserveCapacity(r) }
    }

    /// `hour`: the key's last-seen hour before, or `BatchChanges.new`.
    @inline(__always)
    mutating func record(_ key: SubjectKey, old hour: UInt32) {
        keys.append(key)
        old.append(hour)
    }

    /// Adds changes kept aside (keys and old hours, not runs) after this one's.
    mutating func append(_ side: UnsafeMutableBufferPointer<(key: SubjectKey, old: UInt32)>.SubSequence) {
        keys.append(contentsOf: side.lazy.map(\.key))
        old.append(contentsOf: side.lazy.map(\.old))
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

/// The in-memory count state: series, the subject tables holding them and their hour histograms.
/// Not thread-safe; its owner confines it to one queue.
///
/// A category's company series and the first recipient series of that category share one table,
/// in its two lanes: every batch counts its people in both, so one probe per person serves both
/// (see `SubjectTable`). Other recipients' series have tables of their own.
struct CountState: Sendable {
    struct Series: Sendable {
        let key: SeriesKey
        /// Where the series' subjects live: `tables[table]`, lane `lane`.
        let table: Int
        let lane: Int
        var histogram = HourHistogram()
        var persisted: Bool
    }

    private(set) var series: [Series] = []
    private(set) var tables: [SubjectTable] = []
    private var index: [SeriesKey: Int32] = [:]
    /// Per category, the company series' table while its second lane is free.
    private var openLane: [Category: Int] = [:]
    private var windowStarts = WindowStartCache()

    var subjectEntries: Int { series.reduce(0) { $0 + entries(of: $1) } }
    var memoryBytes: Int {
        tables.reduce(0) { $0 + $1.memoryBytes } + series.reduce(0) { $0 + $1.histogram.memoryBytes }
    }

    func id(of key: SeriesKey) -> Int32? { index[key] }

    /// Subjects in `series`.
    func entries(of s: Series) -> Int { tables[s.table].count(lane: s.lane) }

    /// Registers a series read back from storage under its stored id.
    mutating func restoreSeries(id: Int32, key: SeriesKey) {
        precondition(Int(id) == series.count, "series ids are dense")
        addSeries(key, persisted: true)
    }

    private mutating func seriesID(_ key: SeriesKey) -> Int32 {
        if let id = index[key] { return id }
        return addSeries(key, persisted: false)
    }

    @discardableResult
    private mutating func addSeries(_ key: SeriesKey, persisted: Bool) -> Int32 {
        let id = Int32(series.count)
        let table: Int, lane: Int
        if case .recipient = key.scope, let t = openLane[key.category] {
            (table, lane) = (t, 1)
            openLane[key.category] = nil
        } else {
            tables.append(SubjectTable())
            (table, lane) = (tables.count - 1, 0)
            if key.scope == .company { openLane[key.category] = table }
        }
        series.append(Series(key: key, table: table, lane: lane, persisted: persisted))
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
        // Table and lane only: a copy of the series would share the histogram written below.
        let table = series[Int(id)].table, lane = series[Int(id)].lane
        switch tables[table].advance(key, to: hour, lane: lane) {
        case .unchanged:
            break
        case .inserted:
            series[Int(id)].histogram.add(hour)
        case .moved(let old):
            series[Int(id)].histogram.remove(old)
            series[Int(id)].histogram.add(hour)
        }
    }

    func lastSeen(_ subject: SubjectKey, in key: SeriesKey) -> UInt32? {
        guard let id = index[key] else { return nil }
        let s = series[Int(id)]
        return tables[s.table].lastSeen(subject, lane: s.lane)
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
                    let s = series[Int(id)]
                    tables[s.table].forEachLastSeen(batch.subjects, hashes: hashes, withAny: bit, lane: s.lane) { seen in
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
        typealias Before = (series: Int32?, start: Int, count: Int)
        // Counts before the batch, and the windows' first hours, while the histograms are untouched
        // (on the stack, by the key's position: copying a key retains its strings).
        return withUnsafeTemporaryAllocation(of: Before.self, capacity: batch.keys.count) { before in
            for (n, key) in batch.keys.enumerated() {
                let id = index[SeriesKey(scope: key.scope, category: key.category)]
                let start = windowStarts.startHour(key.window, now: batch.time, calendar: batch.calendar)
                before.initializeElement(at: n, to: (id, start, id.map { series[Int($0)].histogram.count(atOrAfter: start) } ?? 0))
            }
            let changes = apply(batch)
            var preview = CountPreview(minimumCapacity: batch.keys.count)
            for (n, key) in batch.keys.enumerated() {
                let b = before[n]
                let id = b.series ?? index[SeriesKey(scope: key.scope, category: key.category)]
                var added = 0
                if let id {
                    for run in changes.runs where run.series == id {
                        for c in run.range {
                            let old = changes.old[c]
                            if old == BatchChanges.new || Int(old) < b.start { added += 1 }
                        }
                    }
                }
                preview[key] = CountChange(before: b.count, after: b.count + added)
            }
            let (outcome, value) = decide(preview)
            guard outcome == .commit else {
                undo(changes)
                return (outcome, value, BatchChanges(reservingCapacity: 0))
            }
            return (outcome, value, changes)
        }
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
        // Each (subject, category) pair changes at most two series, so reserving that many keeps the
        // change arrays from growing (and copying) midway: a batch of people in two categories
        // makes four changes per person, not two.
        var used: UInt64 = 0
        var pairs = 0
        for s in batch.subjects {
            used |= s.categories
            pairs += s.categories.nonzeroBitCount
        }
        var changes = BatchChanges(reservingCapacity: pairs * 2, runs: 2 * used.nonzeroBitCount)
        // Every table the batch touches (per category it carries: the company's and the recipient's
        // series, in one table's two lanes or in two tables), with the category bit that selects
        // its subjects. At most two per category bit: on the stack, not an array per batch.
        typealias Touch = (first: Int32, second: Int32?, bit: UInt64)
        return withUnsafeTemporaryAllocation(of: Touch.self, capacity: 2 * used.nonzeroBitCount) { touched in
            var n = 0
            while used != 0 {
                let i = used.trailingZeroBitCount
                used &= used - 1
                let category = batch.categories[i]
                let bit = UInt64(1) << UInt64(i)
                let company = seriesID(SeriesKey(scope: .company, category: category))
                let recipient = seriesID(SeriesKey(scope: .recipient(batch.recipient), category: category))
                if series[Int(company)].table == series[Int(recipient)].table {
                    touched.initializeElement(at: n, to: (company, recipient, bit))
                    n += 1
                } else {
                    touched.initializeElement(at: n, to: (company, nil, bit))
                    touched.initializeElement(at: n + 1, to: (recipient, nil, bit))
                    n += 2
                }
            }
            let touches = UnsafeBufferPointer(rebasing: touched[0..<n])
            // Every table's slots are prefetched before any is probed: the misses of all of them overlap.
            for t in touches {
                tables[series[Int(t.first)].table].prepareAdvance(batch.subjects, hashes: hashes, withAny: t.bit)
            }
            for t in touches {
                if let second = t.second {
                    seeBoth(batch.subjects, hashes: hashes, withAny: t.bit, at: hour, t.first, second, changes: &changes)
                } else {
                    let start = changes.count
                    see(batch.subjects, hashes: hashes, withAny: t.bit, at: hour, in: t.first, changes: &changes)
                    changes.endRun(series: t.first, hour: hour, from: start)
                }
            }
            return changes
        }
    }

    /// Moves the subjects whose mask has `bit` forward to `hour` in one series (one exclusive
    /// access for the whole batch, one probe per subject), its table prepared (`prepareAdvance`).
    private mutating func see(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bit: UInt64, at hour: UInt32,
                              in id: Int32, changes: inout BatchChanges) {
        // The table and lane only: a copy of the whole series would share its histogram's arrays,
        // and the first count written below would then copy them (they span every hour in use).
        let table = series[Int(id)].table, lane = series[Int(id)].lane
        tables[table].advancePrepared(subjects, hashes: hashes, withAny: bit, to: hour, lanes: (lane, nil)) { key, result, _ in
            if let old = Self.record(result, hour: hour, histogram: &series[Int(id)].histogram) { changes.record(key, old: old) }
        }
    }

    /// `see` for two series sharing a table (prepared), in one probe per subject. The second series' changes
    /// wait in a side buffer (on the stack: at most one per subject) so each series' run stays contiguous.
    private mutating func seeBoth(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bit: UInt64, at hour: UInt32,
                                  _ first: Int32, _ second: Int32, changes: inout BatchChanges) {
        // Table and lanes only (see `see`), and the histograms moved out of the array while both are
        // written, so the two writes are not overlapping accesses to `series` and neither array is shared.
        let table = series[Int(first)].table, laneA = series[Int(first)].lane, laneB = series[Int(second)].lane
        var histogramA = HourHistogram(), histogramB = HourHistogram()
        swap(&histogramA, &series[Int(first)].histogram)
        swap(&histogramB, &series[Int(second)].histogram)
        let start = changes.count
        withUnsafeTemporaryAllocation(of: (key: SubjectKey, old: UInt32).self, capacity: subjects.count) { side in
            var sideCount = 0
            tables[table].advancePrepared(subjects, hashes: hashes, withAny: bit, to: hour, lanes: (laneA, laneB)) { key, ra, rb in
                if let old = Self.record(ra, hour: hour, histogram: &histogramA) { changes.record(key, old: old) }
                if let old = Self.record(rb, hour: hour, histogram: &histogramB) {
                    (side.baseAddress! + sideCount).initialize(to: (key, old))
                    sideCount += 1
                }
            }
            changes.endRun(series: first, hour: hour, from: start)
            let secondStart = changes.count
            changes.append(side[0..<sideCount])
            changes.endRun(series: second, hour: hour, from: secondStart)
        }
        series[Int(first)].histogram = histogramA
        series[Int(second)].histogram = histogramB
    }

    /// Moves `histogram` as `result` says; returns the change's old hour (`BatchChanges.new` for an
    /// insert), or nil when nothing changed.
    @inline(__always)
    private static func record(_ result: SubjectTable.Advance, hour: UInt32, histogram: inout HourHistogram) -> UInt32? {
        switch result {
        case .unchanged:
            return nil
        case .inserted:
            histogram.add(hour)
            return BatchChanges.new
        case .moved(let old):
            histogram.remove(old)
            histogram.add(hour)
            return old
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
            let s = Int(block.series) < series.count ? series[Int(block.series)] : nil
            let table = s.map { tables[$0.table] }
            var keys: [SubjectKey] = []
            for key in block.keys {
                let slot = Slot(series: block.series, key: key)
                let durable: UInt32?
                if let before = durableBefore[slot] {
                    durable = before
                } else {
                    durable = table?.lastSeen(key, lane: s!.lane)
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
            let t = series[s].table, lane = series[s].lane
            for n in run.range.reversed() {
                let key = changes.keys[n], old = changes.old[n]
                series[s].histogram.remove(run.hour)
                if old == BatchChanges.new {
                    tables[t].remove(key, lane: lane)
                } else {
                    tables[t].set(key, hour: old, lane: lane)
                    series[s].histogram.add(old)
                }
            }
        }
    }
}
