import CustomsCore
import Foundation
import Yams

/// Who a flow goes to.
public struct RecipientMatch: Sendable, Hashable {
    public let id: String
    public let name: String
    /// False when no site recipient matched and the id is the host's registrable domain.
    public let configured: Bool
    public let country: CountryCode?

    public init(id: String, name: String, configured: Bool, country: CountryCode?) {
        self.id = id; self.name = name; self.configured = configured; self.country = country
    }
}

/// An approval as one regime sees it: its kind resolved and its last valid day derived. A class:
/// verdicts pass it around by reference instead of copying (and retaining) its strings.
public final class ResolvedApproval: Sendable {
    public let approval: Approval
    public let kind: ApprovalKind
    /// Inclusive; nil when neither the site file nor the kind bounds it.
    public let lastDay: PolicyDate?
    /// Bit `rank` is set when the approval's kind satisfies the regime's instrument of that rank
    /// (ranks are unique per instrument), so the verdict tests a bit instead of hashing kind names.
    public let satisfiesRanks: UInt64
    /// Bit `i` is set when the approval covers the regime's `categories[i]`.
    public let categoryMask: UInt64
    /// Per instrument rank: the verdict's reason when this approval covers a need for that instrument.
    public let coveredReasons: [String]

    init(approval a: Approval, kind: ApprovalKind, regime r: Regime) {
        approval = a
        self.kind = kind
        lastDay = a.validUntil(kind: kind)
        var ranks: UInt64 = 0
        var reasons: [String] = []
        let byRank = r.instruments.values.sorted { $0.rank < $1.rank }
        if let top = byRank.last { reasons = Array(repeating: "", count: top.rank + 1) }
        for i in byRank {
            if i.rank < 64, i.satisfiedBy.contains(a.kind) { ranks |= 1 << UInt64(i.rank) }
            reasons[i.rank] = "\(r.id) requires \(i.id); covered by approval \(a.id)"
        }
        satisfiesRanks = ranks
        var cats: UInt64 = 0
        for (i, c) in r.categories.enumerated() where i < 64 && a.covers(c) { cats |= 1 << UInt64(i) }
        categoryMask = cats
        coveredReasons = reasons
    }
}

/// Per-regime tables resolved at load so a verdict looks up candidates and flags without
/// hashing names for every column. A class, like `ResolvedApproval`: a verdict reads one per regime,
/// and copying a struct of seven arrays cost seven retains and releases each time.
public final class RegimeTable: Sendable {
    /// Indices into the regime's resolved approvals that name this recipient (or every recipient), in file order.
    public let candidatesByRecipient: [String: [Int]]
    /// Indices of the approvals for every recipient: the candidates of a recipient no approval names.
    public let candidatesForAnyRecipient: [Int]
    /// Per regime override: whether a site operator flag triggers it.
    public let overrideFlagHits: [Bool]
    /// The ladder of each of the regime's categories, by the category's index in `categories`.
    public let bandsByCategory: [[Band]]
    /// The site's mode for each band's rule (parallel to `bandsByCategory`) and each override's rule.
    public let bandModes: [[PolicyMode]]
    public let overrideModes: [PolicyMode]
    /// Per band (parallel to `bandsByCategory`): the start of the reason when no approval covers it,
    /// up to the recipient ("<regime> requires <instrument> and no valid approval covers <category> to ").
    public let bandMissingPrefixes: [[String]]

    init(candidatesByRecipient: [String: [Int]], candidatesForAnyRecipient: [Int], overrideFlagHits: [Bool],
         bandsByCategory: [[Band]], bandModes: [[PolicyMode]], overrideModes: [PolicyMode], bandMissingPrefixes: [[String]]) {
        self.candidatesByRecipient = candidatesByRecipient; self.candidatesForAnyRecipient = candidatesForAnyRecipient
        self.overrideFlagHits = overrideFlagHits; self.bandsByCategory = bandsByCategory; self.bandModes = bandModes
        self.overrideModes = overrideModes; self.bandMissingPrefixes = bandMissingPrefixes
    }

    /// The band `count` falls in for the regime's `categories[index]` (as `Regime.band`), with the
    /// site's mode for its rule; nil below the first line.
    public func band(categoryIndex index: Int, count: Int) -> (band: Band, mode: PolicyMode, index: Int)? {
        var found: Int?
        let bands = bandsByCategory[index]
        for (i, b) in bands.enumerated() where count >= b.lower {
            if b.upper.map({ count < $0 }) ?? true { found = i }
        }
        return found.map { (bands[$0], bandModes[index][$0], $0) }
    }

