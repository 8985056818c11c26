/// Host name patterns such as a no-intercept list: `bank.example` (that host), `*.bank.example`
/// (any name below it, not itself), `.bank.example` (itself and any name below), `*` (everything).
/// Matching ignores case and a trailing dot.
public struct HostPatternList: Sendable, Equatable {
    private var exact: Set<String> = []
    private var suffixes: [String] = []        // ".bank.example": strictly below
    private var matchesEverything = false
    public let patterns: [String]

    public init(_ patterns: [String]) throws(TLSError) {
        self.patterns = patterns
        for raw in patterns {
            var pattern = raw.lowercased()
            if pattern.hasSuffix(".") { pattern.removeLast() }
            if pattern == "*" {
                matchesEverything = true
            } else if pattern.hasPrefix("*.") {
                let base = String(pattern.dropFirst(2))
                guard LeafNames.normalise(base) == base, !base.contains("*") else { throw .invalidName(raw) }
                suffixes.append("." + base)
            } else if pattern.hasPrefix(".") {
                let base = String(pattern.dropFirst())
                guard LeafNames.normalise(base) == base, !base.contains("*") else { throw .invalidName(raw) }
                exact.insert(base)
                suffixes.append("." + base)
            } else {
                guard let name = LeafNames.normalise(pattern), !name.contains("*") else { throw .invalidName(raw) }
                exact.insert(name)
            }
        }
    }

    public var isEmpty: Bool { patterns.isEmpty }

    public func matches(_ host: String) -> Bool {
        if matchesEverything { return true }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if exact.contains(name) { return true }
        return suffixes.contains { name.hasSuffix($0) }
    }
}
