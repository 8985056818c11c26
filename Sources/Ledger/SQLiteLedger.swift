import CustomsCore
import Dispatch
import Foundation
import Logging

/// The embedded ledger: counts in memory (compact tables rebuilt from the file at start),
/// durability in SQLite with group commit.
///
/// Two serial queues: `stateQueue` owns the counts and the commit pipeline; `writerQueue` owns
/// the SQLite connection. A batch is counted in memory the moment its decision says commit (so
/// the next preview already sees it), and its completion fires once the transaction holding it
/// has been fsync'd. While one transaction is being written the next batches gather, and all of
/// them go in the next one. If a transaction fails, its batches fail and every batch not yet
/// durable is taken back out of memory; the ones after the failed group are counted again and
/// written next (their decisions saw the failed group's subjects, so they erred high, never low).
/// Under load (the last group held more than one batch) a group is also held back until
/// `Options.gatherBatches` batches wait or its first batch has waited `Options.gatherMicroseconds`
/// (1 ms): on issue 6's load that took commits from ~10 to ~25 flows each, 2.4 times fewer fsyncs,
/// −0.4 context switches per flow. A lone flow never waits.
/// Between groups, while no batch waits, the writer cleans the log a chunk at a time (see
/// SQLiteStore), so the file stays within about two stored keys per (series, subject).
///
/// After a transaction the writer settles its group on `stateQueue` itself (`sync`, the one
/// direction queues ever wait in), which on failure undoes every batch not yet durable, and then
/// hands the group's completions to `completionQueue` in one block. So no completion fires before
/// its transaction is durable or before the undo, a group costs one thread hand-off on its way
/// back, and the writer goes straight on to the next group while the completions run.
public final class SQLiteLedger: SubjectLedger, @unchecked Sendable {
    // Every `var` below is confined to `stateQueue`; `store` is used only on `writerQueue` once
    // `init` returns.
    public let path: String
    private let logger: Logger
    private let stateQueue = DispatchQueue(label: "customs.ledger.state")
    private let writerQueue = DispatchQueue(label: "customs.ledger.writer")
    private let completionQueue = DispatchQueue.global(qos: .userInitiated)
    private let store: SQLiteStore
    private let readOnly: Bool
    private let options: Options

    private var state = CountState()
    private var phase = Phase.open
    private var waiting: [Pending] = []
    private var writing: [Pending] = []
    private var writerBusy = false
    private var transactions = 0
    /// Keys stored in the log's blocks (one per entry once cleaned; more when subjects were seen
    /// again later), and the blocks holding them.
    private var logKeys = 0
    private var logBlocks = 0
    /// While a cleaning pass runs: the last rowid it covers (`Int64.max` until its first step).
    private var cleaningThrough: Int64?
    private var nextCleaningAt = 0
    /// Keys the running pass has dropped so far.
    private var passDropped = 0
    /// Cleaning takes at most a quarter of the writer's time unless the log is overdue: a queue
    /// that is empty for a moment between group commits is not an idle ledger.
    private var cleaningAllowedAt = DispatchTime.now()
    private var cleaningTimerArmed = false
    private var admittedSinceCleaning = false
    private var closeWaiters: [DispatchSemaphore] = []
    /// When the oldest waiting batch arrived (nil while none waits), and whether a timer will pump.
    private var waitingSince: DispatchTime?
    private var gatherTimerArmed = false
    /// Batches in the last commit: more than one means flows are arriving together.
    private var lastGroup = 0

    private enum Phase { case open, closing, closed }

    private struct Pending {
        let batch: LedgerBatch
        var changes: BatchChanges
        let finish: @Sendable (LedgerError?) -> Void
    }

