import CustomsCore
import Yams

public enum PolicyMode: String, Sendable, CaseIterable { case enforce, monitor }

/// What to do with a flow the inspector cannot read (opaque body) or a tunnel left uninspected.
public enum OpaqueFlowAction: String, Sendable, CaseIterable {
    case allow
    case block
    case requireInterception = "require_interception"
}

/// What to do with a body larger than the hold limit.
public enum OverLimitAction: String, Sendable, CaseIterable { case stream, block }

public enum ApprovalStatus: String, Sendable, CaseIterable { case active, revoked, suspended }

/// An overseas party, matched by host, SNI or network.
public final class Recipient: Sendable {
    public let id: String
    public let name: String
    public let hosts: [HostPattern]
    public let sni: [HostPattern]
    public let networks: [IPNetwork]
    public let country: CountryCode?
    public let tags: Set<String>

    init(id: String, name: String, hosts: [HostPattern], sni: [HostPattern], networks: [IPNetwork], country: CountryCode?, tags: Set<String>) {
        self.id = id
        self.name = name
        self.hosts = hosts
        self.sni = sni
        self.networks = networks
        self.country = country
        self.tags = tags
    }
}

/// An approval on file (security assessment, SCC filing, certification…).
public final class Approval: Sendable {
    public let id: String
    public let kind: String
    /// Only for this regime when set; otherwise every loaded regime that knows the kind.
    public let regime: String?
    /// Recipient ids, or nil for every recipient.
    public let recipients: Set<String>?
    /// Categories covered, or nil for all.
    public let categories: Set<Category>?
    public let issued: PolicyDate
    /// As written; when nil the kind's validity decides (see `validUntil(kind:)`).
    public let validUntil: PolicyDate?
    /// Whether the kind's extension period has been granted.
    public let extended: Bool
    /// Most distinct people per category the approval covers for one recipient.
    public let cap: Int?
    public let status: ApprovalStatus

    init(id: String, kind: String, regime: String?, recipients: Set<String>?, categories: Set<Category>?, issued: PolicyDate, validUntil: PolicyDate?, extended: Bool, cap: Int?, status: ApprovalStatus) {
        self.id = id
        self.kind = kind
        self.regime = regime
        self.recipients = recipients
        self.categories = categories
        self.issued = issued
        self.validUntil = validUntil
        self.extended = extended
        self.cap = cap
        self.status = status
    }

    /// The last day the approval is valid (inclusive), nil when neither the file nor the kind bounds it.
    public func validUntil(kind: ApprovalKind?) -> PolicyDate? {
        if let v = validUntil { return v }
        guard let years = kind?.validityYears else { return nil }
        let total = years + (extended ? (kind?.extensionYears ?? 0) : 0)
        return issued.adding(years: total).adding(days: -1)
    }

    public func covers(recipient id: String) -> Bool { recipients?.contains(id) ?? true }
    public func covers(_ c: Category) -> Bool { categories?.contains(c) ?? true }
}

/// Something that happened which changes what approvals are worth.
public struct PolicyEvent: Sendable {
    public enum Kind: Sendable, Hashable {
        /// The legal or security environment of a country changed: approvals issued before it for
        /// recipients there are suspended (2022 Measures Art. 14(2)).
        case legalChange(CountryCode)
        /// A regulator ordered transfers to stop (2022 Measures Art. 17); nil recipient means all.
        case stopOrder(recipient: String?)
    }
    public let id: String
    public let kind: Kind
    public let date: PolicyDate
    public let note: String?
}

/// A site's use of an exemption a regime defines, with predicates on the flow (all given must hold).
public final class SiteExemption: Sendable {
    public let id: String
    public let basis: String
    public let recipients: Set<String>?
    public let hosts: [HostPattern]
    public let pathPrefixes: [String]
    public let clients: Set<String>?
    public let methods: Set<String>?
    /// Overrides the basis's own `counts` when set.
    public let counts: Bool?

    init(id: String, basis: String, recipients: Set<String>?, hosts: [HostPattern], pathPrefixes: [String], clients: Set<String>?, methods: Set<String>?, counts: Bool?) {
        self.id = id
        self.basis = basis
        self.recipients = recipients
        self.hosts = hosts
        self.pathPrefixes = pathPrefixes
        self.clients = clients
        self.methods = methods
        self.counts = counts
    }
}

