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

    // The lookups below read `fields` through an unsafe buffer: iterating the array, or
    // subscripting it, copies each element it passes (a retain and a release of its name and
    // value), and every request passes here several times.

    /// The first value of `name`, or nil when absent.
    public func first(_ name: String) -> String? {
        fields.withUnsafeBufferPointer { f in
            for i in f.indices where f[i].name.asciiCaseInsensitiveEquals(name) { return f[i].value }
            return nil
        }
    }

    /// Every value of `name`, in order (one element per field line; comma lists are not split).
    public func values(_ name: String) -> [String] {
        fields.compactMap { $0.name.asciiCaseInsensitiveEquals(name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { first(name) != nil }

    /// Whether any `name` field, read as a comma-separated list, holds `token` (case-insensitive).
    public func containsToken(_ name: String, _ token: String) -> Bool {
        fields.withUnsafeBufferPointer { f in
            for i in f.indices where f[i].name.asciiCaseInsensitiveEquals(name) {
                if HTTPHeaders.list(f[i].value, contains: token) { return true }
            }
            return false
        }
    }

    /// Whether the comma-separated list `value` has an element equal to `token` (ASCII case-
    /// insensitive), compared on the bytes in place.
    static func list(_ value: String, contains token: String) -> Bool {
        let found = value.utf8.withContiguousStorageIfAvailable { bytes in
            token.utf8.withContiguousStorageIfAvailable { wanted in
                var hit = false
                forEachListRange(bytes) { r in
                    if r.count == wanted.count {
                        var k = 0
                        while k < wanted.count, ByteClass.lower(bytes[r.lowerBound + k]) == ByteClass.lower(wanted[k]) { k += 1 }
                        hit = k == wanted.count
                    }
                    return !hit
                }
                return hit
            }
        }
        if let found, let result = found { return result }
        var result = false
        forEachListElement(value) { element in
            result = element.asciiCaseInsensitiveEquals(token)
            return !result
        }
        return result
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

    /// Framing and routing fields are never removed on a `Connection` token's say-so: a client
    /// writing `Connection: Content-Length` would otherwise make us forward a body the upstream
    /// cannot delimit (request smuggling).
    static let protectedFromConnectionTokens = ["content-length", "transfer-encoding", "host"]

    /// Removes hop-by-hop fields (RFC 9110 §7.6.1): Connection, Keep-Alive, Proxy-Connection,
    /// Proxy-Authorization, Proxy-Authenticate, TE, Trailer, Upgrade, and every field named by a
    /// `Connection` token. Transfer-Encoding is left to the caller, who re-frames the body.
    public mutating func removeHopByHop() {
        let listed = connectionListed()
        guard fields.contains(where: { HTTPHeaders.isHopByHop($0.name, listed) }) else { return }
        fields.removeAll { HTTPHeaders.isHopByHop($0.name, listed) }
    }

    /// Appends the fields `removeHopByHop()` would keep, except those `omit` names, reading the
    /// field list in place: a proxy forwards every head, and a filtered copy costs an allocation
    /// and a retain and release of every name and value.
    public func serializeEndToEnd(into out: inout [UInt8], omitting omit: (String) -> Bool) {
        out.appendWriting(maxBytes: estimatedSize) { writeEndToEnd(to: &$0, omitting: omit) }
    }

    /// `serializeEndToEnd` through a cursor with room for `estimatedSize` bytes.
    public func writeEndToEnd(to out: inout ByteCursor, omitting omit: (String) -> Bool) {
        let listed = connectionListed()
        fields.withUnsafeBufferPointer { f in
            for i in f.indices where !HTTPHeaders.isHopByHop(f[i].name, listed) && !omit(f[i].name) {
                out.put(utf8: f[i].name)
                out.put(ByteClass.colon)
                out.put(ByteClass.sp)
                out.put(utf8: f[i].value)
                out.put(ByteClass.cr)
                out.put(ByteClass.lf)
            }
        }
    }

    /// Field names a `Connection` field lists beyond the fixed hop-by-hop ones.
    func connectionListed() -> [Substring] {
        var listed: [Substring] = []
        fields.withUnsafeBufferPointer { f in
            for i in f.indices where f[i].name.equalsLowercased("connection") {
                // `keep-alive` is nearly all a Connection field ever says, and it is a fixed
                // hop-by-hop name: the common response needs no list at all.
                if f[i].value.equalsLowercased("keep-alive") { continue }
                HTTPHeaders.forEachListElement(f[i].value) { token in
                    if !HTTPHeaders.isFixedHopByHop(token)
                        && !HTTPHeaders.protectedFromConnectionTokens.contains(where: { token.asciiCaseInsensitiveEquals($0) }) {
                        listed.append(token)
                    }
                    return true
                }
            }
        }
        return listed
    }

    private static func isHopByHop(_ name: String, _ listed: [Substring]) -> Bool {
        isFixedHopByHop(name) || listed.contains { name.asciiCaseInsensitiveEquals($0) }
    }

    /// The fixed hop-by-hop names, dispatched on length so most fields cost one comparison; for
    /// a name still in the bytes it arrived in, and (below) for a String or Substring.
    static func isFixedHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: return ByteClass.equalsLowercased(name, "te")
        case 7: return ByteClass.equalsLowercased(name, "trailer") || ByteClass.equalsLowercased(name, "upgrade")
        case 10: return ByteClass.equalsLowercased(name, "connection") || ByteClass.equalsLowercased(name, "keep-alive")
        case 16: return ByteClass.equalsLowercased(name, "proxy-connection")
        case 18: return ByteClass.equalsLowercased(name, "proxy-authenticate")
        case 19: return ByteClass.equalsLowercased(name, "proxy-authorization")
        default: return false
        }
    }

    private static func isFixedHopByHop(_ name: some StringProtocol) -> Bool {
        if let fixed = name.utf8.withContiguousStorageIfAvailable({ isFixedHopByHop(UnsafeRawBufferPointer($0)) }) {
            return fixed
        }
        return isFixedHopByHop(String(name))   // a bridged string: made native, hence contiguous
    }

    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }

    static func listElements(_ value: String) -> [Substring] {
        var out: [Substring] = []
        forEachListElement(value) { out.append($0); return true }
        return out
    }

    /// Calls `body` with each trimmed, non-empty element of a comma-separated list until it returns false.
    static func forEachListElement(_ value: String, _ body: (Substring) -> Bool) {
        // Split and trim on contiguous UTF-8 bytes by offset: `split(separator:)` walks Characters
        // (grapheme breaking), and stepping String indices goes through the UTF-8 view's
        // witnesses byte by byte; this runs on every request's Connection field.
        var text = value
        text.makeContiguousUTF8()   // a no-op for the native strings the parser makes
        let owner = text            // the same storage, read while `text` lends its bytes
        let utf8 = owner.utf8
        text.withUTF8 { bytes in
            forEachListRange(bytes) { r in
                let lower = utf8.index(utf8.startIndex, offsetBy: r.lowerBound)
                let upper = utf8.index(lower, offsetBy: r.count)
                return body(owner[lower..<upper])
            }
        }
    }

    /// Calls `body` with the offsets of each trimmed, non-empty element of the comma-separated
    /// list in `bytes`, until it returns false.
    static func forEachListRange(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) {
        var start = 0
        var i = 0
        while true {
            let atEnd = i == bytes.count
            if atEnd || bytes[i] == UInt8(ascii: ",") {
                var a = start, b = i
                while a < b, bytes[a] == ByteClass.sp || bytes[a] == ByteClass.htab { a += 1 }
                while b > a, bytes[b - 1] == ByteClass.sp || bytes[b - 1] == ByteClass.htab { b -= 1 }
                if a < b, !body(a..<b) { return }
                if atEnd { return }
                start = i + 1
            }
            i += 1
        }
    }

    /// Bytes the fields take on the wire.
    public var estimatedSize: Int {
        fields.withUnsafeBufferPointer { f in
            var size = 0
            for i in f.indices { size += f[i].name.utf8.count + f[i].value.utf8.count + 4 }
            return size
        }
    }

    func serialize(into out: inout [UInt8]) {
        for i in fields.indices {
            out.appendUTF8(fields[i].name)
            out.append(ByteClass.colon)
            out.append(ByteClass.sp)
            out.appendUTF8(fields[i].value)
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