    public struct Options: Sendable {
        /// Open an existing ledger only to read counts (no commits, no log cleaning).
        public var readOnly = false
        /// Caps the file at this many SQLite pages; a commit beyond fails like a full disk.
        public var maxPageCount: Int?
        /// Superseded keys in the log tolerated beyond one per entry before the log is cleaned
        /// (while no batch waits; it is cleaned even with batches waiting past three per entry).
        public var cleaningSlack = 100_000
        /// Log keys cleaned per transaction (whole blocks of them): bounds how long a batch can
        /// wait behind one.
        public var cleaningChunk = 8_192
        /// WAL frames (pages) before a background checkpoint copies the WAL into the file; the
        /// writer checkpoints itself at twice this (see `WALCheckpointer`).
        public var checkpointFrames = 16_384
        /// Keep zero-filled space ahead of the WAL (up to about 65 MiB, kept across restarts), so
        /// commits overwrite blocks instead of growing the file (see `WALReserve`).
        public var walReserve = true
        /// Under load (the last commit carried more than one batch), a commit waits for up to this
        /// long after its first batch arrived, or until `gatherBatches` wait, before it starts: fewer,
        /// larger commits, so fewer fsyncs and context switches per flow, for at most this much
        /// latency. A lone flow never waits. 0 turns it off.
        public var gatherMicroseconds = 1_000
        public var gatherBatches = 32
        public init(readOnly: Bool = false, maxPageCount: Int? = nil, cleaningSlack: Int = 100_000, cleaningChunk: Int = 8_192,
                    walReserve: Bool = true, gatherMicroseconds: Int = 1_000, gatherBatches: Int = 32,
                    checkpointFrames: Int = 16_384) {
            self.readOnly = readOnly
            self.maxPageCount = maxPageCount
            self.cleaningSlack = cleaningSlack
            self.cleaningChunk = cleaningChunk
            self.walReserve = walReserve
            self.gatherMicroseconds = gatherMicroseconds
            self.gatherBatches = gatherBatches
            self.checkpointFrames = checkpointFrames
        }
    }

    public convenience init(path: String, logger: Logger) throws(LedgerError) {
        try self.init(path: path, options: Options(), logger: logger)
    }

    /// Opens (or creates) the ledger at `path` and rebuilds the counts from it.
    public init(path: String, options: Options, logger: Logger) throws(LedgerError) {
        self.path = path
        self.logger = logger
        self.readOnly = options.readOnly
        self.options = options
        if options.readOnly && !FileManager.default.fileExists(atPath: path) {
            throw LedgerError(kind: .open, path: path, operation: "open", message: "no such file")
        }
        let started = Date()
        store = try SQLiteStore(path: path, options: .init(readOnly: options.readOnly, maxPageCount: options.maxPageCount,
                                                           walReserve: options.walReserve, checkpointFrames: options.checkpointFrames))
        if let rows = store.migratedRows {
            logger.notice("ledger migrated to format \(SQLiteStore.schemaVersion)", metadata: [
                "path": "\(path)", "from": "1", "rows": "\(rows)",
                "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
            ])
        }
        for (id, key) in try store.loadSeries() { state.restoreSeries(id: id, key: key) }
        let seriesCount = state.series.count
        var state = self.state
        let (keys, blocks) = try store.load { (id, key, hour) throws(LedgerError) in
            guard Int(id) < seriesCount, id >= 0 else {
                throw LedgerError(kind: .format, path: path, operation: "read the log", message: "a sighting names unknown series \(id)")
            }
            state.restore(series: id, key: key, hour: hour)
        }
        self.state = state
        noteStoreTrouble()
        logKeys = keys
        logBlocks = blocks
        logger.info("ledger opened", metadata: [
            "path": "\(path)", "format": "\(store.format)", "series": "\(seriesCount)", "entries": "\(state.subjectEntries)",
            "keys": "\(keys)", "blocks": "\(blocks)",
            "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
        ])
        if !readOnly { stateQueue.async { [self] in pump() } }
    }

    deinit {
        store.close()
    }

    // MARK: SubjectLedger