    /// The approvals worth checking for a flow to `recipient`, in file order.
    public func candidates(recipient: String) -> [Int] { candidatesByRecipient[recipient] ?? candidatesForAnyRecipient }
}

/// A site exemption paired with the regime's basis it relies on.
public final class ResolvedExemption: Sendable {
    public let exemption: SiteExemption
    public let basis: ExemptionBasis

    init(exemption: SiteExemption, basis: ExemptionBasis) { self.exemption = exemption; self.basis = basis }
}

/// A loaded, validated policy: a site and the regimes it uses. Immutable; swapped whole on reload.
public struct PolicySnapshot: Sendable {
    public let site: Site
    /// In the order the site names them; the first is the primary one (its calendar is used).
    public let regimes: [Regime]
    public let sourceFiles: [String]
    /// Per regime (same order as `regimes`): the approvals it recognises, resolved at load.
    public let approvalsByRegime: [[ResolvedApproval]]
    /// Per regime: the site exemptions whose basis it defines.
    public let exemptionsByRegime: [[ResolvedExemption]]
    /// Per regime: candidate approvals by recipient and override flag hits.
    public let tablesByRegime: [RegimeTable]
    private let recipientIndex: [String: Int]
    private let companyKeys: [(Category, CountingWindow)]
    /// Per regime: detector kind → categories under the chosen mapping, sensitive marker included.
    private let kindTables: [[DetectorKind: [Category]]]

    /// Loads a site file and the regimes it names. Regimes are looked up by id, in order, in
    /// `regimeDirectories`, in `regimes/` beside the site file, and in the shipped `Policies/regimes`.
    public static func load(sitePath: String, regimeDirectories: [String] = []) throws(PolicyLoadError) -> PolicySnapshot {
        let siteSink = ProblemSink(file: sitePath)
        guard let text = readFile(sitePath, siteSink), let root = siteSink.compose(text) else {
            if siteSink.problems.isEmpty { siteSink.add(line: 1, column: 1, "the file is empty") }
            throw PolicyLoadError(problems: siteSink.problems)
        }
        let dir = (sitePath as NSString).deletingLastPathComponent
        let base = dir.isEmpty ? "." : dir
        var searched = regimeDirectories + [base + "/regimes"]
        if let shipped = shippedRegimeDirectory() { searched.append(shipped) }

        var regimes: [Regime] = []
        var problems: [PolicyProblem] = []
        var files = [sitePath]
        var seen: Set<String> = []
        for (id, node) in Site.regimeReferences(root) {
            if seen.contains(id) { siteSink.add(node, "regime '\(id)' is listed twice"); continue }
            seen.insert(id)
            guard let path = searched.map({ "\($0)/\(id).yaml" }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                siteSink.add(node, "unknown regime '\(id)' (looked for \(id).yaml in: \(searched.joined(separator: ", ")))")
                continue
            }
            let sink = ProblemSink(file: path)
            files.append(path)
            if let t = readFile(path, sink), let rn = sink.compose(t), let regime = Regime.parse(rn, sink: sink) {
                if regime.id != id { sink.add(rn["id"], "regime file \(path) has id '\(regime.id)', expected '\(id)'") }
                regimes.append(regime)
            }
            problems += sink.problems
        }
        let site = Site.parse(root, sink: siteSink, regimes: regimes, baseDirectory: base)
        problems = siteSink.problems + problems
        guard problems.isEmpty, let site else { throw PolicyLoadError(problems: problems) }
        return PolicySnapshot(site: site, regimes: regimes, sourceFiles: files)
    }

    /// Checks a regime file on its own.
    public static func loadRegime(path: String) throws(PolicyLoadError) -> Regime {
        let sink = ProblemSink(file: path)
        guard let text = readFile(path, sink), let root = sink.compose(text), let regime = Regime.parse(root, sink: sink), sink.problems.isEmpty else {
            if sink.problems.isEmpty { sink.add(line: 1, column: 1, "the file is empty") }
            throw PolicyLoadError(problems: sink.problems)
        }
        return regime
    }