/// Per-rule mode: `rule` is a rule id, or a prefix ending in `*`.
public struct ModeOverride: Sendable {
    public let rule: String
    public let mode: PolicyMode
    /// `rule` without its trailing `*` when it is a prefix pattern (cut once, not per verdict).
    private let prefix: String?

    public init(rule: String, mode: PolicyMode) {
        self.rule = rule; self.mode = mode
        prefix = rule.hasSuffix("*") ? String(rule.dropLast()) : nil
    }

    public func matches(_ id: String) -> Bool {
        if let prefix { return id.hasPrefix(prefix) }
        return id == rule
    }
}

/// The `gateway:` section, mapped by the CLI onto the gateway's flags.
public struct GatewaySettings: Sendable {
    public var listen: [String] = []
    public var admin: String?
    public var transparent: [String] = []
    public var allowDestinations: [IPNetwork] = []
    public var clients: [(network: IPNetwork, name: String)] = []
    public var credentialsFile: String?
    public var accessLog: String?
    /// Seconds, by name: connect, idle, header, body, tunnel_idle.
    public var timeouts: [String: Double] = [:]
    public var maxConnections: Int?
}

/// The file a user edits: which regimes, who the recipients are, what is on file, and how to act.
public final class Site: Sendable {
    public let file: String
    public let regimeIDs: [String]
    public let mode: PolicyMode
    public let modeOverrides: [ModeOverride]
    public let flags: Set<OperatorFlag>
    public let blockedBy: String?
    public let contactEmail: String?
    public let recipients: [Recipient]
    public let approvals: [Approval]
    public let events: [PolicyEvent]
    public let exemptions: [SiteExemption]
    public let uninspectable: OpaqueFlowAction
    public let tunnels: OpaqueFlowAction
    public let bodyHoldLimit: Int
    public let overLimit: OverLimitAction
    public let sensitivityMapping: String?
    public let extraFields: [DetectorKind: [String]]
    public let secretFile: String?
    public let ledgerPath: String?
    public let auditLogPath: String?
    public let countryTable: String?
    public let countryOverrides: [(network: IPNetwork, country: CountryCode)]
    public let unknownCountryOutside: Bool
    public let gateway: GatewaySettings

    init(file: String, regimeIDs: [String], mode: PolicyMode, modeOverrides: [ModeOverride], flags: Set<OperatorFlag>, blockedBy: String?, contactEmail: String?, recipients: [Recipient], approvals: [Approval], events: [PolicyEvent], exemptions: [SiteExemption], uninspectable: OpaqueFlowAction, tunnels: OpaqueFlowAction, bodyHoldLimit: Int, overLimit: OverLimitAction, sensitivityMapping: String?, extraFields: [DetectorKind: [String]], secretFile: String?, ledgerPath: String?, auditLogPath: String?, countryTable: String?, countryOverrides: [(network: IPNetwork, country: CountryCode)], unknownCountryOutside: Bool, gateway: GatewaySettings) {
        self.file = file
        self.regimeIDs = regimeIDs
        self.mode = mode
        self.modeOverrides = modeOverrides
        self.flags = flags
        self.blockedBy = blockedBy
        self.contactEmail = contactEmail
        self.recipients = recipients
        self.approvals = approvals
        self.events = events
        self.exemptions = exemptions
        self.uninspectable = uninspectable
        self.tunnels = tunnels
        self.bodyHoldLimit = bodyHoldLimit
        self.overLimit = overLimit
        self.sensitivityMapping = sensitivityMapping
        self.extraFields = extraFields
        self.secretFile = secretFile
        self.ledgerPath = ledgerPath
        self.auditLogPath = auditLogPath
        self.countryTable = countryTable
        self.countryOverrides = countryOverrides
        self.unknownCountryOutside = unknownCountryOutside
        self.gateway = gateway
    }

    public func mode(forRule id: String) -> PolicyMode {
        modeOverrides.last { $0.matches(id) }?.mode ?? mode
    }
}

extension Site {
    static let defaultBodyHoldLimit = 8 << 20

