/// A refusal of bytes read from the wire, carrying the HTTP status a proxy should answer with.
///
/// `message` is short and human; it never echoes the offending bytes, so it is safe to put in an
/// error page or a log line.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 400 malformed, 414 request line too long, 431 header section too large,
    /// 501 unsupported (transfer coding, method, scheme), 505 HTTP version not supported.
    public let status: Int
    public let message: String

    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status) \(message)" }

    static func malformed(_ message: String) -> WireError { WireError(status: 400, message) }
    static func unsupported(_ message: String) -> WireError { WireError(status: 501, message) }
}
