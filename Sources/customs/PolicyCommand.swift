import ArgumentParser
import CustomsCore
import Decision
import Foundation
import Inspection
import Policy

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check and explain policy files.",
        subcommands: [PolicyCheck.self, PolicyExplain.self])
}

struct PolicyCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate site and regime files; print every problem as file:line:col: message.")

    @Option(name: .customLong("regimes"), help: "Extra directory to look regimes up in (repeatable).")
    var regimeDirectories: [String] = []

    @Argument(help: "Site or regime files (a site file is checked with the regimes it names).")
    var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                if PolicySnapshot.isRegimeFile(path: file) {
                    let r = try PolicySnapshot.loadRegime(path: file)
                    print("\(file): ok (regime \(r.id))")
                } else {
                    let s = try PolicySnapshot.load(sitePath: file, regimeDirectories: regimeDirectories)
                    print("\(file): ok (site; regimes \(s.regimes.map(\.id).joined(separator: ", ")); \(s.site.recipients.count) recipients, \(s.site.approvals.count) approvals)")
                }
            } catch {
                failed = true
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct PolicyExplain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show what would happen to a flow: verdict, rules considered, counts, approvals.",
        discussion: """
        Counts are hypothetical: --existing gives the counts before the flow (company:CAT=N, \
        recipient:CAT=N for the matched recipient, recipient:ID:CAT=N), --new the flow's new people \
        per category; after = before + new. Example:
          customs policy explain --config site.yaml --host api.acme-crm.com --new pi=5 \\
            --existing company:pi=99998 --at 2025-06-01
        """)

    @Option(help: "Site policy file (default: the shipped default-site.yaml).") var config: String?
    @Option(name: .customLong("regimes"), help: "Extra directory to look regimes up in (repeatable).") var regimeDirectories: [String] = []
    @Option(help: "Destination host.") var host: String?
    @Option(help: "Destination IP address.") var ip: String?
    @Option(help: "TLS SNI, for tunnels.") var sni: String?
    @Option(help: "Destination country (two letters); default: the recipient's fixed country or a geo override.") var country: String?
    @Option(help: "Client name (as in gateway.clients).") var client: String?
    @Option(help: "HTTP method.") var method: String = "POST"
    @Option(help: "Request path.") var path: String = "/"
    @Option(help: "New people by category, e.g. pi=10,sensitive=2 (0 = carried but not new).") var new: String?
    @Option(help: "Counts before the flow, e.g. company:pi=99990,recipient:sensitive=3.") var existing: String?
    @Option(help: "When (YYYY-MM-DD in the primary regime's calendar, or ISO 8601); default now.") var at: String?
    @Option(help: "Body file to inspect as the gateway would (content type from the extension); its people become --new.") var body: String?
    @Option(help: "Request URL (http://host/path?query) or target (/path?query): its path, query and host are inspected and used as the gateway would; its people become --new.") var url: String?
    @Option(name: .customLong("header"), help: ArgumentHelp("A request header field to inspect, 'Name: value' (repeatable); its people become --new.", valueName: "FIELD")) var headers: [String] = []
    @Flag(help: "Treat the flow as an uninspected tunnel.") var tunnel = false
    @Option(help: "Treat the body as uninspectable for this reason.") var uninspectable: String?
    @Flag(help: "Print the verdict as JSON.") var json = false

    func validate() throws {
        if host == nil && ip == nil && sni == nil && target?.host == nil { throw ValidationError("give --host, --ip, --sni or an absolute --url") }
        for h in headers where !h.contains(":") { throw ValidationError("--header: expected 'Name: value', got '\(h)'") }
        if let ip, IPAddress(ip) == nil { throw ValidationError("--ip: not an IP address: \(ip)") }
        if let country, CountryCode(country) == nil { throw ValidationError("--country: not a two-letter code: \(country)") }
    }

    func run() throws {
        guard let sitePath = config ?? PolicySnapshot.shippedDefaultSitePath() else {
            throw ValidationError("no --config and the shipped Policies/default-site.yaml was not found")
        }
        let policy: PolicySnapshot
        do { policy = try PolicySnapshot.load(sitePath: sitePath, regimeDirectories: regimeDirectories) } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let time = try parseTime(at, calendar: policy.calendar)
        let address = ip.flatMap { IPAddress($0) }
        var cc = country.flatMap { CountryCode($0) }
        if cc == nil, let a = address { cc = policy.countryOverrides.first { $0.network.contains(a) }?.country }
        let target = self.target
        let host = self.host ?? target?.host
        let path = target?.path ?? self.path
        let match = policy.recipient(host: host ?? "", sni: sni, address: address, country: cc)
        var newCounts = try parseNew(new)
        var inspected: InspectionResult?
        let config = inspectionConfiguration(policy: policy, time: time)
        if let body { inspected = try inspect(body, configuration: config) }
        var head: RequestInspector.Finding?
        if target != nil || !headers.isEmpty {
            let fields = headers.map { h -> (name: String, value: String) in
                let colon = h.firstIndex(of: ":")!
                return (String(h[..<colon]), h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let finding = RequestInspector(configuration: config).inspect(path: path, query: target?.query ?? "", headers: fields)
            head = finding
            if !finding.isEmpty {
                inspected = inspected.map { $0.merging(finding.result, sensitivity: config.sensitivity) } ?? finding.result
            }
        }
        if let r = inspected, r.uninspectable == nil {
            for s in r.subjects {
                for c in policy.categories(forKinds: Set(s.kinds), sensitive: s.isSensitive) { newCounts[c, default: 0] += 1 }
            }
        }
        let preview = try buildPreview(policy: policy, recipient: match.id, new: newCounts, existing: existing)
        let unreadable = uninspectable ?? inspected?.uninspectable
        let content: FlowContent = tunnel ? .tunnel : unreadable.map { .uninspectable($0) } ?? .subjects(newByCategory: newCounts)
        let facts = FlowFacts(time: time, clientAddress: nil, clientName: client, method: method,
                              host: host ?? sni ?? ip ?? "", path: path, destination: address,
                              country: cc, recipient: match, content: content)
        let v = Decide.verdict(facts, policy: policy, counts: preview)
        if json {
            print(verdictJSON(v, match: match, time: time))
        } else {
            print("flow: \(method) \(host ?? sni ?? ip ?? "")\(path) at \(ISO8601DateFormatter().string(from: time))")
            print("recipient: \(match.id) (\(match.configured ? "configured" : "unconfigured: registrable domain"), country \(match.country?.description ?? "unknown"))")
            print("outside: \(policy.isOutside(match.country) ? "yes" : "no")")
            if let head {
                let r = head.result
                print("request line and headers: \(r.subjects.count) people\(Self.kinds(r))\(head.foundIn.isEmpty ? "" : " in \(head.foundIn.joined(separator: ", "))")")
            }
            if let body, let r = inspected {
                let what = head.map { $0.isEmpty ? "" : " with the request line and headers" } ?? ""
                print("body: \(body): \(r.records) records, \(r.subjects.count) people\(what)\(Self.kinds(r))\(r.uninspectable.map { "; uninspectable: \($0)" } ?? "")")
            }
            print(v.explanation())
        }
    }

    static func kinds(_ r: InspectionResult) -> String {
        let kinds = r.kindCounts.keys.sorted().filter { r.kindCounts[$0]! > 0 }.map { "\($0.rawValue)=\(r.kindCounts[$0]!)" }
        return kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))"
    }

    /// `--url`: host (absolute URLs only), path without query, and query.
    var target: (host: String?, path: String, query: String)? {
        guard let url else { return nil }
        var rest = Substring(url)
        var host: String?
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            var authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            host = authority.hasPrefix("[") ? String(authority.dropFirst().prefix { $0 != "]" })
                                            : String(authority.prefix { $0 != ":" }).lowercased()
            rest = rest[end...]
        }
        rest = rest.prefix { $0 != "#" }
        let q = rest.firstIndex(of: "?")
        let path = q.map { String(rest[..<$0]) } ?? String(rest)
        return (host, path.isEmpty ? "/" : path, q.map { String(rest[rest.index(after: $0)...]) } ?? "")
    }

    /// The gateway's inspection settings for this site (sensitivity mapping, extra field names).
    func inspectionConfiguration(policy: PolicySnapshot, time: Date) -> InspectionConfiguration {
        var config = InspectionConfiguration(secret: Array("customs policy explain".utf8))
        config.sensitivity = SensitivityMapping.named(policy.sensitivityMappingName) ?? .gbt45574_2025
        config.extraFieldNames = policy.extraFieldNames
        config.now = time
        config.reportValueKeys = true   // exact per-kind counts when the head and the body are merged
        return config
    }

    /// Runs exactly the gateway's inspector on the file, with the site's sensitivity mapping.
    func inspect(_ path: String, configuration config: InspectionConfiguration) throws -> InspectionResult {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--body: cannot read \(path)") }
        let (type, encoding) = InspectCommand.guess(path)
        let inspector = BodyInspector(contentType: type, contentEncoding: encoding, configuration: config)
        data.withUnsafeBytes { inspector.feed($0) }
        return inspector.finish()
    }

    func parseTime(_ s: String?, calendar: CivilCalendar) throws -> Date {
        guard let s else { return Date() }
        if let d = PolicyDate(s) { return d.start(in: calendar) }
        let f = ISO8601DateFormatter()
        if let t = f.date(from: s) { return t }
        throw ValidationError("--at: not a date (YYYY-MM-DD) or ISO 8601 time: \(s)")
    }

    func parseNew(_ s: String?) throws -> [Category: Int] {
        var out: [Category: Int] = [:]
        for part in (s ?? "").split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let n = Int(kv[1]), n >= 0 else { throw ValidationError("--new: expected CATEGORY=N, got '\(part)'") }
            out[Category(String(kv[0]))] = n
        }
        return out
    }

    func buildPreview(policy: PolicySnapshot, recipient: String, new: [Category: Int], existing: String?) throws -> CountPreview {
        var before: [String: Int] = [:]   // "scope/category"
        for part in (existing ?? "").split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let n = Int(kv[1]), n >= 0 else { throw ValidationError("--existing: expected SCOPE:CATEGORY=N, got '\(part)'") }
            let lhs = kv[0].split(separator: ":").map(String.init)
            let scope: String, cat: String
            switch (lhs.count, lhs.first) {
            case (2, "company"): scope = "company"; cat = lhs[1]
            case (2, "recipient"): scope = "recipient:\(recipient)"; cat = lhs[1]
            case (3, "recipient"): scope = "recipient:\(lhs[1])"; cat = lhs[2]
            default: throw ValidationError("--existing: scope must be company:CAT, recipient:CAT or recipient:ID:CAT, got '\(kv[0])'")
            }
            before["\(scope)/\(cat)"] = n
        }
        var out: CountPreview = [:]
        for key in policy.countKeys(forRecipient: recipient) {
            let b = before["\(key.scope)/\(key.category)"] ?? 0
            out[key] = CountChange(before: b, after: b + (new[key.category] ?? 0))
        }
        return out
    }

    func verdictJSON(_ v: Verdict, match: RecipientMatch, time: Date) -> String {
        var obj: [String: Any] = [
            "action": v.action.rawValue, "rule": v.rule, "reason": v.reason, "counts_flow": v.countsFlow,
            "recipient": match.id, "time": ISO8601DateFormatter().string(from: time),
            "approval_findings": v.approvalFindings, "considered": v.considered.map(\.description),
        ]
        obj["regime"] = v.regime
        obj["required_instrument"] = v.requiredInstrument
        obj["approval_used"] = v.approvalUsed
        obj["exemption"] = v.exemption
        var counts: [String: [String: Int]] = [:]
        for (k, c) in v.counts { counts[k.description] = ["before": c.before, "after": c.after] }
        obj["counts"] = counts
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
