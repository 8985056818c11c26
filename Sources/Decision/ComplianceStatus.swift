import CustomsCore
import Foundation
import Policy

/// One counter's standing against a regime's ladder, for `customs ledger status`.
public struct StatusLine: Sendable {
    public let regime: String
    public let key: CountKey
    public let count: Int
    /// Whether the regime's ladder applies to this scope (China: company; US: per recipient).
    public let ladderApplies: Bool
    /// The band the count is in (`>=100000,<1000000`), nil below the first line or when not applied.
    public let band: String?
    public let instrument: String
    /// The count at which the next band starts, its instrument, and how many more people reach it.
    public let nextLine: Int?
    public let nextInstrument: String?
    public let distance: Int?
    /// A valid approval that satisfies the current band's instrument.
    public let approval: String?
    public let approvalExpires: PolicyDate?
    /// First day of the renewal window (the kind's lead in working days before expiry).
    public let renewalOpens: PolicyDate?
    public let renewalWindowOpen: Bool
    /// True when the band needs an instrument and no valid approval satisfies it.
    public let missingApproval: Bool
}

/// Compliance standing per regime, scope, category and window. Working days skip Saturdays and
/// Sundays only: there is no public-holiday (or make-up working day) table, so the renewal window
/// opens a little late around Chinese holidays; file early.
public enum ComplianceStatus {
    public static func report(policy: PolicySnapshot, counts: [CountKey: Int], now: Date) -> [StatusLine] {
        var lines: [StatusLine] = []
        let site = policy.site
        var recipientIDs = site.recipients.map(\.id)
        for k in counts.keys.sorted() {
            if case .recipient(let id) = k.scope, !recipientIDs.contains(id) { recipientIDs.append(id) }
        }
        for (index, r) in policy.regimes.enumerated() {
            let today = PolicyDate(dayNumber: r.calendar.dayNumber(now))
            let scopes: [CountScope] = [.company] + recipientIDs.map { .recipient($0) }
            for scope in scopes {
                let applies: Bool
                let recipient: String?
                switch scope {
                case .company: applies = r.scopes.contains(.company); recipient = nil
                case .recipient(let id): applies = r.scopes.contains(.recipient); recipient = id
                }
                for (ci, c) in r.categories.enumerated() {
                    let key = CountKey(scope: scope, category: c, window: r.window)
                    let n = counts[key] ?? 0
                    let band = applies ? r.band(c, count: n) : nil
                    let next = applies ? r.nextBand(c, count: n) : nil
                    var instrument = band?.instrument ?? "none"
                    if applies, !site.flags.isEmpty || recipient != nil {
                        let tags = recipient.flatMap { policy.recipient(id: $0)?.tags } ?? []
                        for o in r.overrides where (o.flag.map(site.flags.contains) ?? false) || (o.recipientTag.map(tags.contains) ?? false) {
                            if n > 0, r.rank(o.instrument) > r.rank(instrument) { instrument = o.instrument }
                        }
                    }
                    var approval: String?, expires: PolicyDate?, opens: PolicyDate?
                    if instrument != "none" {
                        var ignored: [String]? = nil
                        let country = recipient.flatMap { policy.recipient(id: $0)?.country }
                        let need = Decide.Need(source: .status(instrument: instrument, satisfiedBy: r.instruments[instrument]?.satisfiedBy ?? [],
                                                                        rank: r.rank(instrument)), mode: site.mode, category: c, categoryIndex: ci, key: nil, change: nil)
                        let resolved = policy.approvalsByRegime[index]
                        approval = Decide.validApproval(need: need, recipient: recipient, regime: r,
                                                        candidates: recipient.map { policy.tablesByRegime[index].candidates(recipient: $0) } ?? Array(resolved.indices),
                                                        resolved: resolved, country: country, day: today, site: site, counts: [:],
                                                        findings: &ignored)?.approval.id
                        if let id = approval, let a = site.approvals.first(where: { $0.id == id }) {
                            let kind = r.approvalKinds[a.kind]
                            expires = a.validUntil(kind: kind)
                            if let e = expires, let lead = kind?.renewalLeadWorkingDays { opens = e.subtracting(workingDays: lead) }
                        }
                    }
                    let open = opens.map { today >= $0 } ?? false
                    lines.append(StatusLine(regime: r.id, key: key, count: n, ladderApplies: applies, band: band?.condition,
                                            instrument: instrument, nextLine: next?.lower, nextInstrument: next?.instrument,
                                            distance: next.map { $0.lower - n }, approval: approval, approvalExpires: expires,
                                            renewalOpens: opens, renewalWindowOpen: open,
                                            missingApproval: instrument != "none" && approval == nil))
                }
            }
        }
        return lines
    }

    public static func renderTable(_ lines: [StatusLine]) -> String {
        let header = ["REGIME", "SCOPE", "CATEGORY", "WINDOW", "COUNT", "BAND", "REQUIRES", "NEXT LINE", "TO GO", "APPROVAL", "EXPIRES", "RENEWAL"]
        var rows = [header]
        for l in lines {
            let renewal: String
            if let o = l.renewalOpens { renewal = l.renewalWindowOpen ? "open since \(o)" : "opens \(o)" } else { renewal = "-" }
            rows.append([
                l.regime, l.key.scope.description, l.key.category.name, l.key.window.rawValue, String(l.count),
                l.ladderApplies ? (l.band ?? "below") : "n/a", l.instrument,
                l.nextLine.map { "\($0) (\(l.nextInstrument ?? ""))" } ?? "-", l.distance.map(String.init) ?? "-",
                l.approval ?? (l.missingApproval ? "MISSING" : "-"), l.approvalExpires?.description ?? "-", renewal,
            ])
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    public static func renderJSON(_ lines: [StatusLine]) -> String {
        let objects: [[String: Any]] = lines.map { l in
            var o: [String: Any] = [
                "regime": l.regime, "scope": l.key.scope.description, "category": l.key.category.name,
                "window": l.key.window.rawValue, "count": l.count, "ladder_applies": l.ladderApplies,
                "requires": l.instrument, "missing_approval": l.missingApproval, "renewal_window_open": l.renewalWindowOpen,
            ]
            o["band"] = l.band
            o["next_line"] = l.nextLine
            o["next_instrument"] = l.nextInstrument
            o["distance"] = l.distance
            o["approval"] = l.approval
            o["approval_expires"] = l.approvalExpires?.description
            o["renewal_opens"] = l.renewalOpens?.description
            return o
        }
        let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys, .prettyPrinted])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
