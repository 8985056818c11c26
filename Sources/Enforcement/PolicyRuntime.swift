import CustomsCore
import Foundation
import Geo
import Inspection
import Policy

/// Everything a flow needs from the loaded configuration, built once per (re)load and then only
/// read: the policy snapshot, the country table with the site's overrides, and the inspector's
/// settings. Reloading builds a new runtime and swaps it in; flows in progress keep the old one.
public struct PolicyRuntime: Sendable {
    public let policy: PolicySnapshot
    public let table: CountryTable
    public let tablePath: String
    public let tableFingerprint: String
    public let inspection: InspectionConfiguration
    /// The request target and header fields, with the same detectors and keys as bodies.
    public let requestInspector: RequestInspector
    public let sitePath: String
    public let interception: InterceptionSettings
    let noInterceptPatterns: [HostPattern]
    public let loadedAt: Date

    /// Interception comes from the command line (the CA folder), not from the policy file.
    public struct InterceptionSettings: Sendable {
        public var enabled: Bool
        public var noIntercept: [String]
        public init(enabled: Bool = false, noIntercept: [String] = []) {
            self.enabled = enabled; self.noIntercept = noIntercept
        }
    }

    public init(policy: PolicySnapshot, table: CountryTable, tablePath: String, tableFingerprint: String,
                inspection: InspectionConfiguration, sitePath: String, interception: InterceptionSettings) {
        self.policy = policy
        self.table = table
        self.tablePath = tablePath
        self.tableFingerprint = tableFingerprint
        self.inspection = inspection
        self.requestInspector = RequestInspector(configuration: inspection)
        self.sitePath = sitePath
        self.interception = interception
        self.noInterceptPatterns = interception.noIntercept.compactMap(HostPattern.init)
        self.loadedAt = Date()
    }

    var blockedBy: String? { policy.blockedByURL }
    var contact: String? { policy.contactEmail }
    var overHoldLimit: OverLimitAction { policy.overLimitAction }
    var auditEveryVerdict: Bool { false }
    var interceptionEnabled: Bool { interception.enabled }
    var recipientIDs: Set<String> { Set(policy.site.recipients.map(\.id)) }

    func isNoIntercept(host: String) -> Bool {
        let h = HostPattern.normalize(host)
        return noInterceptPatterns.contains { $0.matches(normalizedHost: h) }
    }

    /// Where a destination is, as the policy sees it: a recipient's fixed country wins over the
    /// table; addresses in special ranges (loopback, private…) are inside the network, not abroad.
    public func locate(host: String, sni: String?, address: IPAddress) -> (country: CountryCode?, special: Bool, recipient: RecipientMatch) {
        var country: CountryCode?
        var special = false
        switch table.lookup(address) {
        case .country(let c): country = c
        case .special: special = true
        case .unknown: break
        }
        let recipient = policy.recipient(host: host, sni: sni, address: address, country: country)
        if let fixed = recipient.country { return (fixed, false, recipient) }
        return (country, special, recipient)
    }

    /// Whether a flow to this place leaves the home territory of any loaded regime.
    public func isOutside(country: CountryCode?, special: Bool) -> Bool {
        if special && country == nil { return false }
        return policy.isOutside(country)
    }
}
