// LedgerBench: durable new subjects per second with group commit, membership checks per second,
// memory per million subjects, and plain SQLite inserts of the same rows measured in the same run.
//
//   LedgerBench write  [--subjects N] [--producers P] [--batch B] [--categories C] [--recipients R] [--dir DIR]
//                      [--ledger-only] (skip plain SQLite) [--no-wal-reserve] (commits grow the WAL)
//                      [--no-gather] (commits never wait for more batches)
//                      [--history-hours H] (first, one person per series in each of the H hours before:
//                      every series' hour histogram spans H hours, as after H hours of uptime)
//   LedgerBench reopen --dir DIR        (rebuild time and resident memory in a fresh process)
//   LedgerBench clean  [--subjects N] [--rounds R] [--dir DIR]   (the same subjects seen again hourly)
//   LedgerBench membership [--subjects N] [--lookups M]
import CSQLite
import CustomsCore
import Foundation
import Ledger
import Logging

extension SplitMix64 {
    mutating func key() -> SubjectKey { SubjectKey(hi: next(), lo: next()) }
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The process's CPU time and context switches so far.
struct Usage {
    var user: Double
    var system: Double
    var voluntarySwitches: Int
    var involuntarySwitches: Int

    init() {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        voluntarySwitches = usage.ru_nvcsw
        involuntarySwitches = usage.ru_nivcsw
    }

    private init(user: Double, system: Double, voluntarySwitches: Int, involuntarySwitches: Int) {
        self.user = user
        self.system = system
        self.voluntarySwitches = voluntarySwitches
        self.involuntarySwitches = involuntarySwitches
    }

