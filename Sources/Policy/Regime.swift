import CustomsCore
import Yams

/// Which countries a regime treats as "outside": everything but a list, or exactly a list.
public enum CountrySet: Sendable, Hashable, CustomStringConvertible {
    case allExcept(Set<CountryCode>)
    case only(Set<CountryCode>)

    public func contains(_ c: CountryCode) -> Bool {
        switch self {
        case .allExcept(let s): return !s.contains(c)
        case .only(let s): return s.contains(c)
        }
    }

    public var description: String {
        switch self {
        case .allExcept(let s): return "outside:" + s.sorted().map(\.description).joined(separator: ",")
        case .only(let s): return s.sorted().map(\.description).joined(separator: ",")
        }
    }
}

/// Operator attributes the gateway cannot observe, so the site states them.
public enum OperatorFlag: String, Sendable, CaseIterable {
    case ciio
    case importantData = "important_data"
    case processesOver1M = "processes_over_1m"
}

/// One rung of a ladder: counts in [lower, upper) of `category` need `instrument`.
public final class Band: Sendable {
    public let category: Category
    /// Smallest count inside the band (`more_than: N` is stored as N + 1).
    public let lower: Int
    /// First count above the band, nil when open-ended (until the next band).
    public let upper: Int?
    public let instrument: String
    /// Approval kinds that satisfy `instrument` (resolved once at load).
    public let satisfiedBy: Set<String>
    public let cite: String?
    /// The comparator as the text says it, e.g. `>=100000` or `>1000`.
    public let condition: String
    /// Stable id: `<regime>/<category><condition>/<instrument>`.
    public let rule: String
    /// The instrument's rank in its regime (weakest first), resolved once at load.
    public let rank: Int

    init(category: Category, lower: Int, upper: Int?, instrument: String, satisfiedBy: Set<String>, cite: String?, condition: String, rule: String, rank: Int) {
        self.category = category
        self.lower = lower
        self.upper = upper
        self.instrument = instrument
        self.satisfiedBy = satisfiedBy
        self.cite = cite
        self.condition = condition
        self.rule = rule
        self.rank = rank
    }

    public func contains(_ count: Int) -> Bool { count >= lower && (upper.map { count < $0 } ?? true) }
}

/// What a band requires, ranked weakest first; `satisfiedBy` lists the approval kinds that meet it.
public struct Instrument: Sendable, Hashable {
    public let id: String
    public let rank: Int
    public let satisfiedBy: Set<String>
    public let cite: String?
}

/// A flag or recipient tag that requires an instrument for any personal data, whatever the counts.
public final class RegimeOverride: Sendable {
    public let flag: OperatorFlag?
    public let recipientTag: String?
    public let instrument: String
    public let satisfiedBy: Set<String>
    public let cite: String?
    public let rule: String
    public let rank: Int

    init(flag: OperatorFlag?, recipientTag: String?, instrument: String, satisfiedBy: Set<String>, cite: String?, rule: String, rank: Int) {
        self.flag = flag
        self.recipientTag = recipientTag
        self.instrument = instrument
        self.satisfiedBy = satisfiedBy
        self.cite = cite
        self.rule = rule
        self.rank = rank
    }
}

/// A kind of approval the regime knows, with how long it lasts.
public struct ApprovalKind: Sendable, Hashable {
    public let id: String
    public let validityYears: Int?
    public let extensionYears: Int?
    public let renewalLeadWorkingDays: Int?
    public let cite: String?
    /// The kind exists from this day (e.g. certification under Order No. 20 from 2026-01-01).
    public let effectiveFrom: PolicyDate?
}

/// A ground for exemption the regime defines; sites apply it to flows with predicates.
public struct ExemptionBasis: Sendable, Hashable {
    public let id: String
    public let cite: String?
    public let counts: Bool
}

/// Aggregation scopes a regime's ladder applies to.
public enum ScopeKind: String, Sendable, Hashable, CaseIterable {
    case company
    case recipient
}

