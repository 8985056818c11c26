/// Why the ledger could not do what was asked. The caller blocks the flow: a flow is never
/// forwarded uncounted.
public struct LedgerError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The ledger file could not be opened or created.
        case open
        /// The file is not a Customs ledger, or one written by a newer version.
        case format
        /// Reading the ledger back failed.
        case read
        /// A commit failed (disk full, I/O error, read-only file system); nothing of it is counted.
        case write
        /// The ledger was closed.
        case closed
    }

    public let kind: Kind
    /// The ledger file.
    public let path: String
    /// What the ledger was doing.
    public let operation: String
    /// The storage engine's own message.
    public let message: String
    /// The SQLite extended result code, when SQLite reported the error.
    public let code: Int32?

    public init(kind: Kind, path: String, operation: String, message: String, code: Int32? = nil) {
        self.kind = kind
        self.path = path
        self.operation = operation
        self.message = message
        self.code = code
    }

    public var description: String {
        var s = "ledger \(path): \(operation) failed: \(message)"
        if let code { s += " (SQLite error \(code))" }
        return s
    }

    static func closed(_ path: String) -> LedgerError {
        LedgerError(kind: .closed, path: path, operation: "use", message: "the ledger is closed")
    }
}