    /// The regime ids named by a site document, with their nodes (read before regimes are resolved).
    static func regimeReferences(_ root: Node) -> [(String, Node)] {
        guard case .mapping(let m) = root, let v = m["regimes"] else { return [] }
        switch v {
        case .scalar(let s): return [(s.string, v)]
        case .sequence(let seq): return seq.compactMap { n in n.scalarString.map { ($0, n) } }
        default: return []
        }
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    static func parse(_ root: Node, sink: ProblemSink, regimes: [Regime], baseDirectory: String) -> Site? {
        guard var r = MapReader(root, sink, what: "site") else { return nil }
        _ = r.string("kind")
        let regimeIDs = (r.strings("regimes", required: true) ?? []).map(\.0)
        if regimeIDs.isEmpty, r.has("regimes") { sink.add(r.value("regimes"), "'regimes' must name at least one regime") }
        let mode = r.word("mode", PolicyMode.self, allowed: PolicyMode.allCases) ?? .enforce

        let allCategories = Set(regimes.flatMap(\.categories))
        func knownCategory(_ s: String, _ n: Node) -> Category? {
            if allCategories.contains(Category(s)) { return Category(s) }
            sink.add(n, "unknown category '\(s)' (the loaded regimes define: \(allCategories.sorted().map(\.name).joined(separator: ", ")))")
            return nil
        }
        func path(_ p: String?) -> String? {
            guard let p else { return nil }
            return p.hasPrefix("/") ? p : baseDirectory + "/" + p
        }

        var modeOverrides: [ModeOverride] = []
        if let n = r.value("mode_overrides"), let items = n.asSequence(sink, "'mode_overrides'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "mode override") else { continue }
                let rule = m.string("rule", required: true)
                let md = m.word("mode", PolicyMode.self, allowed: PolicyMode.allCases)
                if !m.has("mode") { sink.add(item, "mode override is missing required key 'mode'") }
                m.finish()
                if let rule, let md { modeOverrides.append(ModeOverride(rule: rule, mode: md)) }
            }
        }

        var flags: Set<OperatorFlag> = []
        var blockedBy: String?, contact: String?
        if let n = r.value("operator"), var m = MapReader(n, sink, what: "operator") {
            if let fn = m.value("flags"), var fm = MapReader(fn, sink, what: "operator flags") {
                for f in OperatorFlag.allCases where fm.bool(f.rawValue) == true { flags.insert(f) }
                fm.finish()
            }
            blockedBy = m.string("blocked_by")
            if let b = blockedBy, !(b.hasPrefix("https://") || b.hasPrefix("http://")) {
                sink.add(m.value("blocked_by"), "'blocked_by' must be an http(s) URL, not '\(b)'")
            }
            contact = m.string("contact")
            if let c = contact, !c.contains("@") { sink.add(m.value("contact"), "'contact' must be an e-mail address, not '\(c)'") }
            m.finish()
        }

        var recipients: [Recipient] = []
        var recipientIDs: Set<String> = []
        if let n = r.value("recipients"), let items = n.asSequence(sink, "'recipients'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "recipient") else { continue }
                let id = m.string("id", required: true) ?? ""
                if recipientIDs.contains(id) { sink.add(m.value("id"), "duplicate recipient id '\(id)'") }
                if !id.isEmpty, !Regime.isIdentifier(id) { sink.add(m.value("id"), "recipient id '\(id)' may use only letters, digits, '-', '_' and '.'") }
                recipientIDs.insert(id)
                func patterns(_ key: String) -> [HostPattern] {
                    (m.strings(key) ?? []).compactMap { s, node in
                        if let p = HostPattern(s) { return p }
                        sink.add(node, "bad host pattern '\(s)' (labels of a-z, 0-9, '-', '_'; '*' as a whole label)")
                        return nil
                    }
                }
                let hosts = patterns("hosts"), sni = patterns("sni")
                let nets = (m.strings("networks") ?? []).compactMap { s, node -> IPNetwork? in
                    if let net = IPNetwork(s) { return net }
                    sink.add(node, "bad CIDR '\(s)'")
                    return nil
                }
                var country: CountryCode?
                if let cs = m.string("country") {
                    country = CountryCode(cs)
                    if country == nil { sink.add(m.value("country"), "'country' must be a two-letter country code, not '\(cs)'") }
                }
                let tags = Set((m.strings("tags") ?? []).map(\.0))
                let name = m.string("name") ?? id
                m.finish()
                if hosts.isEmpty && sni.isEmpty && nets.isEmpty {
                    sink.add(item, "recipient '\(id)' needs at least one of hosts, sni or networks")
                }
                recipients.append(Recipient(id: id, name: name, hosts: hosts, sni: sni, networks: nets, country: country, tags: tags))
            }
        }
        func checkRecipient(_ s: String, _ n: Node) {
            if s != "*", !recipientIDs.contains(s) { sink.add(n, "unknown recipient '\(s)'") }
        }

