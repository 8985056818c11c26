/// Why a table, an override file or an address list could not be used, with where it went wrong.
/// Reads as `file:line: message` (or `file: message` when there is no line).
public struct GeoError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String?
    public let line: Int?
    public let message: String

    public init(file: String?, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        switch (file, line) {
        case let (f?, l?): return "\(f):\(l): \(message)"
        case let (f?, nil): return "\(f): \(message)"
        case let (nil, l?): return "line \(l): \(message)"
        case (nil, nil): return message
        }
    }
}
