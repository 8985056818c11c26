import CustomsCore

/// Conversions between `IPAddress` and the plain integers tables are kept in.
enum IPAddressBridge {
    static func v6(_ hi: UInt64, _ lo: UInt64) -> UInt128 { UInt128(hi) << 64 | UInt128(lo) }

    static func address(_ v: UInt128) -> IPAddress {
        .v6(UInt64(truncatingIfNeeded: v >> 64), UInt64(truncatingIfNeeded: v))
    }

    static func v6String(_ v: UInt128) -> String { address(v).description }

    /// A network as a family flag and an inclusive integer range; IPv4-mapped IPv6 networks
    /// (`::ffff:a.b.c.d/p`, p ≥ 96) become the IPv4 network they denote.
    static func range(of n: IPNetwork) -> (v4: Bool, start: UInt128, end: UInt128) {
        switch (n.address, n.last) {
        case (.v4(let s), .v4(let e)):
            return (true, UInt128(s), UInt128(e))
        case (.v6(let sh, let sl), .v6(let eh, let el)):
            let s = v6(sh, sl), e = v6(eh, el)
            if n.prefixLength >= 96 && s >> 32 == 0xFFFF {
                return (true, s & 0xFFFF_FFFF, e & 0xFFFF_FFFF)
            }
            return (false, s, e)
        default:
            preconditionFailure("network and its last address differ in family")
        }
    }
}
