import CustomsCore

/// Address space that belongs to no country (RFC 6890 and its updates), reported as such
/// rather than as a country or as "unknown". Raw values are the names printed and used in policies.
public enum SpecialRange: String, Sendable, CaseIterable, Hashable {
    case loopback
    case privateUse = "private"
    case linkLocal = "link_local"
    case documentation
    case cgnat
    case multicast
    case unspecified
    case broadcast
    case benchmarking
    case reserved

    /// Table value for this range: small integers never collide with a country code,
    /// whose two ASCII capitals are at least 0x4141.
    var tableValue: UInt16 { UInt16(Self.ordered.firstIndex(of: self)! + 1) }

    static let ordered: [SpecialRange] = allCases

    /// The registry entries, both families. Nested entries (0.0.0.0/8 and 0.0.0.0/32) are fine:
    /// more specific networks are painted last. IPv4-mapped (::ffff:0:0/96), NAT64
    /// (64:ff9b::/96) and 6to4 (2002::/16) addresses are looked up as the IPv4 address they carry.
    static let registry: [(String, SpecialRange)] = [
        ("0.0.0.0/8", .reserved), ("0.0.0.0/32", .unspecified),
        ("10.0.0.0/8", .privateUse), ("100.64.0.0/10", .cgnat), ("127.0.0.0/8", .loopback),
        ("169.254.0.0/16", .linkLocal), ("172.16.0.0/12", .privateUse),
        ("192.0.0.0/24", .reserved), ("192.0.2.0/24", .documentation),
        ("192.88.99.0/24", .reserved), ("192.168.0.0/16", .privateUse),
        ("198.18.0.0/15", .benchmarking), ("198.51.100.0/24", .documentation),
        ("203.0.113.0/24", .documentation), ("224.0.0.0/4", .multicast),
        ("240.0.0.0/4", .reserved), ("255.255.255.255/32", .broadcast),
        ("::/128", .unspecified), ("::1/128", .loopback), ("64:ff9b:1::/48", .reserved),
        ("100::/64", .reserved), ("2001:2::/48", .benchmarking), ("2001:10::/28", .reserved),
        ("2001:20::/28", .reserved), ("2001:db8::/32", .documentation), ("3fff::/20", .documentation),
        ("fc00::/7", .privateUse), ("fe80::/10", .linkLocal), ("ff00::/8", .multicast),
    ]

    static let networks: [(network: IPNetwork, range: SpecialRange)] =
        registry.map { (IPNetwork($0.0)!, $0.1) }
}
