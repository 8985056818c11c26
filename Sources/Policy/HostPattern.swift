/// A host name pattern. `*` is a whole label: leading (`*.example.com`) it stands for one or more
/// labels, anywhere else (`api.*.example.com`) for exactly one. Matching ignores case and a trailing dot.
public struct HostPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let labels: [Substring]
    private let leadingWildcard: Bool
    public let hasWildcard: Bool

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
        hasWildcard = parts.contains("*")
    }

    /// Whether `host` (already lower-cased, no port, no trailing dot) matches. Runs per request
    /// for every configured pattern, so it compares labels from the end in place, allocating nothing.
    public func matches(normalizedHost host: String) -> Bool {
        var host = host
        return host.withUTF8 { h in
            var end = h.count
            for label in labels.reversed() {
                if end < 0 { return false }  // the host ran out of labels
                var start = end
                while start > 0 && h[start - 1] != UInt8(ascii: ".") { start -= 1 }
                if label != "*" && !label.utf8.elementsEqual(UnsafeBufferPointer(rebasing: h[start..<end])) { return false }
                end = start - 1  // -1 once the first label is used
            }
            // A leading wildcard needs one or more labels left (end ≥ 0: a dot was left over, even
            // before an empty label); without it, none may be (-1: the first label was used).
            return leadingWildcard ? end >= 0 : end == -1
        }
    }

    public var description: String { text }

    /// Lower-case, without a port and a trailing dot; IPv6 brackets removed.
    public static func normalize(_ host: String) -> String {
        // Most hosts are already in that form: tell so from the bytes and hand the same String back.
        var plain = !host.isEmpty
        for b in host.utf8 where (b >= 0x41 && b <= 0x5A) || b == UInt8(ascii: ":") || b == UInt8(ascii: "[") || b >= 0x80 {
            plain = false
            break
        }
        if plain && host.utf8.last != UInt8(ascii: ".") { return host }
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
        // Runs per request for unconfigured recipients: the last three non-empty labels are found
        // by scanning back from the end, without splitting the whole name.
        let u = h.utf8
        var last: [Substring] = []
        last.reserveCapacity(3)
        var end = u.endIndex
        var i = end
        while last.count < 3 {
            let atStart = i == u.startIndex
            if atStart || u[u.index(before: i)] == UInt8(ascii: ".") {
                if i != end { last.append(h[i..<end]) }
                if atStart { break }
                end = u.index(before: i)
                i = end
            } else {
                i = u.index(before: i)
            }
        }
        guard last.count > 2 else { return h }
        let last2 = "\(last[1]).\(last[0])"
        return multiLabelSuffixes.contains(last2) ? "\(last[2]).\(last2)" : last2
    }
}
