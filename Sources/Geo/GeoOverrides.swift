import CustomsCore

/// A network pinned to a country, applied over the table (policy corrections such as
/// "119.28.0.0/16 is Tencent Cloud Hong Kong").
public struct GeoOverride: Sendable, Hashable {
    public let network: IPNetwork
    public let country: CountryCode
    public let note: String?

    public init(network: IPNetwork, country: CountryCode, note: String? = nil) {
        self.network = network
        self.country = country
        self.note = note
    }
}

public enum GeoOverrides {
    /// Reads `cidr,country[,note]` rows; `#` comments and blank lines are skipped, and a first
    /// row `cidr,country,...` is taken as a header.
    public static func loadCSV(path: String) throws(GeoError) -> [GeoOverride] {
        let file = try InputFile(path: path)
        var out: [GeoOverride] = []
        var fields = Fields()
        try file.forEachLine { (n, line) throws(GeoError) in
            if line.isBlankOrComment { return }
            guard fields.split(line, limit: 3) else { throw GeoError(file: path, line: n, "unbalanced double quote") }
            if out.isEmpty && fields.field(0, line).equals("cidr") { return }
            guard fields.count >= 2 else { throw GeoError(file: path, line: n, "expected cidr,country[,note], found \(fields.count) field") }
            let o = try parse(network: fields.string(0, line), country: fields.string(1, line),
                              note: fields.count == 3 ? fields.string(2, line) : nil, file: path, line: n)
            out.append(o)
        }
        return out
    }

    /// One override from its parts (policy files use this for their own sections).
    public static func parse(network: String, country: String, note: String?, file: String?, line: Int?) throws(GeoError) -> GeoOverride {
        guard let net = IPNetwork(network) else {
            throw GeoError(file: file, line: line, "'\(network)' is not a network (expected e.g. 119.28.0.0/16 or 2001:db8::/32)")
        }
        if let given = IPAddress(network.split(separator: "/")[0]), given != net.address {
            throw GeoError(file: file, line: line, "\(network) has host bits set (the network is \(net))")
        }
        guard let cc = CountryCode(country), CountryCodes.isKnown(cc) else {
            throw GeoError(file: file, line: line, "unknown country code '\(country)' (not ISO 3166-1 alpha-2)")
        }
        let n = note?.trimmingSpaces
        return GeoOverride(network: net, country: cc, note: n?.isEmpty == false ? n : nil)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