    /// Whether a YAML file declares itself a regime (`kind: regime`, or a `ladder:` key).
    public static func isRegimeFile(path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let root = try? Yams.compose(yaml: text),
              case .mapping(let m) = root else { return false }
        if let k = m["kind"]?.scalarString { return k == "regime" }
        return m["ladder"] != nil
    }

    public init(site: Site, regimes: [Regime], sourceFiles: [String]) {
        self.site = site
        self.regimes = regimes
        self.sourceFiles = sourceFiles
        var idx: [String: Int] = [:]
        for (i, r) in site.recipients.enumerated() where idx[r.id] == nil { idx[r.id] = i }
        recipientIndex = idx
        var keys: [(Category, CountingWindow)] = []
        for r in regimes {
            for c in r.categories where !keys.contains(where: { $0 == (c, r.window) }) { keys.append((c, r.window)) }
        }
        companyKeys = keys
        approvalsByRegime = regimes.map { r in
            site.approvals.compactMap { a in
                guard a.regime == nil || a.regime == r.id, let kind = r.approvalKinds[a.kind] else { return nil }
                return ResolvedApproval(approval: a, kind: kind, regime: r)
            }
        }
        tablesByRegime = zip(regimes, approvalsByRegime).map { r, resolved in
            var named: Set<String> = []
            for ra in resolved { named.formUnion(ra.approval.recipients ?? []) }
            var byRecipient: [String: [Int]] = [:]
            for id in named {
                byRecipient[id] = resolved.indices.filter { resolved[$0].approval.covers(recipient: id) }
            }
            return RegimeTable(candidatesByRecipient: byRecipient,
                               candidatesForAnyRecipient: resolved.indices.filter { resolved[$0].approval.recipients == nil },
                               overrideFlagHits: r.overrides.map { o in o.flag.map { site.flags.contains($0) } ?? false },
                               bandsByCategory: r.categories.map { r.ladder[$0] ?? [] },
                               bandModes: r.categories.map { (r.ladder[$0] ?? []).map { site.mode(forRule: $0.rule) } },
                               overrideModes: r.overrides.map { site.mode(forRule: $0.rule) },
                               bandMissingPrefixes: r.categories.map { c in
                                   (r.ladder[c] ?? []).map { "\(r.id) requires \($0.instrument) and no valid approval covers \(c) to " }
                               })
        }
        exemptionsByRegime = regimes.map { r in
            site.exemptions.compactMap { e in r.exemptions[e.basis].map { ResolvedExemption(exemption: e, basis: $0) } }
        }
        kindTables = regimes.map { r in
            let name = site.sensitivityMapping.flatMap { r.mappings[$0] != nil ? $0 : nil } ?? r.defaultMapping
            return r.mappings[name] ?? [:]
        }
    }

    /// The shipped default site file (`Policies/default-site.yaml`), if it can be found.
    public static func shippedDefaultSitePath() -> String? {
        guard let dir = shippedPoliciesDirectory() else { return nil }
        let p = dir + "/default-site.yaml"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// `Policies/` of the package: walk up from the running executable to the directory holding
    /// Package.swift (or an installed `share/customs/Policies`).
    public static func shippedPoliciesDirectory() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["CUSTOMS_POLICIES"], fm.fileExists(atPath: env + "/regimes") { return env }
        var starts: [String] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") { starts.append(exe) }
        starts.append(fm.currentDirectoryPath + "/x")
        for start in starts {
            var dir = (start as NSString).deletingLastPathComponent
            while !dir.isEmpty && dir != "/" {
                if fm.fileExists(atPath: dir + "/Package.swift"), fm.fileExists(atPath: dir + "/Policies/regimes") { return dir + "/Policies" }
                if fm.fileExists(atPath: dir + "/share/customs/Policies/regimes") { return dir + "/share/customs/Policies" }
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
        return nil
    }

    static func shippedRegimeDirectory() -> String? { shippedPoliciesDirectory().map { $0 + "/regimes" } }

    private static func readFile(_ path: String, _ sink: ProblemSink) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            sink.add(line: 1, column: 1, "cannot read the file")
            return nil
        }
        guard let s = String(data: data, encoding: .utf8) else {
            sink.add(line: 1, column: 1, "the file is not UTF-8")
            return nil
        }
        return s
    }

    // MARK: - Questions the gateway asks

