// Ledger: durable distinct-subject counting per recipient, category and window.
public enum LedgerModule { public static let name = "Ledger" }