    public func admit<T: Sendable>(_ batch: LedgerBatch,
                                   decide: @escaping @Sendable (CountPreview) -> (LedgerOutcome, T),
                                   completion: @escaping @Sendable (Result<T, LedgerError>) -> Void) {
        // `sync`: libdispatch runs the block on the caller's thread when the queue is free, so a
        // batch costs no thread hand-off (on a busy core each hand-off was a context switch), and
        // an outcome that needs no write is answered here, before `admit` returns. Nothing on
        // `stateQueue` waits for another queue, and every block on it is short.
        let answer: Result<T, LedgerError>? = stateQueue.sync {
            guard phase == .open else {
                return .failure(readOnly
                    ? LedgerError(kind: .write, path: path, operation: "commit", message: "the ledger is open read-only")
                    : LedgerError.closed(path))
            }
            if readOnly {
                let (outcome, value) = decide(state.preview(batch))
                guard outcome == .commit else { return .success(value) }
                return .failure(LedgerError(kind: .write, path: path, operation: "commit", message: "the ledger is open read-only"))
            }
            let (outcome, value, changes) = state.admit(batch, decide: decide)
            guard outcome == .commit else { return .success(value) }
            admittedSinceCleaning = true
            // Nothing new, and everything it depends on is already durable.
            if changes.isEmpty && waiting.isEmpty && !writerBusy { return .success(value) }
            if waiting.isEmpty { waitingSince = DispatchTime.now() }
            waiting.append(Pending(batch: batch, changes: changes) { error in
                completion(error.map { .failure($0) } ?? .success(value))
            })
            pump()
            return nil
        }
        if let answer { completion(answer) }
    }

    public func preview(_ batch: LedgerBatch) throws(LedgerError) -> CountPreview {
        let result: CountPreview? = stateQueue.sync { phase == .closed ? nil : state.preview(batch) }
        guard let result else { throw LedgerError.closed(path) }
        return result
    }

    public func counts(_ keys: Set<CountKey>, at: Date, calendar: CivilCalendar) -> [CountKey: Int] {
        stateQueue.sync {
            var result: [CountKey: Int] = [:]
            for key in keys { result[key] = state.count(key, at: at, calendar: calendar) }
            return result
        }
    }

    public func allKeys() -> Set<CountKey> {
        stateQueue.sync {
            var keys = Set<CountKey>()
            for s in state.series where state.entries(of: s) > 0 {
                for window in CountingWindow.allCases {
                    keys.insert(CountKey(scope: s.key.scope, category: s.key.category, window: window))
                }
            }
            return keys
        }
    }

    public func close() {
        let done = DispatchSemaphore(value: 0)
        stateQueue.sync {
            switch phase {
            case .closed:
                done.signal()
            case .closing:
                closeWaiters.append(done)
            case .open:
                phase = .closing
                closeWaiters.append(done)
                pump()
            }
        }
        done.wait()
    }

    // MARK: Beyond the protocol

    /// When `subject` was last counted in (scope, category), to the hour; nil if never.
    public func lastSeen(_ subject: SubjectKey, scope: CountScope, category: Category) -> Date? {
        stateQueue.sync {
            state.lastSeen(subject, in: SeriesKey(scope: scope, category: category))
                .map { Date(timeIntervalSince1970: Double($0) * 3600) }
        }
    }

    /// Size figures for operators and benchmarks.
    public struct Statistics: Sendable {
        /// Counted (scope, category) pairs.
        public let series: Int
        /// Subject entries across all series (a subject sent to one recipient in one category is 2).
        public let entries: Int
        /// Bytes held by the in-memory tables and histograms.
        public let memoryBytes: Int
        /// Group-commit transactions (each one fsync) since open.
        public let transactions: Int
        /// Subject keys stored in the log (one per entry once cleaned; more when subjects were seen
        /// again in later hours).
        public let logKeys: Int
        /// Blocks (SQLite rows) holding them: about one per (series, hour) per transaction.
        public let logBlocks: Int
        /// Checkpoints finished off the writer's path since open.
        public let backgroundCheckpoints: Int
    }

