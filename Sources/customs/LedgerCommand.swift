import ArgumentParser
import CustomsCore
import Dispatch
import Foundation
import Ledger
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Show distinct counts per recipient, category and window.",
        subcommands: [LedgerStatusCommand.self, LedgerCountsCommand.self, LedgerDrillCommand.self]
    )
}

/// `customs ledger counts`: every (scope, category, window) count, straight from a ledger file.
struct LedgerCountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counts",
        abstract: "Print every distinct count held in a ledger file.",
        discussion: """
        Reads the ledger read-only (safe while the gateway runs) and prints, for the company and \
        each recipient, per category, the distinct subjects inside each window ending at --at. \
        Windows roll over at midnight in --utc-offset (China: +08:00). The ledger keeps each \
        subject's last-seen time, so counts are exact for --at now or later (e.g. to see what rolls \
        off on 1 January); for an earlier --at they also include subjects seen after it.
        """
    )

    @Option(name: .long, help: "The ledger file (the gateway's state folder holds it).")
    var db: String

    @Option(name: .long, help: ArgumentHelp(
        "The moment the windows end: 2026-03-01T12:00:00+08:00, 2026-03-01T12:00:00 (in --utc-offset), or 2026-03-01 (the end of that day).",
        valueName: "date"))
    var at: String?

    @Option(name: .customLong("utc-offset"), help: ArgumentHelp("The offset in which dates roll over, e.g. +08:00 or Z.", valueName: "offset"))
    var utcOffset = "+08:00"

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard let offset = CivilTimeParser.offsetSeconds(utcOffset) else {
            throw ValidationError("--utc-offset '\(utcOffset)' is not an offset like +08:00, -05:00 or Z")
        }
        let calendar = CivilCalendar(utcOffsetSeconds: offset)
        var moment = Date()
        if let at {
            guard let parsed = CivilTimeParser.moment(at, calendar: calendar) else {
                throw ValidationError("--at '\(at)' is not a date (2026-03-01), a civil time (2026-03-01T12:00:00) or an instant with an offset")
            }
            moment = parsed
        }
        var logger = Logger(label: "customs.ledger")
        logger.logLevel = .warning
        let ledger = try SQLiteLedger(path: db, options: .init(readOnly: true), logger: logger)
        defer { ledger.close() }
        let counts = ledger.allCounts(at: moment, calendar: calendar)
        let stats = ledger.statistics()
        let atText = CivilTimeParser.format(moment, calendar: calendar)
        var series: [CountScope: [Category: [CountingWindow: Int]]] = [:]
        for (key, n) in counts { series[key.scope, default: [:]][key.category, default: [:]][key.window] = n }
        let rows = series.keys.sorted().flatMap { scope in
            series[scope]!.keys.sorted().map { (scope, $0, series[scope]![$0]!) }
        }

        if json {
            struct Row: Encodable {
                let scope: String
                let recipient: String?
                let category: String
                let window: String
                let count: Int

                private enum Keys: String, CodingKey { case scope, recipient, category, window, count }

                // `recipient` is written as null for the company, so every row has the same keys.
                func encode(to encoder: Encoder) throws {
                    var c = encoder.container(keyedBy: Keys.self)
                    try c.encode(scope, forKey: .scope)
                    try c.encode(recipient, forKey: .recipient)
                    try c.encode(category, forKey: .category)
                    try c.encode(window, forKey: .window)
                    try c.encode(count, forKey: .count)
                }
            }
            struct Output: Encodable {
                let db: String
                let at: String
                let utc_offset: String
                let entries: Int
                let counts: [Row]
            }
            var out: [Row] = []
            for (scope, category, windows) in rows {
                for window in CountingWindow.allCases {
                    let recipient: String?
                    switch scope {
                    case .company: recipient = nil
                    case .recipient(let id): recipient = id
                    }
                    out.append(Row(scope: scope == .company ? "company" : "recipient", recipient: recipient,
                                   category: category.name, window: window.rawValue, count: windows[window] ?? 0))
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(Output(db: db, at: atText, utc_offset: CivilTimeParser.formatOffset(offset),
                                                 entries: stats.entries, counts: out))
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            return
        }

        print("ledger \(db) at \(atText): \(rows.count) series, \(stats.entries) subject entries")
        if rows.isEmpty { return }
        let header = ["scope", "category"] + CountingWindow.allCases.map(\.rawValue)
        var table = [header]
        for (scope, category, windows) in rows {
            table.append([scope.description, category.name] + CountingWindow.allCases.map { String(windows[$0] ?? 0) })
        }
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        for row in table {
            let cells = row.indices.map { c in
                c < 2 ? row[c].padding(toLength: widths[c], withPad: " ", startingAt: 0)
                      : String(repeating: " ", count: widths[c] - row[c].count) + row[c]
            }
            print(cells.joined(separator: "  "))
        }
    }
}

