/// An HTTP field section: ordered, duplicates kept, names compared case-insensitively.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public var fields: [(name: String, value: String)]

    public init() { fields = [] }

    public init(_ fields: [(name: String, value: String)]) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// The first value of `name`, or nil when absent.
    public func first(_ name: String) -> String? {
        for field in fields where field.name.asciiCaseInsensitiveEquals(name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order (one element per field line; comma lists are not split).
    public func values(_ name: String) -> [String] {
        fields.compactMap { $0.name.asciiCaseInsensitiveEquals(name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { first(name) != nil }

    /// Whether any `name` field, read as a comma-separated list, holds `token` (case-insensitive).
    public func containsToken(_ name: String, _ token: String) -> Bool {
        for field in fields where field.name.asciiCaseInsensitiveEquals(name) {
            for element in HTTPHeaders.listElements(field.value) where element.asciiCaseInsensitiveEquals(token) {
                return true
            }
        }
        return false
    }

    /// The elements of every `name` field read as comma-separated lists, trimmed, empty ones dropped.
    public func tokens(_ name: String) -> [Substring] {
        var result: [Substring] = []
        for field in fields where field.name.asciiCaseInsensitiveEquals(name) {
            result.append(contentsOf: HTTPHeaders.listElements(field.value))
        }
        return result
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every `name` field with one field holding `value`, at the first one's position.
    public mutating func replaceOrAdd(_ name: String, _ value: String) {
        if let index = fields.firstIndex(where: { $0.name.asciiCaseInsensitiveEquals(name) }) {
            fields[index].value = value
            var seen = false
            fields.removeAll { field in
                guard field.name.asciiCaseInsensitiveEquals(name) else { return false }
                defer { seen = true }
                return seen
            }
        } else {
            add(name, value)
        }
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.asciiCaseInsensitiveEquals(name) }
    }

    /// Fields a proxy must not forward (RFC 9110 §7.6.1). Transfer-Encoding is left to the caller,
    /// who re-frames the body.
    static let hopByHop = ["connection", "keep-alive", "proxy-connection", "proxy-authorization",
                           "proxy-authenticate", "te", "trailer", "upgrade"]

    /// Framing and routing fields are never removed on a `Connection` token's say-so: a client
    /// writing `Connection: Content-Length` would otherwise make us forward a body the upstream
    /// cannot delimit (request smuggling).
    static let protectedFromConnectionTokens = ["content-length", "transfer-encoding", "host"]

    /// Removes hop-by-hop fields, including every field named by a `Connection` token.
    public mutating func removeHopByHop() {
        var names = HTTPHeaders.hopByHop
        for token in tokens("connection") {
            let lowered = token.lowercased()
            if !HTTPHeaders.protectedFromConnectionTokens.contains(lowered) { names.append(lowered) }
        }
        fields.removeAll { field in names.contains { field.name.asciiCaseInsensitiveEquals($0) } }
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    static func listElements(_ value: String) -> [Substring] {
        value.split(separator: ",", omittingEmptySubsequences: true).compactMap { element in
            let trimmed = element.trimmingOWS()
            return trimmed.isEmpty ? nil : trimmed
        }
    }

    func serialize(into out: inout [UInt8]) {
        for field in fields {
            out.append(contentsOf: field.name.utf8)
            out.append(ByteClass.colon)
            out.append(ByteClass.sp)
            out.append(contentsOf: field.value.utf8)
            out.append(ByteClass.cr)
            out.append(ByteClass.lf)
        }
    }
}

extension Substring {
    func trimmingOWS() -> Substring {
        var s = self
        while let f = s.utf8.first, f == ByteClass.sp || f == ByteClass.htab { s = s.dropFirst() }
        while let l = s.utf8.last, l == ByteClass.sp || l == ByteClass.htab { s = s.dropLast() }
        return s
    }
}