    public func statistics() -> Statistics {
        let checkpoints = writerQueue.sync { store.backgroundCheckpoints }
        return stateQueue.sync { Statistics(series: state.series.count, entries: state.subjectEntries,
                                            memoryBytes: state.memoryBytes, transactions: transactions,
                                            logKeys: logKeys, logBlocks: logBlocks, backgroundCheckpoints: checkpoints) }
    }

    // MARK: The writer's jobs (on stateQueue)

    /// Gives the writer its next job if it is free: a cleaning step that cannot wait any longer,
    /// the batches gathered so far, a cleaning step while nothing waits, or closing the file.
    private func pump() {
        guard !writerBusy else { return }
        let entries = state.subjectEntries
        if cleaningThrough == nil && phase == .open && !readOnly
            && logKeys > 2 * entries + options.cleaningSlack && logKeys >= nextCleaningAt {
            cleaningThrough = Int64.max
            passDropped = 0
        }
        let cleaning = cleaningThrough != nil && phase == .open
        if cleaning && logKeys > 4 * entries + 2 * options.cleaningSlack { return startCleaning() }
        if !waiting.isEmpty {
            if phase == .open && options.gatherMicroseconds > 0 && lastGroup > 1 && waiting.count < options.gatherBatches,
               let since = waitingSince {
                let deadline = since + .microseconds(options.gatherMicroseconds)
                if DispatchTime.now() < deadline {
                    if !gatherTimerArmed {
                        gatherTimerArmed = true
                        stateQueue.asyncAfter(deadline: deadline) { [self] in
                            gatherTimerArmed = false
                            pump()
                        }
                    }
                    return
                }
            }
            startWrite()
            if writerBusy { return }
        }
        if cleaning {
            if !admittedSinceCleaning || DispatchTime.now() >= cleaningAllowedAt { return startCleaning() }
            if !cleaningTimerArmed {
                cleaningTimerArmed = true
                stateQueue.asyncAfter(deadline: cleaningAllowedAt) { [self] in
                    cleaningTimerArmed = false
                    pump()
                }
            }
        }
        if phase == .closing { finishClose() }
    }

    private func startWrite() {
        let newSeries = state.unpersistedSeries()
        if newSeries.isEmpty && waiting.allSatisfy({ $0.changes.isEmpty }) {
            // Only batches that added nothing, and what they depend on is durable by now.
            let done = waiting
            waiting = []
            waitingSince = nil
            completionQueue.async { for p in done { p.finish(nil) } }
            return
        }
        writerBusy = true
        writing = waiting
        waiting = []
        waitingSince = nil
        lastGroup = writing.count
        let group = writing
        writerQueue.async { [self] in
            let outcome: Result<Int, LedgerError>
            do throws(LedgerError) {
                outcome = .success(try store.write(series: newSeries, changes: group.map(\.changes)))
            } catch {
                outcome = .failure(error)
            }
            noteStoreTrouble()
            stateQueue.sync { finishWrite(newSeries: newSeries.map(\.id), outcome: outcome) }
            let failure: LedgerError?
            if case .failure(let error) = outcome { failure = error } else { failure = nil }
            completionQueue.async { for p in group { p.finish(failure) } }
        }
    }

    /// Settles the group just written (on `stateQueue`, called by the writer before it hands on the
    /// group's completions): after a failure, every batch not yet durable leaves memory here.
    private func finishWrite(newSeries: [Int32], outcome: Result<Int, LedgerError>) {
        let done = writing
        writing = []
        writerBusy = false
        switch outcome {
        case .failure(let failure):
            logger.error("ledger commit failed; its flows are refused", metadata: [
                "path": "\(path)", "batches": "\(done.count)", "error": "\(failure)",
            ])
            for p in waiting.reversed() { state.undo(p.changes) }
            for p in done.reversed() { state.undo(p.changes) }
            for i in waiting.indices { waiting[i].changes = state.apply(waiting[i].batch) }
        case .success(let blocks):
            state.markPersisted(newSeries)
            transactions += 1
            logKeys += done.reduce(0) { $0 + $1.changes.count }
            logBlocks += blocks
        }
        pump()
    }

