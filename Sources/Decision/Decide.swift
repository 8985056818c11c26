import CustomsCore
import Foundation
import Policy

/// The verdict for one flow: a pure function of the facts, the policy and the ledger's preview.
///
/// Order: a stop order blocks first; a flow no regime counts as outside is allowed uncounted; opaque
/// bodies and tunnels follow the site's action; then each regime in force for the destination either
/// exempts the flow or checks every column (scope × category) the flow carries against its ladder,
/// using the counts after the flow, plus any overriding flags. Every column whose band needs an
/// instrument needs a valid approval; the most severe regime result wins. A flow that adds nobody
/// new is still a transfer: it is blocked while its category sits in a band whose approval is missing.
public enum Decide {
    /// `trace: false` leaves `considered` empty: the gateway never shows it, and building it was a
    /// fifth of a verdict's cost. `policy explain` and tests keep the default.
    public static func verdict(_ facts: FlowFacts, policy: PolicySnapshot, counts: CountPreview, trace: Bool = true) -> Verdict {
        let site = policy.site
        var traces = Trail(on: trace)
        let recipientID = facts.recipient.id
        let country = facts.recipient.country ?? facts.country

        // Stop orders (2022 Measures Art. 17) override counts and approvals.
        let today = PolicyDate(dayNumber: policy.calendar.dayNumber(facts.time))
        for e in site.events {
            guard case .stopOrder(let target) = e.kind, target == nil || target == recipientID, today >= e.date else { continue }
            let rule = "site/stop-order/\(e.id)"
            traces.add(RuleTrace(rule: rule, outcome: .decided, note: "regulator stop order since \(e.date)"))
            return finish(site.mode(forRule: rule), rule: rule, regime: nil, instrument: nil, counts: counts, traces: traces.items,
                          reason: "a regulator stop order (\(e.id), \(e.date)) halts transfers to \(target ?? "every recipient")")
        }

        guard policy.isOutside(country) else {
            traces.add(RuleTrace(rule: "site/domestic", outcome: .decided, note: "no loaded regime counts \(country?.description ?? "this destination") as outside"))
            return Verdict(action: .allow, rule: "site/domestic", regime: nil, requiredInstrument: nil, approvalUsed: nil,
                           approvalFindings: [], exemption: nil, countsFlow: false, counts: counts,
                           reason: "destination is not outside any loaded regime's territory", considered: traces.items)
        }

        let newByCategory: [Category: Int]
        switch facts.content {
        case .uninspectable(let why):
            return opaque(site.uninspectable, rule: "site/uninspectable", what: "the body could not be inspected (\(why))",
                          site: site, counts: counts, trace: trace)
        case .tunnel:
            return opaque(site.tunnels, rule: "site/tunnel", what: "an uninspected tunnel to the outside", site: site, counts: counts, trace: trace)
        case .subjects(let m):
            newByCategory = m
        }
        if newByCategory.isEmpty {
            return Verdict(action: .allow, rule: "site/no-personal-data", regime: nil, requiredInstrument: nil, approvalUsed: nil,
                           approvalFindings: [], exemption: nil, countsFlow: false, counts: counts,
                           reason: "no personal information found", considered: trace ? [RuleTrace(rule: "site/no-personal-data", outcome: .decided)] : [])
        }

        var best: RegimeResult?
        var applicable = 0, exemptUncounted = 0
        for (index, regime) in policy.regimes.enumerated() {
            guard let result = evaluate(regime, index: index, facts: facts, today: today, newByCategory: newByCategory, country: country, policy: policy,
                                        counts: counts, traces: &traces) else { continue }
            applicable += 1
            if result.exemption != nil, !result.exemptionCounts { exemptUncounted += 1 }
            if best == nil || result.action > best!.action || (result.action == best!.action && result.rank > best!.rank) {
                best = result
            }
        }
        guard let b = best else {
            return Verdict(action: .allow, rule: "site/no-regime-applies", regime: nil, requiredInstrument: nil, approvalUsed: nil,
                           approvalFindings: [], exemption: nil, countsFlow: true, counts: counts,
                           reason: "no loaded regime applies to this destination, date and categories", considered: traces.items)
        }
        let counted = b.action != .block && !(applicable > 0 && exemptUncounted == applicable)
        return Verdict(action: b.action, rule: b.rule, regime: b.regime, requiredInstrument: b.instrument, approvalUsed: b.approval,
                       approvalFindings: b.findings, exemption: b.exemption, countsFlow: counted, counts: counts,
                       reason: b.reason, considered: traces.items)
    }

    /// The rules considered, collected only when asked for; `add` builds nothing otherwise.
    struct Trail {
        let on: Bool
        var items: [RuleTrace] = []
        init(on: Bool) { self.on = on; if on { items.reserveCapacity(8) } }
        mutating func add(_ t: @autoclosure () -> RuleTrace) { if on { items.append(t()) } }
    }

