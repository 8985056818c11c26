import Foundation

/// A parsed Content-Type: `type/subtype; name=value…`.
struct MediaType {
    var type: String
    var parameters: [String: String]

    init?(_ header: String?) {
        guard let header else { return nil }
        let parts = header.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        let t = Self.trimmed(parts[0]).lowercased()
        guard !t.isEmpty else { return nil }
        type = t
        parameters = [:]
        for p in parts.dropFirst() {
            guard let eq = p.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let k = Self.trimmed(p[..<eq]).lowercased()
            var v = Self.trimmed(p[p.index(after: eq)...])
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            parameters[k] = v
        }
    }

    /// Without surrounding spaces and tabs (Foundation's trimming is costly once per body).
    private static func trimmed(_ s: Substring.UTF8View) -> String {
        var a = s.startIndex, b = s.endIndex
        while a < b && (s[a] == 0x20 || s[a] == 0x09) { a = s.index(after: a) }
        while b > a && (s[s.index(before: b)] == 0x20 || s[s.index(before: b)] == 0x09) { b = s.index(before: b) }
        return String(Substring(s[a..<b]))
    }

    enum Syntax { case json, ndjson, csv, tsv, form, multipart(boundary: String), text }

    /// The parser for this type, or nil when we do not understand it.
    var syntax: Syntax? {
        switch type {
        case "application/json", "text/json", "application/problem+json": return .json
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl",
             "application/jsonlines", "application/x-jsonlines", "application/json-lines", "text/jsonl":
            return .ndjson
        case "text/csv", "application/csv", "text/comma-separated-values": return .csv
        case "text/tab-separated-values", "text/tsv": return .tsv
        case "application/x-www-form-urlencoded": return .form
        case "multipart/form-data", "multipart/mixed":
            guard let b = parameters["boundary"], !b.isEmpty else { return nil }
            return .multipart(boundary: b)
        case "text/plain", "text/markdown": return .text
        default:
            if type.hasSuffix("+json") { return .json }
            return nil
        }
    }
}