    /// On the writer queue (or in `init`): the WAL's reserve or a background checkpoint failing
    /// costs speed, not data.
    private func noteStoreTrouble() {
        if let error = store.takeReserveFailure() {
            logger.warning("ledger WAL reserve stopped; commits grow the WAL instead", metadata: [
                "path": "\(path)", "error": "\(error)",
            ])
        }
        if let error = store.takeCheckpointFailure() {
            logger.warning("ledger background checkpoint failed; the writer checkpoints when the WAL is twice as long", metadata: [
                "path": "\(path)", "error": "\(error)",
            ])
        }
    }

    private struct CleaningStep: Sendable {
        var removed = 0
        var kept = 0
        var blocksRemoved = 0
        var blocksKept = 0
        var through: Int64 = 0
        var passDone = true
    }

    /// One step of a cleaning pass: read a chunk of blocks off the log's head, keep the keys that
    /// still carry a durable last-seen hour, and swap them in (the writer is reserved, so durable
    /// state cannot change in between; only batches counted in memory can, and `liveKeys` sees
    /// through them).
    private func startCleaning() {
        writerBusy = true
        admittedSinceCleaning = false
        let limit = options.cleaningChunk
        let through = cleaningThrough ?? Int64.max
        let started = DispatchTime.now()
        writerQueue.async { [self] in
            let result: Result<CleaningStep, LedgerError>
            do throws(LedgerError) {
                var step = CleaningStep()
                if let extent = try store.logExtent() {
                    step.through = min(through, extent.last)
                    let blocks = try store.head(keys: limit, through: step.through)
                    if let last = blocks.last {
                        let live = stateQueue.sync { state.liveKeys(blocks, pending: waiting.map(\.changes)) }
                        let appended = try store.replaceHead(through: last.rowid, keeping: live)
                        step = CleaningStep(removed: blocks.reduce(0) { $0 + $1.keys.count }, kept: live.reduce(0) { $0 + $1.keys.count },
                                            blocksRemoved: blocks.count, blocksKept: appended,
                                            through: step.through, passDone: last.rowid >= step.through)
                    }
                }
                result = .success(step)
            } catch {
                result = .failure(error)
            }
            noteStoreTrouble()
            stateQueue.sync {
                let took = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
                cleaningAllowedAt = DispatchTime.now() + .nanoseconds(Int(min(took * 3, 1_000_000_000)))
                finishCleaning(result)
            }
        }
    }

    private func finishCleaning(_ result: Result<CleaningStep, LedgerError>) {
        writerBusy = false
        switch result {
        case .success(let step):
            logKeys += step.kept - step.removed
            logBlocks += step.blocksKept - step.blocksRemoved
            cleaningThrough = step.passDone ? nil : step.through
            passDropped += step.removed - step.kept
            // A pass covers the log as it was when it began. If it dropped much, what was appended
            // meanwhile may hold as much again (it is cleaned next, as soon as it is over the bound);
            // a pass that found little to drop should not start again at once.
            if step.passDone { nextCleaningAt = passDropped >= options.cleaningSlack ? 0 : logKeys + options.cleaningSlack }
        case .failure(let error):
            // The log is as it was (one transaction); try again once it has grown.
            logger.warning("ledger log cleaning failed", metadata: ["path": "\(path)", "error": "\(error)"])
            cleaningThrough = nil
            nextCleaningAt = logKeys + options.cleaningSlack
        }
        pump()
    }

    private func finishClose() {
        phase = .closed
        let waiters = closeWaiters
        closeWaiters = []
        writerQueue.async { [store] in
            store.close()
            for w in waiters { w.signal() }
        }
    }
}