/// Parsing and printing dates in a fixed UTC offset.
enum CivilTimeParser {
    static func offsetSeconds(_ text: String) -> Int? {
        if text == "Z" || text == "z" || text == "UTC" { return 0 }
        let u = Array(text.utf8)
        guard u.count == 6 || u.count == 3, u[0] == UInt8(ascii: "+") || u[0] == UInt8(ascii: "-") else { return nil }
        let sign = u[0] == UInt8(ascii: "-") ? -1 : 1
        guard let h = Int(String(decoding: u[1..<3], as: UTF8.self)), h <= 14 else { return nil }
        var m = 0
        if u.count == 6 {
            guard u[3] == UInt8(ascii: ":"), let mm = Int(String(decoding: u[4..<6], as: UTF8.self)), mm < 60 else { return nil }
            m = mm
        }
        return sign * (h * 3600 + m * 60)
    }

    static func formatOffset(_ seconds: Int) -> String {
        if seconds == 0 { return "Z" }
        let a = abs(seconds)
        return (seconds < 0 ? "-" : "+") + String(format: "%02d:%02d", a / 3600, (a % 3600) / 60)
    }

    static func moment(_ text: String, calendar: CivilCalendar) -> Date? {
        let zone = TimeZone(secondsFromGMT: calendar.utcOffsetSeconds)
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = zone
        local.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        if let d = local.date(from: text) { return d }
        local.dateFormat = "yyyy-MM-dd"
        // A bare date means "as of that day": its last second.
        if let d = local.date(from: text) { return d.addingTimeInterval(86_399) }
        return nil
    }

    static func format(_ date: Date, calendar: CivilCalendar) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(secondsFromGMT: calendar.utcOffsetSeconds)
        return f.string(from: date)
    }
}

/// A crash drill for tests: commits numbered batches from several producers and prints
/// `durable <n>` once batch n's completion fired, so a test can SIGKILL it at any moment and
/// check that every printed batch survived. Batch n holds subjects (n, 0..<size) to recipient
/// r(n % 4); with `--revisit k` it holds subjects (n % k, 0..<size) seen at hour n after
/// 2026-01-01T00:00Z instead, so subjects come back later and the log needs cleaning.
struct LedgerDrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill", abstract: "Commit numbered batches and report each once durable (crash tests).",
        shouldDisplay: false)

    @Option var db: String
    @Option var first = 0
    @Option var batches = 1_000
    @Option var producers = 8
    @Option var size = 20
    @Option var revisit = 0
    @Option(name: .customLong("cleaning-slack")) var cleaningSlack = 100_000

    func run() throws {
        var logger = Logger(label: "customs.ledger")
        logger.logLevel = .warning
        let ledger = try SQLiteLedger(path: db, options: .init(cleaningSlack: cleaningSlack, cleaningChunk: 2_000),
                                      logger: logger)
        let out = LineWriter()
        let perProducer = (batches + producers - 1) / producers
        let (first, batches, size, revisit) = (first, batches, size, revisit)
        let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        DispatchQueue.concurrentPerform(iterations: producers) { p in
            for i in 0..<perProducer {
                let n = first + p * perProducer + i
                guard n < first + batches else { return }
                let hi = UInt64(revisit > 0 ? n % revisit : n)
                let subjects = (0..<size).map { (key: SubjectKey(hi: hi, lo: UInt64($0)), categories: Set<Category>([.pi])) }
                let time = revisit > 0 ? start.addingTimeInterval(Double(n) * 3600) : Date()
                let batch = LedgerBatch(time: time, recipient: "r\(n % 4)", subjects: subjects, keys: [],
                                        calendar: .chinaStandardTime)
                let done = DispatchSemaphore(value: 0)
                ledger.admit(batch, decide: { _ in (.commit, n) }) { result in
                    switch result {
                    case .success(let n): out.line("durable \(n)")
                    case .failure(let e): out.line("failed \(n) \(e)")
                    }
                    done.signal()
                }
                done.wait()
            }
        }
        ledger.close()
    }
}

/// Writes whole lines straight to fd 1 (no buffering, so a SIGKILL loses none that returned).
final class LineWriter: @unchecked Sendable {
    // The lock keeps lines from interleaving.
    private let lock = NSLock()
    func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        lock.withLock {
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                off += n
            }
        }
    }
}