    struct RegimeResult {
        var action: VerdictAction
        var rule: String
        var regime: String
        var instrument: String?
        var rank: Int
        var approval: String?
        var findings: [String]
        var exemption: String?
        var exemptionCounts: Bool
        var reason: String
    }

    /// One requirement: a column (or an override) that needs an instrument.
    struct Need {
        /// What requires the instrument: a band of the ladder or an override (held by reference,
        /// so a need costs one retain rather than one per string).
        enum Source { case band(Band), override(RegimeOverride), status(instrument: String, satisfiedBy: Set<String>, rank: Int) }
        var source: Source
        /// For a band: its index in the regime table's ladder of `categoryIndex`.
        var bandIndex = -1
        /// The site's mode for the need's rule (resolved at load).
        var mode: PolicyMode
        var category: Category
        /// Index of `category` in the regime's categories (for the approvals' category masks).
        var categoryIndex: Int
        var key: CountKey?
        var change: CountChange?

        var rule: String {
            switch source { case .band(let b): b.rule; case .override(let o): o.rule; case .status: "" }
        }
        var instrument: String {
            switch source { case .band(let b): b.instrument; case .override(let o): o.instrument; case .status(let i, _, _): i }
        }
        var satisfiedBy: Set<String> {
            switch source { case .band(let b): b.satisfiedBy; case .override(let o): o.satisfiedBy; case .status(_, let s, _): s }
        }
        var rank: Int {
            switch source { case .band(let b): b.rank; case .override(let o): o.rank; case .status(_, _, let r): r }
        }
    }

    /// Previews and category maps hold a handful of entries: comparing keys (small strings compare
    /// by their raw bits) is cheaper than hashing two strings per lookup.
    @inline(__always)
    static func value<K: Hashable, V>(_ map: [K: V], _ key: K) -> V? {
        guard map.count <= 8 else { return map[key] }
        for (k, v) in map where k == key { return v }
        return nil
    }

