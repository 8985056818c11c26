import CustomsCore

/// The names a minted leaf is valid for: the primary one (the client's SNI, used as CN) and the
/// full set (SNI plus, when the upstream was contacted first, the upstream certificate's names).
/// Normalised: lower case, no trailing dot, IP addresses in canonical text form.
public struct LeafNames: Hashable, Sendable, CustomStringConvertible {
    public let primary: String
    /// Sorted and unique; includes `primary`.
    public let all: [String]

    /// More names than this (a CDN certificate can carry hundreds) are dropped, primary kept.
    public static let maximumCount = 100

    public init(primary: String, additional: [String] = []) throws(TLSError) {
        guard let first = Self.normalise(primary) else { throw .invalidName(primary) }
        var set: Set<String> = [first]
        // Upstream names that cannot go into a certificate are skipped rather than fatal.
        for name in additional where set.count < Self.maximumCount {
            if let normalised = Self.normalise(name) { set.insert(normalised) }
        }
        self.primary = first
        self.all = set.sorted()
    }

    /// Cache key: the sorted name set.
    public var key: String { all.joined(separator: ",") }
    public var description: String { all.joined(separator: ", ") }

    /// The names as an openssl.cnf subjectAltName value ("DNS:a,IP:1.2.3.4").
    var subjectAltNameValue: String {
        all.map { IPAddress($0) != nil ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
    }

    static func normalise(_ raw: String) -> String? {
        var name = raw.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if let ip = IPAddress(name) { return ip.description }
        if name.hasSuffix(".") { name.removeLast() }
        let utf8 = Array(name.utf8)
        guard !utf8.isEmpty, utf8.count <= 253 else { return nil }
        let labels = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            guard !label.isEmpty, label.count <= 63 else { return nil }
            if label.elementsEqual([UInt8(ascii: "*")]) {
                guard index == 0, labels.count > 2 else { return nil }
                continue
            }
            for byte in label {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"):
                    continue
                default:
                    return nil
                }
            }
        }
        return name
    }
}
