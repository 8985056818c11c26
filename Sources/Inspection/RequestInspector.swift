import CustomsCore
import Foundation
import Synchronization

/// Personal data in a request's target and header fields: the query (`?id_card=…&phone=…`), the
/// path (`/users/110101…/orders`) and header values (`X-User-Phone`, `Cookie`, `Referer`, `From`).
///
/// The head is one record (one requester, usually). Each query parameter, path segment, cookie and
/// header is one part of it, joined like the parts of a body's record: `?name=张三&phone=…` is one
/// person, two different ID numbers are two people. Field names give roles as in bodies; a header's
/// name is its field name (`X-User-Name` → name). The parts go through the same parsers, detectors
/// and subject keys as bodies — a form-urlencoded body built from them, fed to `BodyInspector` — so a
/// person in the query and in the body has one subject key, and this file depends only on the
/// inspector's public behaviour.
///
/// A pre-scan (no allocation) passes over heads with nothing the inspector could find — no digit
/// group of six or more, no `@`, no non-ASCII text, no field named for personal data — which is
/// what most requests look like, so they never build an inspector.
public struct RequestInspector: Sendable {
    /// What the head holds.
    public struct Finding: Sendable {
        /// The head as one record; empty when no person was found.
        public var result: InspectionResult
        /// Where people were found, in request order: "path", "query", "header:<lower-case name>".
        public var foundIn: [String]
        /// When people were found in the path: the path with every segment that may hold an
        /// identifier replaced by `*`, for logs that must hold no personal data. Nil otherwise.
        public var redactedPath: String?

        public init(result: InspectionResult = InspectionResult(), foundIn: [String] = [], redactedPath: String? = nil) {
            self.result = result; self.foundIn = foundIn; self.redactedPath = redactedPath
        }

        public var isEmpty: Bool { result.subjects.isEmpty }
    }

    private let configuration: InspectionConfiguration
    private let fields: FieldDictionary
    /// Whether a field name names personal data, per name: most requests carry the same few
    /// header and parameter names, and classifying a name is far dearer than pre-scanning a value.
    private let namedCache = BoundedCache<Bool>()
    /// What to do with a header field, per name as sent.
    private let headerCache = BoundedCache<HeaderKind>()

    public init(configuration: InspectionConfiguration) {
        self.configuration = configuration
        self.fields = FieldDictionary(extra: configuration.extraFieldNames)
    }

    /// Header fields that frame or negotiate the message and cannot carry a data subject's
    /// details; `Proxy-Authorization` identifies the client, not a data subject.
    static let ignoredHeaders: Set<String> = [
        "host", "content-length", "transfer-encoding", "content-type", "content-encoding", "connection",
        "proxy-connection", "keep-alive", "te", "trailer", "upgrade", "expect", "cache-control", "pragma",
        "range", "proxy-authorization", "max-forwards", "date", "via",
    ]

    static func ignores(header lowercased: String) -> Bool {
        ignoredHeaders.contains(lowercased) || lowercased.hasPrefix("accept") || lowercased.hasPrefix("if-")
    }

    /// Inspects the path (without query), the query (without `?`) and the header fields.
    /// `now` is the flow's date (ages of minors); default the configuration's.
    public func inspect(path: String, query: String, headers: [(name: String, value: String)], now: Date? = nil) -> Finding {
        guard mayHoldPersonalData(path: path, query: query, headers: headers) else { return Finding() }
        var parts = Parts()
        collect(path: path, query: query, headers: headers, into: &parts)
        guard !parts.items.isEmpty else { return Finding() }
        var config = configuration
        if let now { config.now = now }
        let combined = Self.run(parts.items, config)
        guard !combined.subjects.isEmpty else { return Finding() }
        let labels = parts.labels
        var foundIn = labels
        if labels.count > 1 {
            // Several places: each is looked at on its own to say where the people were.
            foundIn = labels.indices.filter { i in !Self.run(parts.items.filter { $0.label == i }, config).subjects.isEmpty }
                .map { labels[$0] }
        }
        let redacted = foundIn.contains("path") ? Self.redact(path: path) : nil
        return Finding(result: combined, foundIn: foundIn, redactedPath: redacted)
    }

    static func redact(path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { segment in
                var s = segment
                return s.withUTF8 { mayHoldIdentifier($0, decode: true) } ? "*" : String(segment)
            }
            .joined(separator: "/")
    }

    // MARK: the pre-scan

    enum HeaderKind: Sendable {
        case ignored, plain, cookie, url, authorization
        /// Its name says what it holds (`X-User-Name`): any value may be personal data.
        case named
    }