    static func evaluate(_ r: Regime, index: Int, facts: FlowFacts, today: PolicyDate, newByCategory: [Category: Int], country: CountryCode?,
                         policy: PolicySnapshot, counts: CountPreview, traces: inout Trail) -> RegimeResult? {
        // `today` is the day in the primary regime's calendar; most regimes share it.
        let day = r.calendar == policy.calendar ? today : PolicyDate(dayNumber: r.calendar.dayNumber(facts.time))
        guard r.inForce(on: day) else {
            traces.add(RuleTrace(rule: r.id, outcome: .notApplicable, note: "not in force on \(day)"))
            return nil
        }
        let outside = country.map(r.isOutside) ?? policy.site.unknownCountryOutside
        guard outside else {
            traces.add(RuleTrace(rule: r.id, outcome: .notApplicable, note: "\(country?.description ?? "unknown country") is not outside for this regime"))
            return nil
        }
        var carried: [(category: Category, index: Int, new: Int)] = []
        carried.reserveCapacity(r.categories.count)
        for (i, c) in r.categories.enumerated() {
            if let n = value(newByCategory, c) { carried.append((c, i, n)) }
        }
        guard !carried.isEmpty else {
            traces.add(RuleTrace(rule: r.id, outcome: .notApplicable, note: "the flow carries no category this regime counts"))
            return nil
        }

        let site = policy.site
        let recipientID = facts.recipient.id
        for resolved in policy.exemptionsByRegime[index] {
            let ex = resolved.exemption, basis = resolved.basis
            guard exemptionMatches(ex, facts: facts) else { continue }
            let rule = "\(r.id)/exemption/\(ex.basis)"
            let counts = ex.counts ?? basis.counts
            traces.add(RuleTrace(rule: rule, outcome: .exempt, note: "site exemption '\(ex.id)'\(basis.cite.map { " relying on \($0)" } ?? ""); \(counts ? "still counted" : "not counted")"))
            return RegimeResult(action: .allow, rule: rule, regime: r.id, instrument: nil, rank: -1, approval: nil, findings: [],
                                exemption: ex.id, exemptionCounts: counts,
                                reason: "exempt under \(basis.cite ?? ex.basis) (site exemption \(ex.id))")
        }

        let table = policy.tablesByRegime[index]
        var needs: [Need] = []
        needs.reserveCapacity((r.scopes.count + r.overrides.count) * carried.count)
        for scope in r.scopes {
            for (c, ci, new) in carried {
                let key = CountKey(scope: scope == .company ? .company : .recipient(recipientID), category: c, window: r.window)
                let change = value(counts, key) ?? CountChange(before: 0, after: new)
                if let (band, mode, bi) = table.band(categoryIndex: ci, count: change.after), band.instrument != "none" {
                    needs.append(Need(source: .band(band), bandIndex: bi, mode: mode, category: c, categoryIndex: ci, key: key, change: change))
                } else {
                    traces.add(RuleTrace(rule: r.id, outcome: .below, key: key, change: change))
                }
            }
        }
        let tags = r.hasRecipientTagOverrides ? policy.recipient(id: recipientID)?.tags ?? [] : []
        for (oi, o) in r.overrides.enumerated() {
            let hit = o.flag != nil ? table.overrideFlagHits[oi] : o.recipientTag.map { tags.contains($0) } ?? false
            guard hit else { continue }
            for (c, ci, _) in carried {
                needs.append(Need(source: .override(o), mode: table.overrideModes[oi], category: c, categoryIndex: ci, key: nil, change: nil))
            }
        }
        if needs.isEmpty {
            return RegimeResult(action: .allow, rule: r.belowRule, regime: r.id, instrument: nil, rank: 0, approval: nil,
                                findings: [], exemption: nil, exemptionCounts: true, reason: r.belowReason)
        }

        var missing: Need?, covered: (Need, ResolvedApproval)?
        var findings: [String] = []
        let candidates = table.candidates(recipient: recipientID)
        for need in needs {
            // Why each candidate fails is written out only when none holds: a flow covered by its
            // second candidate would otherwise format the first one's failure for nothing.
            func approval(_ findings: inout [String]?) -> ResolvedApproval? {
                validApproval(need: need, recipient: recipientID, regime: r, candidates: candidates,
                              resolved: policy.approvalsByRegime[index], country: country, day: day, site: site,
                              counts: counts, findings: &findings)
            }
            var unrecorded: [String]? = nil
            if let a = approval(&unrecorded) {
                traces.add(RuleTrace(rule: need.rule, outcome: .covered, key: need.key, change: need.change, instrument: need.instrument,
                                        approval: a.approval.id))
                if covered == nil || need.rank > covered!.0.rank { covered = (need, a) }
            } else {
                var recorded: [String]? = []
                _ = approval(&recorded)
                let mine = recorded ?? []
                traces.add(RuleTrace(rule: need.rule, outcome: .missing, key: need.key, change: need.change, instrument: need.instrument,
                                        note: mine.isEmpty ? "no approval on file" : "no candidate approval is valid"))
                findings += mine
                if missing == nil || need.rank > missing!.rank { missing = need }
            }
        }
        if let m = missing {
            let mode = m.mode
            return RegimeResult(action: mode == .monitor ? .monitor : .block, rule: m.rule, regime: r.id, instrument: m.instrument,
                                rank: m.rank, approval: nil, findings: findings, exemption: nil, exemptionCounts: true,
                                reason: missingReason(m, regime: r, table: table, recipient: recipientID, monitor: mode == .monitor))
        }
        let (n, a) = covered!
        let reason = n.rank < a.coveredReasons.count ? a.coveredReasons[n.rank]
            : "\(r.id) requires \(n.instrument); covered by approval \(a.approval.id)"
        return RegimeResult(action: .allow, rule: n.rule, regime: r.id, instrument: n.instrument, rank: n.rank, approval: a.approval.id,
                            findings: [], exemption: nil, exemptionCounts: true, reason: reason)
    }

    /// "<regime> requires <instrument> and no valid approval covers <category> to <recipient> (<category>: before -> after)",
    /// appended into one buffer: interpolating the parts separately cost an allocation each.
    static func missingReason(_ m: Need, regime r: Regime, table: RegimeTable, recipient: String, monitor: Bool) -> String {
        var s = ""
        if m.bandIndex >= 0, !m.satisfiedBy.isEmpty {
            s = table.bandMissingPrefixes[m.categoryIndex][m.bandIndex]
            s.reserveCapacity(s.utf8.count + recipient.utf8.count + 64)
            s += recipient
        } else if m.satisfiedBy.isEmpty {
            s.reserveCapacity(160)
            s += r.id; s += " "
            s += m.instrument; s += ": no approval can permit it"
        } else {
            s.reserveCapacity(160)
            s += r.id; s += " requires "; s += m.instrument; s += " and no valid approval covers "; s += m.category.name; s += " to "; s += recipient
        }
        if let c = m.change {
            s += " ("; s += m.category.name; s += ": "; s += String(c.before); s += " -> "; s += String(c.after); s += ")"
        }
        if monitor { s += " (monitor mode: would block)" }
        return s
    }