/// One law encoded as data.
public final class Regime: Sendable {
    public let id: String
    public let title: String
    public let file: String
    public let effectiveFrom: PolicyDate?
    public let effectiveUntil: PolicyDate?
    public let home: CountryCode?
    public let outside: CountrySet
    public let calendar: CivilCalendar
    public let window: CountingWindow
    public let scopes: [ScopeKind]
    public let categories: [Category]
    public let sensitiveCategory: Category?
    /// Categories a sensitive person is also counted in (e.g. `pi` when the text's PI includes SPI).
    public let sensitiveAlsoCountsAs: [Category]
    public let defaultMapping: String
    public let mappings: [String: [DetectorKind: [Category]]]
    public let instruments: [String: Instrument]
    public let ladder: [Category: [Band]]
    public let overrides: [RegimeOverride]
    public let approvalKinds: [String: ApprovalKind]
    public let exemptions: [String: ExemptionBasis]
    /// Rule id and reason of a flow below every line (built once, used on every verdict).
    public let belowRule: String
    public let belowReason: String
    public let hasRecipientTagOverrides: Bool

    init(id: String, title: String, file: String, effectiveFrom: PolicyDate?, effectiveUntil: PolicyDate?, home: CountryCode?, outside: CountrySet, calendar: CivilCalendar, window: CountingWindow, scopes: [ScopeKind], categories: [Category], sensitiveCategory: Category?, sensitiveAlsoCountsAs: [Category], defaultMapping: String, mappings: [String: [DetectorKind: [Category]]], instruments: [String: Instrument], ladder: [Category: [Band]], overrides: [RegimeOverride], approvalKinds: [String: ApprovalKind], exemptions: [String: ExemptionBasis]) {
        self.id = id
        self.title = title
        self.file = file
        self.effectiveFrom = effectiveFrom
        self.effectiveUntil = effectiveUntil
        self.home = home
        self.outside = outside
        self.calendar = calendar
        self.window = window
        self.scopes = scopes
        self.categories = categories
        self.sensitiveCategory = sensitiveCategory
        self.sensitiveAlsoCountsAs = sensitiveAlsoCountsAs
        self.defaultMapping = defaultMapping
        self.mappings = mappings
        self.instruments = instruments
        self.ladder = ladder
        self.overrides = overrides
        self.approvalKinds = approvalKinds
        self.exemptions = exemptions
        belowRule = "\(id)/below-thresholds"
        belowReason = "below every line of \(id)"
        hasRecipientTagOverrides = overrides.contains { $0.recipientTag != nil }
    }

    public func isOutside(_ c: CountryCode) -> Bool { outside.contains(c) }

    /// Whether the regime is in force on `day` (drafts carry the date they were published).
    public func inForce(on day: PolicyDate) -> Bool {
        if let f = effectiveFrom, day < f { return false }
        if let u = effectiveUntil, day > u { return false }
        return true
    }

    /// The band `count` falls in for `category`, nil below the first line.
    public func band(_ category: Category, count: Int) -> Band? {
        guard let bands = ladder[category] else { return nil }
        var found: Band?
        for b in bands where count >= b.lower {
            if b.upper.map({ count < $0 }) ?? true { found = b }
        }
        return found
    }

    /// The first line above `count` for `category`.
    public func nextBand(_ category: Category, count: Int) -> Band? {
        ladder[category]?.first { $0.lower > count }
    }

    public func rank(_ instrument: String) -> Int { instruments[instrument]?.rank ?? 0 }
}

extension Regime {
    static let noneInstrument = "none"