    private func headerKind(_ name: String) -> HeaderKind {
        if let known = headerCache.lookup(name) { return known }
        let lower = name.lowercased()
        let kind: HeaderKind
        if Self.ignores(header: lower) { kind = .ignored }
        else {
            switch lower {
            case "cookie": kind = .cookie
            case "referer", "origin": kind = .url
            case "authorization": kind = .authorization
            default: kind = namesPersonalData(String(Self.fieldName(header: lower))) ? .named : .plain
            }
        }
        headerCache.store(name, kind)
        return kind
    }

    /// False when the detectors could find nothing in the head: no value that may hold an
    /// identifier, no field named for personal data. Works on the bytes in place; most requests
    /// end here. It errs on the side of true: the full inspection decides.
    func mayHoldPersonalData(path: String, query: String, headers: [(name: String, value: String)]) -> Bool {
        if Self.mayHoldIdentifier(path) { return true }
        if mayHoldPersonalData(parameters: query, separator: UInt8(ascii: "&"), plus: true) { return true }
        for (name, value) in headers where !value.isEmpty {
            switch headerKind(name) {
            case .ignored: continue
            case .named: return true
            case .plain: if Self.mayHoldIdentifier(value) { return true }
            case .cookie: if mayHoldPersonalData(parameters: value, separator: UInt8(ascii: ";"), plus: false) { return true }
            case .url:
                if Self.mayHoldIdentifier(value) { return true }
                if let q = value.utf8.firstIndex(of: UInt8(ascii: "?")),
                   mayHoldPersonalData(parameters: String(value[value.utf8.index(after: q)...]), separator: UInt8(ascii: "&"), plus: true) {
                    return true
                }
            case .authorization:
                // Basic credentials and JSON Web Tokens are encoded: only decoding tells.
                let scheme = value.utf8.prefix { $0 != 0x20 }
                if scheme.count == 5, String(Substring(scheme)).lowercased() == "basic" { return true }
                if value.utf8.lazy.filter({ $0 == UInt8(ascii: ".") }).count == 2 { return true }
                if Self.mayHoldIdentifier(value) { return true }
            }
        }
        return false
    }

    /// `a=1&b=2` (or cookies): a value that may hold an identifier, or a name naming personal data.
    private func mayHoldPersonalData(parameters text: String, separator: UInt8, plus: Bool) -> Bool {
        guard !text.isEmpty else { return false }
        if Self.mayHoldIdentifier(text) { return true }
        var named = false
        Self.forEach(Substring(text), separatedBy: separator) { pair in
            guard !named, let eq = pair.utf8.firstIndex(of: UInt8(ascii: "=")), pair.utf8.index(after: eq) < pair.endIndex else { return }
            var key = Self.trimmingLeadingSpaces(pair[..<eq])
            if key.utf8.contains(UInt8(ascii: "%")) || (plus && key.utf8.contains(UInt8(ascii: "+"))) {
                key = Substring(String(decoding: Self.percentDecode(key.utf8, plus: plus), as: UTF8.self))
            }
            named = namesPersonalData(Self.leafName(String(key)))
        }
        return named
    }

    static func mayHoldIdentifier(_ text: String) -> Bool {
        var s = text
        return s.withUTF8 { mayHoldIdentifier($0, decode: true) }
    }

    // MARK: parts of the head

    struct Item {
        /// Index into `Parts.labels`.
        var label: Int
        var field: String
        var value: [UInt8]
    }

    /// Where a part is; its label is only spelled out for the parts kept.
    enum Place {
        case path, query
        /// The lower-case field name.
        case header(String)

        var label: String {
            switch self {
            case .path: return "path"
            case .query: return "query"
            case .header(let name): return "header:" + name
            }
        }
    }

    struct Parts {
        var labels: [String] = []
        var items: [Item] = []

        mutating func add(_ place: Place, field: String, value: [UInt8]) {
            let label = place.label
            let i: Int
            if let last = labels.last, last == label { i = labels.count - 1 }
            else if let found = labels.firstIndex(of: label) { i = found }
            else { labels.append(label); i = labels.count - 1 }
            items.append(Item(label: i, field: field, value: value))
        }
    }