    /// The first approval valid for the need's instrument and category on `day`, among
    /// `candidates` (indices into `resolved` of the approvals that name `recipient` or every
    /// recipient; any recipient when nil); why each other candidate fails goes to `findings`.
    static func validApproval(need: Need, recipient recipientID: String?, regime r: Regime, candidates: [Int],
                              resolved: [ResolvedApproval], country: CountryCode?, day: PolicyDate,
                              site: Site, counts: CountPreview, findings: inout [String]?) -> ResolvedApproval? {
        let instrument = need.instrument, category = need.category
        for i in candidates {
            let candidate = resolved[i]
            let a = candidate.approval
            let satisfies = need.rank < 64 ? candidate.satisfiesRanks & (1 << UInt64(need.rank)) != 0 : need.satisfiedBy.contains(a.kind)
            if !satisfies {
                findings?.append("\(a.id): a \(a.kind) does not satisfy \(instrument)"); continue
            }
            let coversCategory = need.categoryIndex < 64 ? candidate.categoryMask & (1 << UInt64(need.categoryIndex)) != 0 : a.covers(category)
            if !coversCategory {
                findings?.append("\(a.id): does not cover category \(category)"); continue
            }
            if a.status != .active {
                findings?.append("\(a.id): status is \(a.status.rawValue)"); continue
            }
            if let from = candidate.kind.effectiveFrom, day < from {
                findings?.append("\(a.id): \(a.kind) approvals exist only from \(from)"); continue
            }
            if day < a.issued {
                findings?.append("\(a.id): not valid until it is issued on \(a.issued)"); continue
            }
            if let until = candidate.lastDay, day > until {
                findings?.append("\(a.id): expired; last valid day was \(until)"); continue
            }
            if let e = suspendingEvent(a, site: site, country: country, day: day), case .legalChange(let c) = e.kind {
                findings?.append("\(a.id): suspended by event \(e.id) (legal environment change in \(c) on \(e.date); approval issued \(a.issued))"); continue
            }
            if let cap = a.cap, let recipientID {
                let key = CountKey(scope: .recipient(recipientID), category: category, window: r.window)
                if let after = value(counts, key)?.after, after > cap {
                    findings?.append("\(a.id): volume cap \(cap) exceeded (\(category) to \(recipientID) would be \(after))"); continue
                }
            }
            return candidate
        }
        return nil
    }

    /// A legal-environment change in the recipient's country after the approval was issued.
    static func suspendingEvent(_ a: Approval, site: Site, country: CountryCode?, day: PolicyDate) -> PolicyEvent? {
        guard let country else { return nil }
        return site.events.first { e in
            guard case .legalChange(let c) = e.kind else { return false }
            return c == country && e.date > a.issued && day >= e.date
        }
    }

    static func exemptionMatches(_ ex: SiteExemption, facts: FlowFacts) -> Bool {
        if let r = ex.recipients, !(r.count <= 8 ? r.contains(where: { $0 == facts.recipient.id }) : r.contains(facts.recipient.id)) { return false }
        if !ex.hosts.isEmpty {
            let h = HostPattern.normalize(facts.host)
            if !ex.hosts.contains(where: { $0.matches(normalizedHost: h) }) { return false }
        }
        if !ex.pathPrefixes.isEmpty, !ex.pathPrefixes.contains(where: { facts.path.hasPrefix($0) }) { return false }
        if let c = ex.clients, !(facts.clientName.map(c.contains) ?? false) { return false }
        if let m = ex.methods, !m.contains(facts.method.uppercased()) { return false }
        return true
    }

    static func opaque(_ action: OpaqueFlowAction, rule: String, what: String, site: Site, counts: CountPreview, trace on: Bool) -> Verdict {
        let trace = on ? [RuleTrace(rule: rule, outcome: .decided, note: "site action: \(action.rawValue)")] : []
        switch action {
        case .allow:
            return Verdict(action: .allow, rule: rule, regime: nil, requiredInstrument: nil, approvalUsed: nil, approvalFindings: [],
                           exemption: nil, countsFlow: false, counts: counts,
                           reason: "\(what); allowed by site policy, bytes logged", considered: trace)
        case .block:
            return finish(site.mode(forRule: rule), rule: rule, regime: nil, instrument: nil, counts: counts, traces: trace,
                          reason: "\(what); the site policy blocks such flows")
        case .requireInterception:
            return finish(site.mode(forRule: rule), rule: rule, regime: nil, instrument: nil, counts: counts, traces: trace,
                          reason: "\(what); the site requires inspection: enable TLS interception for this destination")
        }
    }

    static func finish(_ mode: PolicyMode, rule: String, regime: String?, instrument: String?, counts: CountPreview,
                       traces: [RuleTrace], reason: String) -> Verdict {
        let monitor = mode == .monitor
        return Verdict(action: monitor ? .monitor : .block, rule: rule, regime: regime, requiredInstrument: instrument,
                       approvalUsed: nil, approvalFindings: [], exemption: nil, countsFlow: monitor, counts: counts,
                       reason: monitor ? reason + " (monitor mode: would block)" : reason, considered: traces)
    }
}
