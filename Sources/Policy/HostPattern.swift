/// A host name pattern. `*` is a whole label: leading (`*.example.com`) it stands for one or more
/// labels, anywhere else (`api.*.example.com`) for exactly one. Matching ignores case and a trailing dot.
public struct HostPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let labels: [Substring]
    private let leadingWildcard: Bool

    public init?(_ raw: String) {
        let t = raw.lowercased()
        let trimmed = t.hasSuffix(".") ? String(t.dropLast()) : t
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        for p in parts where p != "*" {
            guard p.utf8.allSatisfy({ c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
            }) else { return nil }
        }
        if parts.count == 1 && parts[0] == "*" { return nil }
        text = trimmed
        leadingWildcard = parts[0] == "*"
        labels = leadingWildcard ? Array(parts.dropFirst()) : parts
    }

    /// Whether `host` (already lower-cased, no port, no trailing dot) matches.
    public func matches(normalizedHost host: String) -> Bool {
        let h = host.split(separator: ".", omittingEmptySubsequences: false)
        if leadingWildcard {
            guard h.count > labels.count else { return false }
            return zip(h.suffix(labels.count), labels).allSatisfy { $1 == "*" || $0 == $1 }
        }
        guard h.count == labels.count else { return false }
        return zip(h, labels).allSatisfy { $1 == "*" || $0 == $1 }
    }

    public var hasWildcard: Bool { text.contains("*") }
    public var description: String { text }

    /// Lower-case, without a port and a trailing dot; IPv6 brackets removed.
    public static func normalize(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("[") {
            if let end = h.firstIndex(of: "]") { h = String(h[h.index(after: h.startIndex)..<end]) }
            return h
        }
        if let colon = h.firstIndex(of: ":"), h.firstIndex(of: ":") == h.lastIndex(of: ":") { h = String(h[..<colon]) }
        if h.hasSuffix(".") { h.removeLast() }
        return h
    }
}

/// The registrable domain ("eTLD+1") of a host, from a small built-in list of multi-label public
/// suffixes (enough for common recipients; not the full Public Suffix List).
public enum RegistrableDomain {
    static let multiLabelSuffixes: Set<String> = [
        "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk",
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
        "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk", "com.mo", "com.tw", "net.tw", "org.tw", "edu.tw",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "ne.kr",
        "com.sg", "edu.sg", "gov.sg", "com.my", "com.ph", "co.th", "co.id", "com.vn",
        "co.in", "net.in", "org.in", "com.br", "com.mx", "com.ar", "co.za", "com.tr", "com.ru",
        "com.ua", "com.sa", "co.il", "com.eg", "com.pk", "com.ng",
    ]

    public static func of(_ host: String) -> String {
        let h = HostPattern.normalize(host)
        let labels = h.split(separator: ".")
        guard labels.count > 2 else { return h }
        let last2 = labels.suffix(2).joined(separator: ".")
        return (multiLabelSuffixes.contains(last2) ? labels.suffix(3) : labels.suffix(2)).joined(separator: ".")
    }
}
