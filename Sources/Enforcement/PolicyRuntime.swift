import CustomsCore
import Foundation
import Geo
import Inspection
import Ledger
import Policy

/// Everything a flow needs from the loaded configuration, built once per (re)load and then only
/// read: the policy snapshot, the country table with the site's overrides, and the inspector's
/// settings. Reloading builds a new runtime and swaps it in; flows in progress keep the old one.
/// A class: every flow holds the runtime it began with, and copying a struct of a dozen
/// references cost a retain and a release of each per flow.
public final class PolicyRuntime: Sendable {
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
    /// Kinds → categories as masks, for the ledger's batches.
    let categoryMasks: CategoryMasks
    /// `policy.calendar`, read once: the snapshot's computed property took a copy of the whole
    /// snapshot (a retain of each of its fields) on every flow that asked.
    let calendar: CivilCalendar
    /// The counters a flow to each configured recipient touches (`PolicySnapshot.countKeys`),
    /// built once instead of per flow.
    private let countKeysByRecipient: [String: Set<CountKey>]
    /// Whether a configured recipient pins a country: only then can naming the recipient move a
    /// flow abroad against the table, so only then must a flow the table keeps home be named.
    private let pinsCountries: Bool

    /// Interception comes from the command line (the CA folder), not from the policy file.
    public struct InterceptionSettings: Sendable {
        public var enabled: Bool
        public var noIntercept: [String]
        public init(enabled: Bool = false, noIntercept: [String] = []) {
            self.enabled = enabled; self.noIntercept = noIntercept
        }
    }

    /// Fails when the loaded regimes define more categories than the ledger's masks hold.
    public init(policy: PolicySnapshot, table: CountryTable, tablePath: String, tableFingerprint: String,
                inspection: InspectionConfiguration, sitePath: String, interception: InterceptionSettings) throws(RuntimeLoadError) {
        guard let masks = CategoryMasks(policy: policy) else {
            throw RuntimeLoadError("\(sitePath): the loaded regimes define more than \(LedgerBatch.maximumCategories) categories; the ledger counts at most that many")
        }
        self.categoryMasks = masks
        var keys: [String: Set<CountKey>] = [:]
        for r in policy.site.recipients where keys[r.id] == nil { keys[r.id] = policy.countKeys(forRecipient: r.id) }
        self.countKeysByRecipient = keys
        self.pinsCountries = policy.site.recipients.contains { $0.country != nil }
        self.policy = policy
        self.calendar = policy.calendar
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

    func countKeys(forRecipient id: String) -> Set<CountKey> {
        countKeysByRecipient[id] ?? policy.countKeys(forRecipient: id)
    }

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

    /// True when a flow to `address` certainly stays home: the table keeps it inside and no
    /// recipient pins a country. Such flows (most of them) skip naming their recipient, which
    /// normalises the host and may format the address; `locate` then `isOutside` says the same.
    func certainlyInside(_ address: IPAddress) -> Bool {
        guard !pinsCountries else { return false }
        switch table.lookup(address) {
        case .country(let c): return !isOutside(country: c, special: false)
        case .special: return !isOutside(country: nil, special: true)
        case .unknown: return !isOutside(country: nil, special: false)
        }
    }

    /// Whether a flow to this place leaves the home territory of any loaded regime.
    public func isOutside(country: CountryCode?, special: Bool) -> Bool {
        if special && country == nil { return false }
        return policy.isOutside(country)
    }
}