    /// The primary regime's calendar (UTC if no regime is loaded).
    public var calendar: CivilCalendar { regimes.first?.calendar ?? .utc }

    public func regime(id: String) -> Regime? { regimes.first { $0.id == id } }

    public func recipient(id: String) -> Recipient? { recipientIndex[id].map { site.recipients[$0] } }

    /// The site recipient a flow goes to, best match first: exact host, host wildcard, SNI, network;
    /// otherwise a recipient named by the host's registrable domain (or the address).
    public func recipient(host: String, sni: String?, address: IPAddress?, country: CountryCode?) -> RecipientMatch {
        let h = HostPattern.normalize(host)
        let s = sni.map(HostPattern.normalize)
        var best: (score: Int, index: Int)?
        for (i, r) in site.recipients.enumerated() {
            var score = 0
            if !h.isEmpty {
                for p in r.hosts where p.matches(normalizedHost: h) { score = max(score, p.hasWildcard ? 3 : 4) }
            }
            if score == 0, let s {
                for p in r.sni where p.matches(normalizedHost: s) { score = 2 }
            }
            if score == 0, let a = address, r.networks.contains(where: { $0.contains(a) }) { score = 1 }
            if score > 0, score > (best?.score ?? 0) { best = (score, i) }
        }
        if let b = best {
            let r = site.recipients[b.index]
            return RecipientMatch(id: r.id, name: r.name, configured: true, country: r.country ?? country)
        }
        let domain: String
        if !h.isEmpty && IPAddress(h) == nil {
            domain = RegistrableDomain.of(h)
        } else {
            let named = s ?? address?.description ?? h
            domain = IPAddress(named) == nil ? RegistrableDomain.of(named) : named
        }
        return RecipientMatch(id: domain, name: domain, configured: false, country: country)
    }

    /// Whether any loaded regime counts `country` as outside; an unknown country follows the site.
    public func isOutside(_ country: CountryCode?) -> Bool {
        guard let c = country else { return site.unknownCountryOutside }
        return regimes.contains { $0.isOutside(c) }
    }

    /// Categories a record with these detector kinds counts in, over all regimes. `sensitive` marks
    /// a record the inspector found sensitive by field name (the regime's sensitive category).
    public func categories(forKinds kinds: Set<DetectorKind>, sensitive: Bool) -> Set<Category> {
        var out: Set<Category> = []
        for (i, r) in regimes.enumerated() {
            var mine: Set<Category> = []
            for k in kinds { if let cs = kindTables[i][k] { mine.formUnion(cs) } }
            if sensitive, let s = r.sensitiveCategory { mine.insert(s) }
            if let s = r.sensitiveCategory, mine.contains(s) { mine.formUnion(r.sensitiveAlsoCountsAs) }
            out.formUnion(mine)
        }
        return out
    }

    /// Every counter a flow to `id` touches: company-wide and per recipient, for each regime's
    /// categories in its window.
    public func countKeys(forRecipient id: String) -> Set<CountKey> {
        var out: Set<CountKey> = []
        out.reserveCapacity(companyKeys.count * 2)
        for (c, w) in companyKeys {
            out.insert(CountKey(scope: .company, category: c, window: w))
            out.insert(CountKey(scope: .recipient(id), category: c, window: w))
        }
        return out
    }

    // MARK: - Site settings

    public var bodyHoldLimit: Int { site.bodyHoldLimit }
    public var overLimitAction: OverLimitAction { site.overLimit }
    public var uninspectableAction: OpaqueFlowAction { site.uninspectable }
    public var tunnelAction: OpaqueFlowAction { site.tunnels }
    public var secretFile: String? { site.secretFile }
    public var ledgerPath: String? { site.ledgerPath }
    public var auditLogPath: String? { site.auditLogPath }
    public var gateway: GatewaySettings { site.gateway }
    public var countryTablePath: String? { site.countryTable }
    public var countryOverrides: [(network: IPNetwork, country: CountryCode)] { site.countryOverrides }
    public var blockedByURL: String? { site.blockedBy }
    public var contactEmail: String? { site.contactEmail }
    public var extraFieldNames: [DetectorKind: [String]] { site.extraFields }
    /// The mapping in use for each regime (the site's choice where the regime defines it).
    public var sensitivityMappingName: String { site.sensitivityMapping ?? regimes.first?.defaultMapping ?? "" }
}
