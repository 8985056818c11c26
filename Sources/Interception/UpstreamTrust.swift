import Foundation

/// One per-destination exception to the upstream trust every other host gets: for hosts matching
/// `pattern` (HostPatternList syntax), trust an extra CA file, or skip verification altogether.
public struct UpstreamTrustOverride: Sendable, Equatable {
    public enum Trust: Sendable, Hashable {
        /// Trust this PEM CA file in addition to the base trust (system store and global extra CAs).
        case extraCA(file: String)
        /// Do not verify the upstream's certificate (explicit policy; every connection is logged).
        case insecure
    }

    public let pattern: String
    public let trust: Trust

    public init(pattern: String, trust: Trust) {
        self.pattern = pattern
        self.trust = trust
    }

    /// As it would be written on the command line.
    public var flag: String {
        switch trust {
        case .extraCA(let file): return "--upstream-trust \(pattern)=\(file)"
        case .insecure: return "--insecure-upstream-host \(pattern)"
        }
    }

    /// Parses `PATTERN=CAFILE` (as given to `--upstream-trust`).
    public static func extraCA(_ text: String) throws(TLSError) -> UpstreamTrustOverride {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw .invalidOverride("--upstream-trust \(text)", reason: "expected PATTERN=CAFILE")
        }
        return UpstreamTrustOverride(pattern: String(text[..<eq]), trust: .extraCA(file: String(text[text.index(after: eq)...])))
    }
}

/// The client contexts towards upstreams: one per distinct override (they are costly to build and
/// each keeps its own session cache), chosen by the name the upstream certificate is checked
/// against. The first override whose pattern matches wins; otherwise the base context is used.
public final class UpstreamTrustTable: Sendable {
    /// What to open an upstream connection with.
    public struct Choice: Sendable {
        public let context: TLSClientContext
        /// False when an insecure override chose this context: the certificate is not checked.
        public var verifies: Bool { context.configuration.verifyPeer }
        /// The override that chose the context; nil for the base context.
        public let override: UpstreamTrustOverride?
    }

    public let base: TLSClientContext
    private let entries: [(patterns: HostPatternList, choice: Choice)]

    /// Builds every context now, so a bad pattern or an unreadable CA file stops the start.
    /// - Parameters:
    ///   - base: the configuration every host gets; overrides start from it.
    ///   - overrides: in order of precedence.
    public init(base: TLSClientConfiguration, overrides: [UpstreamTrustOverride]) throws(TLSError) {
        self.base = try TLSClientContext(configuration: base)
        var contexts: [UpstreamTrustOverride.Trust: TLSClientContext] = [:]
        var entries: [(HostPatternList, Choice)] = []
        for override in overrides {
            let patterns: HostPatternList
            do {
                patterns = try HostPatternList([override.pattern])
            } catch {
                throw .invalidOverride(override.flag, reason: "\(error)")
            }
            let context: TLSClientContext
            if let shared = contexts[override.trust] {
                context = shared
            } else {
                var configuration = base
                switch override.trust {
                case .extraCA(let file):
                    configuration.extraTrustFiles.append(file)
                    if let problem = Self.unreadable(file) {
                        throw .invalidOverride(override.flag, reason: "CA file \(file): \(problem)")
                    }
                case .insecure:
                    configuration.verifyPeer = false
                }
                do {
                    context = try TLSClientContext(configuration: configuration)
                } catch {
                    throw .invalidOverride(override.flag, reason: "\(error)")
                }
                contexts[override.trust] = context
            }
            entries.append((patterns, Choice(context: context, override: override)))
        }
        self.entries = entries
    }

    /// The context for an upstream whose certificate is checked against `serverName`.
    public func choice(for serverName: String) -> Choice {
        for entry in entries where entry.patterns.matches(serverName) { return entry.choice }
        return Choice(context: base, override: nil)
    }

    /// Distinct client contexts built for overrides (the base one not included).
    public var overrideContextCount: Int {
        var seen: Set<ObjectIdentifier> = []
        for entry in entries { seen.insert(ObjectIdentifier(entry.choice.context)) }
        return seen.count
    }

    /// Why `file` cannot be read, or nil. OpenSSL's own message for a missing file is cryptic.
    private static func unreadable(_ file: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { return "no such file" }
        if isDirectory.boolValue { return "is a directory" }
        guard let handle = FileHandle(forReadingAtPath: file) else { return "permission denied" }
        try? handle.close()
        return nil
    }
}
