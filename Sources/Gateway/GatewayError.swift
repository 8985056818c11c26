/// Why the gateway could not start or a setting is unusable. Messages are one line, for operators.
public struct GatewayError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalidAddress, addressInUse, bindFailed, invalidConfiguration, credentialsFile, accessLog
    }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }

    public var description: String { message }
}
