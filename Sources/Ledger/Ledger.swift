import CustomsCore
import Foundation

/// One flow's subjects, as the ledger sees them: who went where, when, and which counters the
/// policy wants previewed. A subject's categories are a bit mask over the batch's `categories`,
/// so counting a batch builds no set per subject and compares no category names.
public struct LedgerBatch: Sendable {
    /// The flow's time; every window ends here.
    public let time: Date
    /// The recipient id the flow goes to.
    public let recipient: String
    /// The categories the subjects count in: bit `i` of a subject's mask stands for `categories[i]`.
    public let categories: [Category]
    /// Distinct subject keys, each with the categories it counts in for this flow. (A key listed
    /// twice is previewed twice, an over-count; it is stored once.)
    public let subjects: [LedgerSubject]
    /// The counters the policy wants before/after figures for.
    public let keys: Set<CountKey>
    /// The civil calendar the windows roll over in (China: +08:00).
    public let calendar: CivilCalendar

    /// At most 64 categories: the masks are 64 bits wide.
    public static let maximumCategories = 64

    public init(time: Date, recipient: String, categories: [Category], subjects: [LedgerSubject],
                keys: Set<CountKey>, calendar: CivilCalendar) {
        precondition(categories.count <= Self.maximumCategories, "a ledger batch carries at most 64 categories")
        self.time = time
        self.recipient = recipient
        self.categories = categories
        self.subjects = subjects
        self.keys = keys
        self.calendar = calendar
    }

    /// The same from a set of categories per subject (tools and tests).
    public init(time: Date, recipient: String, subjects: [(key: SubjectKey, categories: Set<Category>)],
                keys: Set<CountKey>, calendar: CivilCalendar) {
        var categories: [Category] = []
        let masked = subjects.map { s -> LedgerSubject in
            var mask: UInt64 = 0
            for c in s.categories {
                let i = categories.firstIndex(of: c) ?? { categories.append(c); return categories.count - 1 }()
                precondition(i < Self.maximumCategories, "a ledger batch carries at most 64 categories")
                mask |= 1 << UInt64(i)
            }
            return LedgerSubject(key: s.key, categories: mask)
        }
        self.init(time: time, recipient: recipient, categories: categories, subjects: masked, keys: keys, calendar: calendar)
    }
}

/// One subject of a batch: its key and the batch categories it counts in (bit `i`: `categories[i]`).
public struct LedgerSubject: Sendable, Hashable {
    public let key: SubjectKey
    public let categories: UInt64
    public init(key: SubjectKey, categories: UInt64) {
        self.key = key
        self.categories = categories
    }
}

/// What the caller's decision does with a previewed batch.
public enum LedgerOutcome: Sendable, Hashable {
    /// The flow goes out: make its subjects durable before it is forwarded.
    case commit
    /// The flow is blocked: nothing is counted.
    case discard
}

/// A durable distinct-subject counter. The protocol carries no storage types, so a shared
/// backend (PostgreSQL) can stand in for the embedded one without touching callers.
public protocol SubjectLedger: AnyObject, Sendable {
    /// Atomically: compute the preview (before/after for every key in `batch.keys`), call `decide`
    /// (a pure, fast function) on the ledger's serial queue, and if it returns `.commit`, make the
    /// batch durable. `completion` runs (on any queue) only once the commit is durable (group
    /// commit: many batches share one transaction and one fsync), or at once for `.discard` and for
    /// a batch that adds nothing not yet durable — then possibly on the caller's thread, before
    /// `admit` returns.
    /// Previews and commits are serialised, so two flows can never both slip under a line.
    /// `decide` runs on the ledger's queue: it must not call back into the ledger.
    func admit<T: Sendable>(_ batch: LedgerBatch,
                            decide: @escaping @Sendable (CountPreview) -> (LedgerOutcome, T),
                            completion: @escaping @Sendable (Result<T, LedgerError>) -> Void)

    /// Read-only preview: the counts before and after for `batch.keys` if the batch were committed.
    /// It sees every batch already admitted for commit, durable or not yet.
    func preview(_ batch: LedgerBatch) throws(LedgerError) -> CountPreview

    /// Distinct counts for `keys` in windows ending at `at`.
    func counts(_ keys: Set<CountKey>, at: Date, calendar: CivilCalendar) -> [CountKey: Int]

    /// Every (scope, category) holding at least one subject, in every `CountingWindow`.
    func allKeys() -> Set<CountKey>

    /// Waits for the commits in flight, then releases the storage. Later calls fail with `.closed`.
    func close()
}

extension SubjectLedger {
    /// Every known counter's count at `at` (what `customs ledger status` shows).
    public func allCounts(at: Date, calendar: CivilCalendar) -> [CountKey: Int] {
        counts(allKeys(), at: at, calendar: calendar)
    }
}
