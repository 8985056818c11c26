import Foundation

/// A parsed Content-Type: `type/subtype; name=value…`.
struct MediaType {
    var type: String
    var parameters: [String: String]

    init?(_ header: String?) {
        guard let header else { return nil }
        let parts = header.split(separator: ";", omittingEmptySubsequences: false)
        let t = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
        guard !t.isEmpty else { return nil }
        type = t
        parameters = [:]
        for p in parts.dropFirst() {
            guard let eq = p.firstIndex(of: "=") else { continue }
            let k = p[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var v = p[p.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            parameters[k] = v
        }
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
