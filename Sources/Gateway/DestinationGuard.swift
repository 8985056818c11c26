import CustomsCore

/// Decides whether the gateway may connect to an address. Everything that is not the public
/// Internet is refused unless the site allows it, so a client cannot reach the gateway's own
/// network, its loopback services or a cloud metadata endpoint through it.
public struct DestinationGuard: Sendable {
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        public let address: IPAddress
        /// What the address is (e.g. "loopback", "cloud metadata").
        public let category: String
        public var description: String { "destination \(address) is \(category) and not allowed" }
    }

    private static let refused: [(IPNetwork, String)] = [
        ("169.254.169.254/32", "cloud metadata"), ("fd00:ec2::254/128", "cloud metadata"),
        ("0.0.0.0/8", "unspecified (this network)"), ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space (CGNAT)"), ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments"), ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"), ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("::/96", "IPv4-compatible (deprecated)"),
        ("100::/64", "discard-only"), ("2001:db8::/32", "documentation"), ("2001::/23", "IETF protocol assignments"),
        ("fc00::/7", "unique local (ULA)"), ("fe80::/10", "link-local"), ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    public let allowed: [IPNetwork]

    public init(allowed: [IPNetwork]) { self.allowed = allowed }

    /// nil when the gateway may connect to `address`. Addresses that embed an IPv4 address
    /// (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address too.
    public func check(_ address: IPAddress) -> Refusal? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        let mapped = address.v4MappedOrSelf
        if mapped.isV4 && !address.isV4 {
            return check(mapped).map { Refusal(address: address, category: "IPv4-mapped \($0.category)") }
        }
        if case .v6(let hi, let lo) = address {
            if hi == 0x0064_ff9b_0000_0000 && lo >> 32 == 0, let r = check(.v4(UInt32(truncatingIfNeeded: lo))) {
                return Refusal(address: address, category: "NAT64 of \(r.category)")
            }
            if hi >> 48 == 0x2002, let r = check(.v4(UInt32(truncatingIfNeeded: hi >> 16))) {
                return Refusal(address: address, category: "6to4 of \(r.category)")
            }
        }
        for (net, category) in Self.refused where net.contains(address) {
            return Refusal(address: address, category: category)
        }
        return nil
    }
}
