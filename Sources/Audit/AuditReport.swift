import Foundation

/// `customs review`: filters, summaries and the three output formats.
public struct AuditFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var recipient: String?
    public var action: String?
    public var rule: String?
    public var client: String?
    public init(since: Date? = nil, until: Date? = nil, recipient: String? = nil, action: String? = nil,
                rule: String? = nil, client: String? = nil) {
        self.since = since; self.until = until; self.recipient = recipient; self.action = action
        self.rule = rule; self.client = client
    }

    public func matches(_ r: AuditRecord) -> Bool {
        if let since, r.time < since { return false }
        if let until, r.time >= until { return false }
        if let recipient, r.recipient != recipient && r.recipientName != recipient { return false }
        if let action, r.action != action { return false }
        if let rule, r.rule != rule && !r.rule.hasPrefix(rule + "/") { return false }
        if let client, r.clientAddress != client && r.clientName != client && r.user != client { return false }
        return true
    }
}

public enum AuditSummaryKey: String, Sendable, CaseIterable {
    case recipient, rule, day, client

    func key(_ r: AuditRecord) -> String {
        switch self {
        case .recipient: return r.recipient
        case .rule: return r.rule
        case .day: return String(AuditTime.format(r.time).prefix(10))
        case .client: return r.clientName ?? r.user ?? r.clientAddress
        }
    }
}

public enum AuditReport {
    static let columns = ["time", "incident", "action", "rule", "recipient", "client", "method", "host", "path", "new subjects"]

    static func row(_ r: AuditRecord) -> [String] {
        let subjects = r.subjectsNew.keys.sorted().map { "\($0)=\(r.subjectsNew[$0]!)" }.joined(separator: " ")
        return [String(AuditTime.format(r.time).prefix(19)).replacingOccurrences(of: "T", with: " "),
                r.incident, r.action, r.rule, r.recipientName.map { "\(r.recipient) (\($0))" } ?? r.recipient,
                r.clientName ?? r.user ?? r.clientAddress, r.method, r.host, r.path,
                r.uninspectable.map { "uninspectable: \($0)" } ?? subjects]
    }

    /// Aligned columns, newest last, with totals by action underneath.
    public static func table(_ records: [AuditRecord]) -> String {
        var rows = [columns] + records.map(row)
        let widths = (0..<columns.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        rows.insert(widths.map { String(repeating: "-", count: $0) }, at: 1)
        var out = rows.map { r in
            zip(r, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
        var byAction: [String: Int] = [:]
        var subjects: [String: Int] = [:]
        for r in records {
            byAction[r.action, default: 0] += 1
            for (k, v) in r.subjectsNew { subjects[k, default: 0] += v }
        }
        out += "\n\n\(records.count) record\(records.count == 1 ? "" : "s")"
        if !byAction.isEmpty {
            out += ": " + byAction.keys.sorted().map { "\($0) \(byAction[$0]!)" }.joined(separator: ", ")
        }
        if !subjects.isEmpty {
            out += "; subjects in these flows: " + subjects.keys.sorted().map { "\($0) \(subjects[$0]!)" }.joined(separator: ", ")
        }
        return out + "\n"
    }

    public static func csv(_ records: [AuditRecord]) -> String {
        func cell(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let header = ["time", "incident", "action", "rule", "regime", "required_instrument", "approval", "recipient",
                      "client", "method", "host", "path", "country", "destination", "subjects_new", "reason"]
        var lines = [header.joined(separator: ",")]
        for r in records {
            let subjects = r.subjectsNew.keys.sorted().map { "\($0)=\(r.subjectsNew[$0]!)" }.joined(separator: " ")
            lines.append([AuditTime.format(r.time), r.incident, r.action, r.rule, r.regime ?? "", r.requiredInstrument ?? "",
                          r.approval ?? "", r.recipient, r.clientName ?? r.clientAddress, r.method, r.host, r.path,
                          r.country ?? "", r.destination ?? "", subjects, r.reason].map(cell).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object per line, as stored but without the chain fields.
    public static func json(_ records: [AuditRecord]) -> String {
        records.map { r -> String in
            var body = AuditJSON.encode(r, prev: "")
            if let range = body.range(of: ",\"prev\":\"\"", options: .backwards) { body.removeSubrange(range) }
            return body + "}"
        }.joined(separator: "\n") + (records.isEmpty ? "" : "\n")
    }

    /// Counts per key and action, busiest first, with a total line.
    public static func summary(_ records: [AuditRecord], by key: AuditSummaryKey) -> String {
        var groups: [String: [String: Int]] = [:]
        var subjects: [String: Int] = [:]
        for r in records {
            groups[key.key(r), default: [:]][r.action, default: 0] += 1
            subjects[key.key(r), default: 0] += r.subjectsNew.values.reduce(0, +)
        }
        let actions = Array(Set(records.map(\.action))).sorted()
        let header = [key.rawValue] + actions + ["total", "subjects"]
        var rows = groups.keys.sorted { a, b in
            key == .day ? a < b : (groups[a]!.values.reduce(0, +), b) > (groups[b]!.values.reduce(0, +), a)
        }.map { k -> [String] in
            let g = groups[k]!
            return [k] + actions.map { String(g[$0] ?? 0) } + [String(g.values.reduce(0, +)), String(subjects[k]!)]
        }
        var totals = ["total"] + actions.map { a in String(records.filter { $0.action == a }.count) }
        totals += [String(records.count), String(subjects.values.reduce(0, +))]
        rows = [header] + rows + [totals]
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        rows.insert(widths.map { String(repeating: "-", count: $0) }, at: 1)
        rows.insert(widths.map { String(repeating: "-", count: $0) }, at: rows.count - 1)
        return rows.map { r in
            r.enumerated().map { i, v in
                i == 0 ? v.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - v.count) + v
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
