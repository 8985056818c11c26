/// The look-back a regime counts over. Every window ends at the flow's time.
public enum CountingWindow: String, Hashable, Sendable, CaseIterable, Codable {
    /// Since 1 January of the current year (2024 Provisions: 自当年1月1日起累计).
    case calendarYear = "calendar_year"
    /// Since 1 January of the previous year (2022 Measures: 自上年1月1日起累计).
    case sincePreviousYear = "since_previous_year"
    /// Any point in the preceding 12 months (28 CFR 202.205).
    case rolling12Months = "rolling_12_months"
    /// Since counting began (2021 draft: no start date).
    case unbounded
}

/// Whose total a count is: the processor's, across all recipients, or one recipient's.
public enum CountScope: Hashable, Sendable, Comparable, CustomStringConvertible {
    case company
    case recipient(String)

    public var description: String {
        switch self {
        case .company: return "company"
        case .recipient(let id): return "recipient:\(id)"
        }
    }
}

/// One counter the ledger keeps: distinct subjects in `category`, for `scope`, inside `window`.
public struct CountKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let scope: CountScope
    public let category: Category
    public let window: CountingWindow
    public init(scope: CountScope, category: Category, window: CountingWindow) {
        self.scope = scope; self.category = category; self.window = window
    }
    public var description: String { "\(scope)/\(category)/\(window.rawValue)" }
    public static func < (a: CountKey, b: CountKey) -> Bool { a.description < b.description }
}

/// Distinct counts before a flow and after it (if the flow goes out).
public struct CountChange: Hashable, Sendable {
    public var before: Int
    public var after: Int
    public init(before: Int, after: Int) { self.before = before; self.after = after }
    public var added: Int { after - before }
}

/// What the ledger answers for a flow before anything is committed.
public typealias CountPreview = [CountKey: CountChange]