        let regimeByID = Dictionary(regimes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let allKinds = Set(regimes.flatMap(\.approvalKinds.keys))
        var approvals: [Approval] = []
        var approvalIDs: Set<String> = []
        if let n = r.value("approvals"), let items = n.asSequence(sink, "'approvals'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "approval") else { continue }
                let id = m.string("id", required: true) ?? ""
                if approvalIDs.contains(id) { sink.add(m.value("id"), "duplicate approval id '\(id)'") }
                approvalIDs.insert(id)
                let kind = m.string("kind", required: true) ?? ""
                let regime = m.string("regime")
                if let rg = regime {
                    if let reg = regimeByID[rg] {
                        if !kind.isEmpty, reg.approvalKinds[kind] == nil { sink.add(m.value("kind"), "regime '\(rg)' has no approval kind '\(kind)' (it has: \(reg.approvalKinds.keys.sorted().joined(separator: ", ")))") }
                    } else { sink.add(m.value("regime"), "approval names regime '\(rg)', which this site does not use") }
                } else if !kind.isEmpty, !allKinds.contains(kind) {
                    sink.add(m.value("kind"), "unknown approval kind '\(kind)' (the loaded regimes define: \(allKinds.sorted().joined(separator: ", ")))")
                }
                var recips: Set<String>?
                if let list = m.strings("recipients", required: true) {
                    for (s, node) in list { checkRecipient(s, node) }
                    recips = list.contains { $0.0 == "*" } ? nil : Set(list.map(\.0))
                }
                var cats: Set<Category>?
                if let list = m.strings("categories") {
                    cats = Set(list.compactMap { knownCategory($0.0, $0.1) })
                }
                let issued = m.date("issued", required: true)
                let until = m.date("valid_until")
                if let i = issued, let u = until, u < i { sink.add(m.value("valid_until"), "valid_until \(u) is before issued \(i)") }
                let extended = m.bool("extended") ?? false
                let cap = m.int("cap")
                if let c = cap, c < 0 { sink.add(m.value("cap"), "'cap' must not be negative") }
                let status = m.word("status", ApprovalStatus.self, allowed: ApprovalStatus.allCases) ?? .active
                _ = m.string("reference")
                m.finish()
                if let issued {
                    approvals.append(Approval(id: id, kind: kind, regime: regime, recipients: recips, categories: cats, issued: issued,
                                              validUntil: until, extended: extended, cap: cap, status: status))
                }
            }
        }