    private func collect(path: String, query: String, headers: [(name: String, value: String)], into parts: inout Parts) {
        collect(path: Substring(path), label: .path, into: &parts)
        collect(query: Substring(query), label: .query, into: &parts)
        for (name, value) in headers {
            let lower = name.lowercased()
            if Self.ignores(header: lower) { continue }
            let label = Place.header(lower)
            switch lower {
            case "cookie":
                Self.forEach(Substring(value), separatedBy: UInt8(ascii: ";")) { pair in
                    let (k, v) = Self.split(Self.trimmingLeadingSpaces(pair))
                    consider(label, field: k, value: v, plus: false, into: &parts)
                }
            case "referer", "origin":
                collect(url: Substring(value), label: label, into: &parts)
            case "authorization":
                collect(authorization: value, label: label, into: &parts)
            default:
                consider(label, field: Self.fieldName(header: lower), value: Substring(value), plus: false, into: &parts)
            }
        }
    }

    /// Path segments, percent-decoded, each one part.
    private func collect(path: Substring, label: Place, into parts: inout Parts) {
        Self.forEach(path, separatedBy: UInt8(ascii: "/")) { segment in
            consider(label, field: "path", value: segment, plus: false, into: &parts)
        }
    }

    /// The non-empty pieces of `s` between separators, without building an array of them.
    static func forEach(_ s: Substring, separatedBy separator: UInt8, _ body: (Substring) -> Void) {
        var start = s.startIndex
        let utf8 = s.utf8
        var i = utf8.startIndex
        while i < utf8.endIndex {
            if utf8[i] == separator {
                if start < i { body(s[start..<i]) }
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        if start < s.endIndex { body(s[start...]) }
    }

    /// `a=1&b=2`; a parameter without `=` is a bare value.
    private func collect(query: Substring, label: Place, into parts: inout Parts) {
        Self.forEach(query, separatedBy: UInt8(ascii: "&")) { pair in
            let (k, v) = Self.split(pair)
            consider(label, field: k, value: v, plus: true, into: &parts)
        }
    }

    /// A URL in a header (`Referer: https://app.example/users/…?phone=…`): its path and query.
    private func collect(url: Substring, label: Place, into parts: inout Parts) {
        let u = url.utf8
        var rest = url[..<(u.firstIndex(of: UInt8(ascii: "#")) ?? u.endIndex)]
        if let colon = rest.utf8.firstIndex(of: UInt8(ascii: ":")), rest.utf8[colon...].starts(with: "://".utf8) {
            let authority = rest.utf8.index(colon, offsetBy: 3)
            guard let slash = rest.utf8[authority...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") })
            else { return }
            rest = rest[slash...]
        }
        if let q = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            collect(path: rest[..<q], label: label, into: &parts)
            collect(query: rest[rest.utf8.index(after: q)...], label: label, into: &parts)
        } else {
            collect(path: rest, label: label, into: &parts)
        }
    }

    /// `Basic` credentials: the user name (an e-mail or a phone number, often); never the password.
    /// A bearer JSON Web Token: its claims (`email`, `phone_number`, `name`…). Anything else as text.
    private func collect(authorization value: String, label: Place, into parts: inout Parts) {
        let words = value.split(separator: " ", maxSplits: 1)
        guard words.count == 2 else {
            consider(label, field: "authorization", value: Substring(value), plus: false, decode: false, into: &parts)
            return
        }
        let token = words[1].trimmingCharacters(in: .whitespaces)
        switch words[0].lowercased() {
        case "basic":
            guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { return }
            let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            consider(label, field: "authorization", value: user, plus: false, decode: false, into: &parts)
        case "bearer":
            let segments = token.split(separator: ".", omittingEmptySubsequences: false)
            if segments.count == 3, let claims = Self.jwtClaims(segments[1]) {
                for (k, v) in claims { consider(label, field: Substring(k), value: Substring(v), plus: false, decode: false, into: &parts) }
            } else {
                consider(label, field: "authorization", value: Substring(token), plus: false, decode: false, into: &parts)
            }
        default:
            consider(label, field: "authorization", value: Substring(value), plus: false, decode: false, into: &parts)
        }
    }

    /// The top-level string and number claims of a JWT payload (base64url JSON).
    static func jwtClaims(_ segment: Substring) -> [(String, String)]? {
        var b64 = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var out: [(String, String)] = []
        for (k, v) in object.sorted(by: { $0.key < $1.key }) {
            if let s = v as? String { out.append((k, s)) }
            else if let n = v as? NSNumber { out.append((k, n.stringValue)) }
        }
        return out
    }

    /// `X-User-Phone` → `phone`, `X-Id-Card` → `id-card`: the custom-header prefix, and a leading
    /// "user-" (the header is about the user the request is for), say nothing about the value.
    static func fieldName(header lower: String) -> Substring {
        var name = Substring(lower)
        if name.hasPrefix("x-") { name = name.dropFirst(2) }
        if name.hasPrefix("user-"), name.count > 5 { name = name.dropFirst(5) }
        return name
    }

    static func split(_ pair: Substring) -> (Substring, Substring) {
        guard let eq = pair.utf8.firstIndex(of: UInt8(ascii: "=")) else { return ("", pair) }
        return (pair[..<eq], pair[pair.utf8.index(after: eq)...])
    }

    static func trimmingLeadingSpaces(_ s: Substring) -> Substring {
        s[(s.utf8.firstIndex { $0 != 0x20 } ?? s.utf8.endIndex)...]
    }

    /// Keeps one part when the pre-scan says the inspector could find something in it.
    /// `decode`: percent-escapes (and `+` as a space when `plus`) are undone first.
    private func consider(_ label: Place, field rawField: Substring, value: Substring, plus: Bool, decode: Bool = true,
                          into parts: inout Parts) {
        let field: String
        if decode, rawField.utf8.contains(UInt8(ascii: "%")) || (plus && rawField.utf8.contains(UInt8(ascii: "+"))) {
            field = String(decoding: Self.percentDecode(rawField.utf8, plus: plus), as: UTF8.self)
        } else {
            field = String(rawField)
        }
        // A name holding an identifier (`?13812345678=1`, `contacts[13812345678]`) is read as one too.
        var name = field
        if name.withUTF8({ ValueScanner.mayHoldIdentifier($0) }) { parts.add(label, field: "value", value: Array(field.utf8)) }
        let leaf = Self.leafName(field)
        var v = value
        guard !v.isEmpty, v.withUTF8({ Self.mayHoldIdentifier($0, decode: decode) }) || namesPersonalData(leaf) else { return }
        let bytes = decode ? Self.percentDecode(value.utf8, plus: plus) : Array(value.utf8)
        parts.add(label, field: partField(leaf), value: bytes)
    }

    /// `contacts[0][phone]` → `phone`, as the form parser names bracketed fields.
    static func leafName(_ field: String) -> String {
        guard field.utf8.contains(UInt8(ascii: "[")) else { return field }
        let inner = field.split(whereSeparator: { $0 == "[" || $0 == "]" })
        if let last = inner.last(where: { !$0.allSatisfy(\.isNumber) }) { return String(last) }
        return ""
    }

    private func namesPersonalData(_ field: String) -> Bool {
        guard !field.isEmpty else { return false }
        if let known = namedCache.lookup(field) { return known }
        let named: Bool
        switch fields.baseRole(Substring(field)) {
        case .none, .notPerson, .accountID: named = false
        default: named = true
        }
        namedCache.store(field, named)
        return named
    }

    /// An application's account-id field (`uid`, `passenger_id`) only links records inside a body,
    /// and its value is not scanned there; in a head there is nothing to link, and an ID number
    /// sent as `?passenger_id=…` is a person, so such a part is scanned as a plain value.
    private func partField(_ leaf: String) -> String {
        if leaf.isEmpty || fields.baseRole(Substring(leaf)) == .accountID { return "value" }
        return leaf
    }

    /// Whether the detectors could find anything in `value` without help from a field name: a
    /// group of six or more digits (single or double spaces/dashes between groups, as phone numbers
    /// are written; the shortest identifier, a Hong Kong ID, has six), an `@`, or non-ASCII text
    /// (full-width digits, names and addresses). Masked values (`138****5678`) have no such group.
    static func mayHoldIdentifier(_ value: UnsafeBufferPointer<UInt8>, decode: Bool) -> Bool {
        var digits = 0, separators = 0
        var i = 0
        let n = value.count
        while i < n {
            var c = value[i]
            if decode, c == UInt8(ascii: "%"), i + 2 < n, let hi = hexValue(value[i + 1]), let lo = hexValue(value[i + 2]) {
                c = hi << 4 | lo
                i += 2
            }
            i += 1
            if c >= 0x80 || c == UInt8(ascii: "@") { return true }
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits += 1
                separators = 0
                if digits >= 6 { return true }
            } else if digits > 0 && separators < 2 && (c == 0x20 || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")) {
                separators += 1
            } else {
                digits = 0
                separators = 0
            }
        }
        return false
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    static func percentDecode(_ s: Substring.UTF8View, plus: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == UInt8(ascii: "%") {
                let h = s.index(after: i)
                if h < s.endIndex, s.index(after: h) < s.endIndex,
                   let hi = hexValue(s[h]), let lo = hexValue(s[s.index(after: h)]) {
                    out.append(hi << 4 | lo)
                    i = s.index(h, offsetBy: 2)
                    continue
                }
            }
            out.append(plus && c == UInt8(ascii: "+") ? 0x20 : c)
            i = s.index(after: i)
        }
        return out
    }

    // MARK: inspecting the parts

    /// The parts as one form-urlencoded record: `p0[phone]=…&p1[path]=…`. Each part has its own
    /// bracket group, so the form parser gives it its own scope and the record joins them as it joins
    /// the objects of one JSON record.
    static func run(_ items: [Item], _ config: InspectionConfiguration) -> InspectionResult {
        var form: [UInt8] = []
        form.reserveCapacity(items.reduce(0) { $0 + $1.field.utf8.count + $1.value.count + 8 })
        for (n, item) in items.enumerated() {
            if n > 0 { form.append(UInt8(ascii: "&")) }
            form.append(contentsOf: "p\(n)[".utf8)
            escape(item.field.utf8, into: &form, field: true)
            form.append(contentsOf: "]=".utf8)
            escape(item.value, into: &form, field: false)
        }
        let inspector = BodyInspector(contentType: "application/x-www-form-urlencoded", contentEncoding: nil,
                                      configuration: config)
        inspector.feed(form)
        return inspector.finish()
    }

    /// Escapes what the form syntax would read as structure; other bytes (UTF-8 text) stay as they are.
    private static func escape<S: Sequence>(_ bytes: S, into out: inout [UInt8], field: Bool) where S.Element == UInt8 {
        let hex = Array("0123456789ABCDEF".utf8)
        for c in bytes {
            if field && (c == UInt8(ascii: "[") || c == UInt8(ascii: "]")) { out.append(UInt8(ascii: "_")); continue }
            switch c {
            case UInt8(ascii: "&"), UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "%"), 0x00..<0x20:
                out.append(UInt8(ascii: "%")); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
            default:
                out.append(c)
            }
        }
    }
}