    static func - (a: Usage, b: Usage) -> Usage {
        Usage(user: a.user - b.user, system: a.system - b.system, voluntarySwitches: a.voluntarySwitches - b.voluntarySwitches,
              involuntarySwitches: a.involuntarySwitches - b.involuntarySwitches)
    }
}

/// CPU time of the calling thread: on a shared 2-core machine, wall time also counts waiting for a core.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func flag(_ name: String) -> Bool { CommandLine.arguments.contains(name) }

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

func stringOption(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func fmt(_ x: Double) -> String {
    x >= 100 ? String(format: "%.0f", x) : String(format: "%.2f", x)
}

func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

enum Bench {
    static let hour = Date(timeIntervalSince1970: 1_780_000_000)
    static var logger: Logger {
        var logger = Logger(label: "customs.ledger.bench")
        logger.logLevel = .warning
        return logger
    }
}

/// Keys for producer p's batch b, reproducible from the seed.
/// The one person `--history-hours` counts for `recipient` in the `hour`-th hour back.
func historyKey(recipient: Int, hour: Int) -> SubjectKey {
    SubjectKey(hi: 0xB15 << 32 | UInt64(recipient), lo: UInt64(hour))
}

func batchKeys(seed: UInt64, count: Int) -> [SubjectKey] {
    var rng = SplitMix64(state: seed)
    return (0..<count).map { _ in rng.key() }
}

// MARK: Group commit through SQLiteLedger

/// New people in every batch, each counted in `categories` categories (company and recipient
/// series for each, as the gateway counts a body with several kinds of PI), spread over
/// `recipients` recipients (the first of a category shares the company's table; see CountState).
func benchWrite(dir: String, subjects: Int, producers: Int, batchSize: Int, categories: Int, recipients: Int) throws {
    let path = dir + "/ledger.sqlite"
    let rss0 = residentBytes()
    let options = SQLiteLedger.Options(walReserve: !flag("--no-wal-reserve"), gatherMicroseconds: flag("--no-gather") ? 0 : 1_000)
    let ledger = try SQLiteLedger(path: path, options: options, logger: Bench.logger)
    let batchesPerProducer = subjects / (producers * batchSize)
    let total = batchesPerProducer * producers * batchSize
    // Build every batch first so the timing covers the ledger only.
    var work: [[LedgerBatch]] = []
    for p in 0..<producers {
        work.append((0..<batchesPerProducer).map { b in
            let keys = batchKeys(seed: UInt64(p * 1_000_003 + b), count: batchSize)
            let counted = Set((0..<categories).map { $0 == 0 ? Category.pi : Category("c\($0)") })
            return LedgerBatch(time: Bench.hour, recipient: "r\(p % recipients)", subjects: keys.map { ($0, counted) },
                               keys: [CountKey(scope: .company, category: .pi, window: .calendarYear)],
                               calendar: .chinaStandardTime)
        })
    }
    let history = option("--history-hours", 0)
    if history > 0 {
        // One producer per recipient, so each recipient's series (and the company's) span the hours.
        let past = (0..<recipients).map { r in
            (1...history).reversed().map { h in
                LedgerBatch(time: Bench.hour.addingTimeInterval(-3600 * Double(h)), recipient: "r\(r)",
                            subjects: [(historyKey(recipient: r, hour: h), [Category.pi])],
                            keys: [CountKey(scope: .company, category: .pi, window: .calendarYear)], calendar: .chinaStandardTime)
            }
        }
        let took = runProducers(ledger, past)
        print("history: \(history) hours for \(recipients) recipients written in \(fmt(took)) s")
    }
    let usage0 = Usage()
    let seconds = runProducers(ledger, work)
    let usage = Usage() - usage0
    let cpu = usage.user + usage.system
    let stats = ledger.statistics()
    let rss1 = residentBytes()
    ledger.close()
    func size(_ file: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0 }
    // The WAL is kept across closes (with its reserve): the file's size is what the log takes.
    let fileBytes = size(path)
    print("group commit: \(total) new subjects in \(categories) categories for \(recipients) recipients (\(stats.entries) entries: company + recipient per category) from \(producers) producers in batches of \(batchSize)")
    print("  \(fmt(seconds)) s, \(fmt(Double(total) / seconds)) durable subjects/s, \(fmt(Double(stats.entries) / seconds)) entries/s, \(stats.transactions) transactions (\(fmt(Double(total / batchSize) / Double(stats.transactions))) batches per fsync), \(stats.logBlocks) log blocks")
    print("  process CPU \(fmt(cpu)) s: \(fmt(cpu * 1e9 / Double(total))) ns per subject, \(fmt(cpu * 1e9 / Double(stats.entries))) ns per entry")
    let commits = Double(max(stats.transactions, 1))
    print("  per transaction: user \(fmt(usage.user * 1e6 / commits)) µs, system \(fmt(usage.system * 1e6 / commits)) µs, \(fmt(Double(usage.voluntarySwitches) / commits)) voluntary + \(fmt(Double(usage.involuntarySwitches) / commits)) involuntary context switches")
    print("  ledger file after close: \(mib(fileBytes)), \(fmt(Double(fileBytes) / Double(stats.entries))) bytes per entry; WAL \(mib(size(path + "-wal")))")
    print("  in-memory index: \(mib(stats.memoryBytes)), \(fmt(Double(stats.memoryBytes) / Double(total))) bytes per subject (\(fmt(Double(stats.memoryBytes) / Double(stats.entries))) per entry); process RSS grew \(mib(rss1 - rss0))")

    guard categories == 1 && !flag("--ledger-only") else { return }
    try benchPlainInsert(dir: dir, work: work)
    try benchPerBatchCommit(dir: dir, work: work)
}

/// One thread per producer, each waiting on its own commits, like flows waiting to be forwarded.
func runProducers(_ ledger: SQLiteLedger, _ work: [[LedgerBatch]]) -> Double {
    let group = DispatchGroup()
    let start = DispatchTime.now()
    for batches in work {
        group.enter()
        let thread = Thread {
            let done = DispatchSemaphore(value: 0)
            for batch in batches {
                ledger.admit(batch, decide: { _ in (.commit, 0) }) { result in
                    if case .failure(let e) = result { fatalError("\(e)") }
                    done.signal()
                }
                done.wait()
            }
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

// MARK: Log cleaning

/// The same subjects seen again hour after hour: every round supersedes the last round's rows,
/// and the cleaner must keep the file near two rows per entry while commits go on.
func benchCleaning(dir: String, subjects: Int, rounds: Int, producers: Int, batchSize: Int) throws {
    let ledger = try SQLiteLedger(path: dir + "/revisit.sqlite", logger: Bench.logger)
    var written = 0
    var seconds = 0.0
    for round in 0..<rounds {
        let time = Bench.hour.addingTimeInterval(Double(round) * 3600)
        let perProducer = subjects / (producers * batchSize)
        let work = (0..<producers).map { p in
            (0..<perProducer).map { b in
                LedgerBatch(time: time, recipient: "r\(p % 4)",
                            subjects: batchKeys(seed: UInt64(p * 1_000_003 + b), count: batchSize).map { ($0, [Category.pi]) },
                            keys: [], calendar: .chinaStandardTime)
            }
        }
        seconds += runProducers(ledger, work)
        written += producers * perProducer * batchSize * 2
    }
    let stats = ledger.statistics()
    let bound = 2 * stats.entries + SQLiteLedger.Options().cleaningSlack
    let cleanStart = DispatchTime.now()
    // The cleaner restarts only once the log has grown by the slack since its last pass, so the
    // bound is not guaranteed to be reached: give up after a while.
    while ledger.statistics().logKeys > bound && DispatchTime.now().uptimeNanoseconds - cleanStart.uptimeNanoseconds < 20_000_000_000 {
        usleep(2_000)
    }
    let cleanSeconds = Double(DispatchTime.now().uptimeNanoseconds - cleanStart.uptimeNanoseconds) / 1e9
    let after = ledger.statistics().logKeys
    ledger.close()
    print("revisits: \(rounds) rounds of the same \(stats.entries / 2) subjects an hour apart: \(written) sightings written in \(fmt(seconds)) s (\(fmt(Double(written) / seconds)) durable rows/s with the cleaner running)")
    print("  log keys at the end of the writes \(stats.logKeys) (in \(stats.logBlocks) blocks), \(after) after \(fmt(cleanSeconds)) s more cleaning (bound 2 per entry + slack = \(bound); \(stats.entries) entries)")
}

// MARK: Baselines: plain SQLite

func openPlain(_ path: String) -> OpaquePointer? {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { fatalError("open \(path)") }
    for sql in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                "CREATE TABLE sightings(series INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL, hour INTEGER NOT NULL)"] {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { fatalError(String(cString: sqlite3_errmsg(db))) }
    }
    return db
}

func insertRows(_ db: OpaquePointer?, _ stmt: OpaquePointer?, _ batch: LedgerBatch, recipientSeries: Int32) {
    let h = Int64(batch.time.timeIntervalSince1970 / 3600)
    for s in batch.subjects {
        for series in [Int32(0), recipientSeries] {
            sqlite3_bind_int(stmt, 1, series)
            sqlite3_bind_int64(stmt, 2, Int64(bitPattern: s.key.hi))
            sqlite3_bind_int64(stmt, 3, Int64(bitPattern: s.key.lo))
            sqlite3_bind_int64(stmt, 4, h)
            guard sqlite3_step(stmt) == SQLITE_DONE else { fatalError(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(stmt)
        }
    }
}

/// The same rows, one prepared INSERT each, all in one transaction with one commit.
func benchPlainInsert(dir: String, work: [[LedgerBatch]]) throws {
    let db = openPlain(dir + "/plain.sqlite")
    defer { sqlite3_close(db) }
    var stmt: OpaquePointer?
    sqlite3_prepare_v2(db, "INSERT INTO sightings VALUES (?, ?, ?, ?)", -1, &stmt, nil)
    defer { sqlite3_finalize(stmt) }
    let start = DispatchTime.now()
    sqlite3_exec(db, "BEGIN", nil, nil, nil)
    var subjects = 0
    for (p, batches) in work.enumerated() {
        for batch in batches {
            insertRows(db, stmt, batch, recipientSeries: Int32(1 + p % 16))
            subjects += batch.subjects.count
        }
    }
    sqlite3_exec(db, "COMMIT", nil, nil, nil)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print("plain SQLite, one transaction: \(subjects) subjects (\(2 * subjects) rows) in \(fmt(seconds)) s, \(fmt(Double(subjects) / seconds)) subjects/s, \(fmt(Double(2 * subjects) / seconds)) rows/s")
}

/// The same batches with one transaction (one fsync) each: what group commit saves. A sample only.
func benchPerBatchCommit(dir: String, work: [[LedgerBatch]]) throws {
    let db = openPlain(dir + "/perbatch.sqlite")
    defer { sqlite3_close(db) }
    var stmt: OpaquePointer?
    sqlite3_prepare_v2(db, "INSERT INTO sightings VALUES (?, ?, ?, ?)", -1, &stmt, nil)
    defer { sqlite3_finalize(stmt) }
    let sample = work.flatMap { $0.prefix(8) }.prefix(500)
    let start = DispatchTime.now()
    var subjects = 0
    for batch in sample {
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        insertRows(db, stmt, batch, recipientSeries: 1)
        sqlite3_exec(db, "COMMIT", nil, nil, nil)
        subjects += batch.subjects.count
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    print("plain SQLite, one transaction per batch (\(sample.count) batches): \(fmt(Double(subjects) / seconds)) subjects/s, \(fmt(Double(sample.count) / seconds)) commits/s")
}

// MARK: Rebuild at start

func benchReopen(dir: String) throws {
    let rss0 = residentBytes()
    let start = DispatchTime.now()
    // Read-only, so the background log merge does not run during these measurements.
    let ledger = try SQLiteLedger(path: dir + "/ledger.sqlite", options: .init(readOnly: true), logger: Bench.logger)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let rss1 = residentBytes()
    let stats = ledger.statistics()
    let subjects = ledger.counts([CountKey(scope: .company, category: .pi, window: .unbounded)], at: Bench.hour,
                                 calendar: .chinaStandardTime).values.first ?? 0
    // Previews through the public API (queue hop included): 50 subjects per batch, 4 keys each.
    let keys: Set<CountKey> = [CountKey(scope: .company, category: .pi, window: .calendarYear),
                               CountKey(scope: .company, category: .pi, window: .rolling12Months),
                               CountKey(scope: .recipient("r3"), category: .pi, window: .calendarYear),
                               CountKey(scope: .recipient("r3"), category: .pi, window: .rolling12Months)]
    let previews = (0..<2_000).map { b in
        LedgerBatch(time: Bench.hour, recipient: "r3", subjects: batchKeys(seed: UInt64(b), count: 50).map { ($0, [Category.pi]) },
                    keys: keys, calendar: .chinaStandardTime)
    }
    let previewStart = DispatchTime.now()
    var added = 0
    for _ in 0..<5 {
        for batch in previews { added += try ledger.preview(batch).values.reduce(0) { $0 + $1.added } }
    }
    let previewSeconds = Double(DispatchTime.now().uptimeNanoseconds - previewStart.uptimeNanoseconds) / 1e9
    ledger.close()
    print("preview: \(5 * previews.count) previews of 50 subjects × 4 keys in \(fmt(previewSeconds)) s: \(fmt(Double(5 * previews.count) / previewSeconds)) previews/s, \(fmt(Double(5 * previews.count * 50) / previewSeconds)) subjects checked/s (sum of added \(added))")
    print("reopen: rebuilt \(stats.entries) entries (\(subjects) subjects) in \(fmt(seconds)) s (\(fmt(Double(stats.entries) / seconds)) entries/s)")
    print("  resident memory grew \(mib(rss1 - rss0)): \(mib((rss1 - rss0) * 1_000_000 / max(subjects, 1))) per million subjects (index alone \(mib(stats.memoryBytes * 1_000_000 / max(subjects, 1))))")

}

// MARK: Membership

func benchMembership(subjects: Int, lookups: Int) {
    var table = SubjectTable()
    var rng = SplitMix64(state: 42)
    let present = (0..<subjects).map { _ in rng.key() }
    // The slowest insert is the last doubling: it rehashes every entry while the state queue waits.
    var slowest: UInt64 = 0
    for k in present {
        let t0 = DispatchTime.now().uptimeNanoseconds
        table.set(k, hour: 500_000)
        slowest = max(slowest, DispatchTime.now().uptimeNanoseconds - t0)
    }
    let absent = (0..<subjects).map { _ in rng.key() }
    // Probe in a scrambled order so the cache sees what a gateway would.
    var probes: [SubjectKey] = []
    probes.reserveCapacity(1 << 20)
    var pick = SplitMix64(state: 7)
    for i in 0..<(1 << 20) { probes.append(i & 1 == 0 ? present[Int(pick.next() % UInt64(subjects))] : absent[Int(pick.next() % UInt64(subjects))]) }
    var hits = 0
    let cpu0 = threadCPUSeconds()
    let start = DispatchTime.now()
    var done = 0
    while done < lookups {
        for k in probes where table.lastSeen(k) != nil { hits += 1 }
        done += probes.count
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let cpu = threadCPUSeconds() - cpu0
    print("membership: \(done) lookups (half present) in a table of \(subjects) in \(fmt(seconds)) s: \(fmt(Double(done) / seconds)) checks/s wall, \(fmt(Double(done) / cpu)) per CPU-second (hits \(hits)); table \(mib(table.memoryBytes)), \(fmt(Double(table.memoryBytes) / Double(subjects))) bytes per subject")
    print("  filling it: slowest insert (the last doubling) \(fmt(Double(slowest) / 1e6)) ms")
}

let mode = CommandLine.arguments.dropFirst().first ?? "write"
let dir = stringOption("--dir") ?? NSTemporaryDirectory() + "ledgerbench-\(getpid())"
try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
switch mode {
case "write":
    try benchWrite(dir: dir, subjects: option("--subjects", 1_000_000), producers: option("--producers", 64),
                   batchSize: option("--batch", 50), categories: option("--categories", 1), recipients: option("--recipients", 16))
case "reopen":
    try benchReopen(dir: dir)
case "clean":
    try benchCleaning(dir: dir, subjects: option("--subjects", 200_000), rounds: option("--rounds", 5),
                      producers: option("--producers", 64), batchSize: option("--batch", 50))
case "membership":
    benchMembership(subjects: option("--subjects", 1_000_000), lookups: option("--lookups", 50_000_000))
default:
    FileHandle.standardError.write(Data("usage: LedgerBench write|reopen|clean|membership [--subjects N] [--producers P] [--batch B] [--categories C] [--recipients R] [--dir DIR] [--ledger-only] [--no-wal-reserve] [--no-gather]\n".utf8))
    exit(2)
}