        var events: [PolicyEvent] = []
        var eventIDs: Set<String> = []
        if let n = r.value("events"), let items = n.asSequence(sink, "'events'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "event") else { continue }
                let id = m.string("id", required: true) ?? ""
                if eventIDs.contains(id) { sink.add(m.value("id"), "duplicate event id '\(id)'") }
                eventIDs.insert(id)
                let type = m.string("type", required: true)
                let date = m.date("date", required: true)
                let note = m.string("note")
                var kind: PolicyEvent.Kind?
                switch type {
                case "legal_change":
                    if let cs = m.string("country", required: true) {
                        if let c = CountryCode(cs) { kind = .legalChange(c) }
                        else { sink.add(m.value("country"), "'country' must be a two-letter country code, not '\(cs)'") }
                    }
                case "stop_order":
                    let rc = m.string("recipient") ?? "*"
                    if let node = m.value("recipient") { checkRecipient(rc, node) }
                    kind = .stopOrder(recipient: rc == "*" ? nil : rc)
                case nil: break
                case let other?:
                    sink.add(m.value("type"), "event type must be 'legal_change' or 'stop_order', not '\(other)'")
                }
                m.finish()
                if let kind, let date { events.append(PolicyEvent(id: id, kind: kind, date: date, note: note)) }
            }
        }

        let bases = Set(regimes.flatMap(\.exemptions.keys))
        var exemptions: [SiteExemption] = []
        var exemptionIDs: Set<String> = []
        if let n = r.value("exemptions"), let items = n.asSequence(sink, "'exemptions'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "exemption") else { continue }
                let id = m.string("id", required: true) ?? ""
                if exemptionIDs.contains(id) { sink.add(m.value("id"), "duplicate exemption id '\(id)'") }
                exemptionIDs.insert(id)
                let basis = m.string("basis", required: true) ?? ""
                if !basis.isEmpty, !bases.contains(basis) {
                    sink.add(m.value("basis"), "unknown exemption basis '\(basis)' (the loaded regimes define: \(bases.sorted().joined(separator: ", ")))")
                }
                var recips: Set<String>?
                if let list = m.strings("recipients") { list.forEach { checkRecipient($0.0, $0.1) }; recips = Set(list.map(\.0)) }
                let hosts = (m.strings("hosts") ?? []).compactMap { s, node -> HostPattern? in
                    if let p = HostPattern(s) { return p }
                    sink.add(node, "bad host pattern '\(s)'")
                    return nil
                }
                let paths = (m.strings("path_prefixes") ?? []).map { s, node -> String in
                    if !s.hasPrefix("/") { sink.add(node, "path prefix must start with '/': '\(s)'") }
                    return s
                }
                let clients = m.strings("clients").map { Set($0.map(\.0)) }
                let methods = m.strings("methods").map { Set($0.map { $0.0.uppercased() }) }
                let counts = m.bool("counts")
                m.finish()
                if recips == nil && hosts.isEmpty && paths.isEmpty && clients == nil && methods == nil {
                    sink.add(item, "exemption '\(id)' has no predicate (recipients, hosts, path_prefixes, clients or methods); it would exempt every flow")
                }
                exemptions.append(SiteExemption(id: id, basis: basis, recipients: recips, hosts: hosts, pathPrefixes: paths,
                                                clients: clients, methods: methods, counts: counts))
            }
        }

        var uninspectable = OpaqueFlowAction.block, tunnels = OpaqueFlowAction.requireInterception
        var holdLimit = defaultBodyHoldLimit, overLimit = OverLimitAction.block
        var mapping: String?
        var extra: [DetectorKind: [String]] = [:]
        if let n = r.value("inspection"), var m = MapReader(n, sink, what: "inspection") {
            uninspectable = m.word("uninspectable", OpaqueFlowAction.self, allowed: OpaqueFlowAction.allCases) ?? uninspectable
            tunnels = m.word("tunnels", OpaqueFlowAction.self, allowed: OpaqueFlowAction.allCases) ?? tunnels
            if let v = m.value("body_hold_limit") {
                if let s = v.scalarString, let b = parseByteSize(s), b > 0 { holdLimit = b }
                else { sink.add(v, "'body_hold_limit' must be a size such as 8388608, 512KiB or 8MiB") }
            }
            overLimit = m.word("over_limit", OverLimitAction.self, allowed: OverLimitAction.allCases) ?? overLimit
            if let s = m.string("sensitivity_mapping") {
                if regimes.contains(where: { $0.mappings[s] != nil }) { mapping = s }
                else {
                    let names = Set(regimes.flatMap(\.mappings.keys)).sorted().joined(separator: ", ")
                    sink.add(m.value("sensitivity_mapping"), "unknown sensitivity mapping '\(s)' (the loaded regimes define: \(names))")
                }
            }
            if let en = m.value("extra_fields"), var em = MapReader(en, sink, what: "extra_fields") {
                for k in em.keys {
                    guard let kind = DetectorKind(rawValue: k) else {
                        sink.add(em.keyNode(k), "unknown detector kind '\(k)'"); _ = em.value(k); continue
                    }
                    extra[kind] = (em.strings(k) ?? []).map(\.0)
                }
                em.finish()
            }
            m.finish()
        }

        var secret: String?, ledger: String?, audit: String?
        if let n = r.value("storage"), var m = MapReader(n, sink, what: "storage") {
            secret = path(m.string("secret_file")); ledger = path(m.string("ledger")); audit = path(m.string("audit_log"))
            m.finish()
        }

        var table: String?
        var overrides: [(network: IPNetwork, country: CountryCode)] = []
        var unknownOutside = true
        if let n = r.value("geo"), var m = MapReader(n, sink, what: "geo") {
            table = path(m.string("country_table"))
            if let on = m.value("overrides"), case .mapping(let om) = on {
                for (k, v) in om {
                    let ks = k.scalarString ?? ""
                    let net = IPNetwork(ks)
                    if net == nil { sink.add(k, "bad CIDR '\(ks)'") }
                    let cs = v.asString(sink, "country for \(ks)")
                    let c = cs.flatMap { CountryCode($0) }
                    if cs != nil, c == nil { sink.add(v, "not a two-letter country code: '\(cs!)'") }
                    if let net, let c { overrides.append((net, c)) }
                }
            } else if let on = m.value("overrides") {
                sink.add(on, "'overrides' must map CIDRs to country codes")
            }
            unknownOutside = m.bool("unknown_country_outside") ?? true
            m.finish()
        }

        var gateway = GatewaySettings()
        if let n = r.value("gateway"), var m = MapReader(n, sink, what: "gateway") {
            gateway.listen = (m.strings("listen") ?? []).map(\.0)
            gateway.admin = m.string("admin")
            gateway.transparent = (m.strings("transparent") ?? []).map(\.0)
            gateway.allowDestinations = (m.strings("allow_destinations") ?? []).compactMap { s, node in
                if let net = IPNetwork(s) { return net }
                sink.add(node, "bad CIDR '\(s)'"); return nil
            }
            if let cn = m.value("clients") {
                if case .mapping(let cm) = cn {
                    for (k, v) in cm {
                        let ks = k.scalarString ?? ""
                        guard let net = IPNetwork(ks) else { sink.add(k, "bad CIDR '\(ks)'"); continue }
                        if let name = v.asString(sink, "client name for \(ks)") { gateway.clients.append((net, name)) }
                    }
                } else { sink.add(cn, "'clients' must map CIDRs to client names") }
            }
            gateway.credentialsFile = path(m.string("credentials"))
            gateway.accessLog = path(m.string("access_log"))
            if let tn = m.value("timeouts"), var tm = MapReader(tn, sink, what: "timeouts") {
                for k in ["connect", "idle", "header", "body", "tunnel_idle"] {
                    if let v = tm.value(k) {
                        if let s = v.scalarString, let d = Double(s), d > 0 { gateway.timeouts[k] = d }
                        else { sink.add(v, "timeout '\(k)' must be a positive number of seconds") }
                    }
                }
                tm.finish()
            }
            gateway.maxConnections = m.int("max_connections")
            if let mc = gateway.maxConnections, mc <= 0 { sink.add(m.value("max_connections"), "'max_connections' must be positive") }
            m.finish()
        }
        r.finish()

        return Site(file: sink.file, regimeIDs: regimeIDs, mode: mode, modeOverrides: modeOverrides, flags: flags,
                    blockedBy: blockedBy, contactEmail: contact, recipients: recipients, approvals: approvals, events: events,
                    exemptions: exemptions, uninspectable: uninspectable, tunnels: tunnels, bodyHoldLimit: holdLimit,
                    overLimit: overLimit, sensitivityMapping: mapping, extraFields: extra, secretFile: secret,
                    ledgerPath: ledger, auditLogPath: audit, countryTable: table, countryOverrides: overrides,
                    unknownCountryOutside: unknownOutside, gateway: gateway)
    }

    static func parseByteSize(_ s: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000)]
        let t = s.trimmingCharacters(in: .whitespaces)
        for (u, mul) in units where t.hasSuffix(u) {
            return Int(t.dropLast(u.count).trimmingCharacters(in: .whitespaces)).map { $0 * mul }
        }
        return Int(t)
    }
}
