import CustomsCore
import CustomsTestSupport
import Foundation
import Logging
@testable import Ledger

let cst = CivilCalendar.chinaStandardTime

func instant(_ iso: String) -> Date {
    let f = ISO8601DateFormatter()
    guard let d = f.date(from: iso) else { fatalError("bad test date \(iso)") }
    return d
}

func subject(_ n: UInt64) -> SubjectKey { SubjectKey(hi: n &* 0x9E37_79B9, lo: n) }

func key(_ scope: CountScope, _ category: Category = .pi, _ window: CountingWindow) -> CountKey {
    CountKey(scope: scope, category: category, window: window)
}

func makeBatch(_ time: Date, _ recipient: String, _ subjects: [UInt64], categories: Set<Category> = [.pi],
               keys: Set<CountKey> = []) -> LedgerBatch {
    LedgerBatch(time: time, recipient: recipient, subjects: subjects.map { (subject($0), categories) },
                keys: keys, calendar: cst)
}

/// A temporary folder holding one ledger file, removed at the end of the test.
final class LedgerFolder {
    let url: URL
    var path: String { url.appendingPathComponent("ledger.sqlite").path }
    init() throws { url = try TestPaths.temporaryDirectory("ledger") }
    deinit { try? FileManager.default.removeItem(at: url) }

    func open(_ options: SQLiteLedger.Options = .init(), logLevel: Logger.Level = .warning) throws -> SQLiteLedger {
        var logger = Logger(label: "customs.ledger.test")
        logger.logLevel = logLevel
        return try SQLiteLedger(path: path, options: options, logger: logger)
    }
}

/// Admits and waits for durability (or the error).
@discardableResult
func admitAndWait(_ ledger: SubjectLedger, _ batch: LedgerBatch,
                  decide: @escaping @Sendable (CountPreview) -> LedgerOutcome = { _ in .commit }) -> Result<CountPreview, LedgerError> {
    let box = ResultBox()
    let done = DispatchSemaphore(value: 0)
    ledger.admit(batch, decide: { preview in (decide(preview), preview) }) { result in
        box.set(result)
        done.signal()
    }
    done.wait()
    return box.result!
}

/// Admits for commit and waits until it is durable; throws the ledger's error.
func commit(_ ledger: SubjectLedger, _ batch: LedgerBatch) throws {
    _ = try admitAndWait(ledger, batch).get()
}

final class ResultBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var value: Result<CountPreview, LedgerError>?
    func set(_ r: Result<CountPreview, LedgerError>) { lock.withLock { value = r } }
    var result: Result<CountPreview, LedgerError>? { lock.withLock { value } }
}