/// What a name means, shared by the queues that inspect requests. Bounded, since parameter and
/// header names are the client's to choose.
final class BoundedCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])
    static var capacity: Int { 4096 }

    func lookup(_ name: String) -> Value? { entries.withLock { $0[name] } }

    func store(_ name: String, _ value: Value) {
        entries.withLock { if $0.count < Self.capacity { $0[name] = value } }
    }
}

extension InspectionResult {
    /// Two parts of one flow (its head and its body) as one result: a subject key found in both is
    /// one person, whose kinds are those seen in either part. Per-kind value counts are exact when
    /// both parts report value keys, else they are added (a value in both parts is counted twice).
    public func merging(_ other: InspectionResult, sensitivity: SensitivityMapping) -> InspectionResult {
        if other.subjects.isEmpty && other.records == 0 && other.uninspectable == nil {
            var copy = self
            copy.bytes += other.bytes
            return copy
        }
        var subjects = self.subjects
        var index: [SubjectKey: Int] = [:]
        for (i, s) in subjects.enumerated() { index[s.key] = i }
        for s in other.subjects {
            if let i = index[s.key] {
                subjects[i].kinds.formUnion(s.kinds)
                subjects[i].isSensitive = sensitivity.isSensitive(subjects[i].kinds)
            } else {
                index[s.key] = subjects.count
                subjects.append(s)
            }
        }
        var valueKeys = self.valueKeys
        for (k, keys) in other.valueKeys { valueKeys[k, default: []].formUnion(keys) }
        let exact = !self.valueKeys.isEmpty && !other.valueKeys.isEmpty
        var kinds: [DetectorKind: Int] = [:]
        for k in DetectorKind.allCases where k != .minor {
            kinds[k] = exact ? valueKeys[k]?.count ?? 0 : (kindCounts[k] ?? 0) + (other.kindCounts[k] ?? 0)
        }
        let minors = subjects.filter { $0.kinds.contains(.minor) }.count
        kinds[.minor] = minors
        let why = [uninspectable, other.uninspectable].compactMap { $0 }
        var merged = InspectionResult(
            records: records + other.records, subjects: subjects, kindCounts: kinds, minors: minors,
            bytes: bytes + other.bytes, uninspectable: why.isEmpty ? nil : why.joined(separator: "; "),
            categoryCounts: [.pi: subjects.count, .sensitive: subjects.filter(\.isSensitive).count])
        merged.valueKeys = valueKeys
        return merged
    }
}