    /// Parses a regime document; problems go to `sink`, nil when the document is unusable.
    static func parse(_ root: Node, sink: ProblemSink) -> Regime? {
        guard var r = MapReader(root, sink, what: "regime") else { return nil }
        _ = r.string("kind")
        let id = r.string("id", required: true) ?? ""
        if !id.isEmpty, !isIdentifier(id) { sink.add(r.value("id"), "regime id '\(id)' may use only letters, digits, '-', '_' and '.'") }
        let title = r.string("title") ?? id
        let from = r.date("effective_from")
        let until = r.date("effective_until")
        if let f = from, let u = until, u < f { sink.add(r.value("effective_until"), "effective_until \(u) is before effective_from \(f)") }
        var home: CountryCode?
        if let h = r.value("home"), let s = h.asString(sink, "'home'") {
            home = CountryCode(s)
            if home == nil { sink.add(h, "'home' must be a two-letter country code, not '\(s)'") }
        }

        var groups: [String: Set<CountryCode>] = [:]
        if let g = r.value("country_groups"), var gm = MapReader(g, sink, what: "country_groups") {
            for name in gm.keys {
                guard let list = gm.strings(name) else { continue }
                groups[name] = parseCountries(list, sink: sink)
            }
            gm.finish()
        }
        let outside = parseOutside(r.required("outside"), groups: groups, sink: sink) ?? .only([])

        var calendar = CivilCalendar.utc
        if let o = r.value("utc_offset"), let s = o.asString(sink, "'utc_offset'") {
            if let secs = parseOffset(s) { calendar = CivilCalendar(utcOffsetSeconds: secs) }
            else { sink.add(o, "'utc_offset' must look like +08:00 or -05:00, not '\(s)'") }
        }
        let window = r.word("window", CountingWindow.self, allowed: CountingWindow.allCases) ?? .calendarYear
        if !r.has("window") { sink.add(root, "regime is missing required key 'window'") }

        var scopes: [ScopeKind] = []
        if let list = r.strings("scopes", required: true) {
            for (s, n) in list {
                if let k = ScopeKind(rawValue: s) { if !scopes.contains(k) { scopes.append(k) } }
                else { sink.add(n, "scope must be 'company' or 'recipient', not '\(s)'") }
            }
        }

        var categories: [Category] = []
        if let list = r.strings("categories", required: true) {
            for (s, n) in list {
                let c = Category(s)
                if categories.contains(c) { sink.add(n, "duplicate category '\(s)'") } else { categories.append(c) }
            }
        }
        func knownCategory(_ s: String, _ n: Node) -> Category? {
            let c = Category(s)
            if categories.contains(c) { return c }
            sink.add(n, "unknown category '\(s)' (this regime defines: \(categories.map(\.name).joined(separator: ", ")))")
            return nil
        }
        var sensitive: Category?
        if let s = r.string("sensitive_category"), let n = r.value("sensitive_category") { sensitive = knownCategory(s, n) }
        var alsoCounts: [Category] = []
        if let list = r.strings("sensitive_also_counts_as") {
            for (s, n) in list { if let c = knownCategory(s, n) { alsoCounts.append(c) } }
        }

        var mappings: [String: [DetectorKind: [Category]]] = [:]
        if let mnode = r.required("mappings"), var mm = MapReader(mnode, sink, what: "mappings") {
            for name in mm.keys {
                guard let table = mm.value(name), var tm = MapReader(table, sink, what: "mapping '\(name)'") else { continue }
                var out: [DetectorKind: [Category]] = [:]
                for kindName in tm.keys {
                    guard let kind = DetectorKind(rawValue: kindName) else {
                        sink.add(tm.keyNode(kindName), "unknown detector kind '\(kindName)' (known: \(DetectorKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                        _ = tm.value(kindName)
                        continue
                    }
                    guard let list = tm.strings(kindName) else { continue }
                    out[kind] = list.compactMap { knownCategory($0.0, $0.1) }
                }
                tm.finish()
                mappings[name] = out
            }
            mm.finish()
        }
        var defaultMapping = mappings.keys.sorted().first ?? ""
        if let d = r.string("default_mapping", required: true) {
            if mappings[d] == nil { sink.add(r.value("default_mapping"), "default_mapping '\(d)' is not one of the mappings (\(mappings.keys.sorted().joined(separator: ", ")))") }
            else { defaultMapping = d }
        }

        var kinds: [String: ApprovalKind] = [:]
        if let knode = r.value("approval_kinds"), var km = MapReader(knode, sink, what: "approval_kinds") {
            for name in km.keys {
                guard let v = km.value(name) else { continue }
                if v.isNull { kinds[name] = ApprovalKind(id: name, validityYears: nil, extensionYears: nil, renewalLeadWorkingDays: nil, cite: nil, effectiveFrom: nil); continue }
                guard var m = MapReader(v, sink, what: "approval kind '\(name)'") else { continue }
                let validity = m.int("validity_years"), ext = m.int("extension_years"), lead = m.int("renewal_lead_working_days")
                for (val, key) in [(validity, "validity_years"), (ext, "extension_years"), (lead, "renewal_lead_working_days")] {
                    if let v = val, v < 0 { sink.add(m.value(key), "'\(key)' must not be negative") }
                }
                kinds[name] = ApprovalKind(id: name, validityYears: validity, extensionYears: ext, renewalLeadWorkingDays: lead,
                                           cite: m.string("cite"), effectiveFrom: m.date("effective_from"))
                m.finish()
            }
            km.finish()
        }

        var instruments: [String: Instrument] = [noneInstrument: Instrument(id: noneInstrument, rank: 0, satisfiedBy: [], cite: nil)]
        if let inode = r.required("instruments"), let items = inode.asSequence(sink, "'instruments'") {
            var rank = 1
            for item in items {
                guard var m = MapReader(item, sink, what: "instrument") else { continue }
                guard let iid = m.string("id", required: true) else { m.finish(); continue }
                var by: Set<String> = []
                for (k, n) in m.strings("satisfied_by") ?? [] {
                    if kinds[k] == nil { sink.add(n, "unknown approval kind '\(k)' (approval_kinds: \(kinds.keys.sorted().joined(separator: ", ")))") }
                    by.insert(k)
                }
                let cite = m.string("cite")
                m.finish()
                if iid == noneInstrument { continue }
                if instruments[iid] != nil { sink.add(item, "duplicate instrument '\(iid)'"); continue }
                instruments[iid] = Instrument(id: iid, rank: rank, satisfiedBy: by, cite: cite)
                rank += 1
            }
        }
        func knownInstrument(_ s: String, _ n: Node?) -> Bool {
            if instruments[s] != nil { return true }
            sink.add(n, "unknown instrument '\(s)' (instruments: \(instruments.keys.sorted().joined(separator: ", ")))")
            return false
        }

        var ladder: [Category: [Band]] = [:]
        if let lnode = r.required("ladder"), var lm = MapReader(lnode, sink, what: "ladder") {
            for catName in lm.keys {
                guard let v = lm.value(catName) else { continue }
                guard let cat = knownCategory(catName, lm.keyNode(catName) ?? v), let items = v.asSequence(sink, "ladder for '\(catName)'") else { continue }
                var bands: [(Band, Node)] = []
                for item in items {
                    if let b = parseBand(item, category: cat, regime: id, sink: sink, instruments: instruments, knownInstrument: knownInstrument) {
                        if let (prev, _) = bands.last {
                            if b.lower <= prev.lower {
                                sink.add(item, "bands for '\(catName)' must be in ascending order: \(b.condition) is not above \(prev.condition)")
                            } else if let pu = prev.upper, b.lower < pu {
                                sink.add(item, "band \(b.condition) overlaps the band before it (\(prev.condition), up to \(pu))")
                            } else if instruments[b.instrument].map({ i in i.rank < (instruments[prev.instrument]?.rank ?? 0) }) ?? false {
                                sink.add(item, "band \(b.condition) requires a weaker instrument (\(b.instrument)) than the band below it (\(prev.instrument))")
                            }
                        }
                        bands.append((b, item))
                    }
                }
                ladder[cat] = bands.map(\.0)
            }
            lm.finish()
        }

        var overrides: [RegimeOverride] = []
        if let onode = r.value("overrides"), let items = onode.asSequence(sink, "'overrides'") {
            for item in items {
                guard var m = MapReader(item, sink, what: "override") else { continue }
                let flag = m.word("flag", OperatorFlag.self, allowed: OperatorFlag.allCases)
                let tag = m.string("recipient_tag")
                if (flag == nil) == (tag == nil) && !(m.has("flag") && flag == nil) {
                    sink.add(item, "an override needs exactly one of 'flag' or 'recipient_tag'")
                }
                let inst = m.string("instrument", required: true) ?? ""
                let ok = inst.isEmpty ? false : knownInstrument(inst, m.value("instrument"))
                let cite = m.string("cite")
                m.finish()
                guard ok, flag != nil || tag != nil else { continue }
                let what = flag.map { "flag:\($0.rawValue)" } ?? "tag:\(tag!)"
                overrides.append(RegimeOverride(flag: flag, recipientTag: tag, instrument: inst,
                                                satisfiedBy: instruments[inst]?.satisfiedBy ?? [], cite: cite, rule: "\(id)/\(what)/\(inst)",
                                                rank: instruments[inst]?.rank ?? 0))
            }
        }

        var exemptions: [String: ExemptionBasis] = [:]
        if let enode = r.value("exemptions"), var em = MapReader(enode, sink, what: "exemptions") {
            for name in em.keys {
                guard let v = em.value(name), var m = MapReader(v, sink, what: "exemption '\(name)'") else { continue }
                exemptions[name] = ExemptionBasis(id: name, cite: m.string("cite"), counts: m.bool("counts") ?? true)
                m.finish()
            }
            em.finish()
        }
        r.finish()

        return Regime(id: id, title: title, file: sink.file, effectiveFrom: from, effectiveUntil: until, home: home,
                      outside: outside, calendar: calendar, window: window, scopes: scopes, categories: categories,
                      sensitiveCategory: sensitive, sensitiveAlsoCountsAs: alsoCounts, defaultMapping: defaultMapping,
                      mappings: mappings, instruments: instruments, ladder: ladder, overrides: overrides,
                      approvalKinds: kinds, exemptions: exemptions)
    }

    private static func parseBand(_ item: Node, category: Category, regime: String, sink: ProblemSink,
                                  instruments: [String: Instrument], knownInstrument: (String, Node?) -> Bool) -> Band? {
        guard var m = MapReader(item, sink, what: "band") else { return nil }
        let atLeast = m.int("at_least"), moreThan = m.int("more_than")
        let below = m.int("below"), atMost = m.int("at_most")
        let inst = m.string("instrument", required: true)
        let cite = m.string("cite")
        m.finish()
        var lower: Int, cond: String
        switch (atLeast, moreThan) {
        case (let a?, nil): lower = a; cond = ">=\(a)"
        case (nil, let b?): lower = b + 1; cond = ">\(b)"
        case (nil, nil):
            sink.add(item, "a band needs its lower line: 'at_least' (>=, 以上) or 'more_than' (>, 超过)")
            return nil
        default:
            sink.add(item, "a band has either 'at_least' or 'more_than', not both")
            return nil
        }
        if lower < 0 { sink.add(item, "a band's line must not be negative"); lower = 0 }
        var upper: Int?
        switch (below, atMost) {
        case (let b?, nil): upper = b; cond += ",<\(b)"
        case (nil, let b?): upper = b + 1; cond += ",<=\(b)"
        case (nil, nil): upper = nil
        default:
            sink.add(item, "a band has either 'below' or 'at_most', not both")
            return nil
        }
        if let u = upper, u <= lower { sink.add(item, "band \(cond) is empty (upper line not above lower line)"); return nil }
        guard let i = inst, knownInstrument(i, item) else { return nil }
        let head = cond.split(separator: ",").first.map(String.init) ?? cond
        return Band(category: category, lower: lower, upper: upper, instrument: i, satisfiedBy: instruments[i]?.satisfiedBy ?? [],
                    cite: cite, condition: cond,
                    rule: "\(regime)/\(category.name)\(head)/\(i)", rank: instruments[i]?.rank ?? 0)
    }

    static func parseCountries(_ list: [(String, Node)], sink: ProblemSink) -> Set<CountryCode> {
        var out: Set<CountryCode> = []
        for (s, n) in list {
            if let c = CountryCode(s) { out.insert(c) } else { sink.add(n, "not a two-letter country code: '\(s)'") }
        }
        return out
    }

    static func parseOutside(_ node: Node?, groups: [String: Set<CountryCode>], sink: ProblemSink) -> CountrySet? {
        guard let node else { return nil }
        if case .sequence = node {
            guard let list = node.asStrings(sink, "'outside'") else { return nil }
            return .only(parseCountries(list, sink: sink))
        }
        guard let s = node.asString(sink, "'outside'") else { return nil }
        if s.hasPrefix("outside:") {
            let codes = s.dropFirst("outside:".count).split(separator: ",").map { (String($0).trimmingCharacters(in: .whitespaces), node) }
            if codes.isEmpty { sink.add(node, "'outside:' needs at least one home country, e.g. outside:CN") }
            return .allExcept(parseCountries(codes, sink: sink))
        }
        if let g = groups[s] { return .only(g) }
        sink.add(node, "'outside' must be 'outside:CC', a list of country codes, or a group from country_groups (\(groups.keys.sorted().joined(separator: ", "))), not '\(s)'")
        return nil
    }

    static func parseOffset(_ s: String) -> Int? {
        guard let sign = s.first, sign == "+" || sign == "-" else { return nil }
        let parts = s.dropFirst().split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), h <= 14, m < 60 else { return nil }
        return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
