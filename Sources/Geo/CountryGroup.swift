import CustomsCore

/// A set of countries a policy names: `outside:CN`, the US rule's countries of concern, or a
/// user-defined list.
public struct CountryGroup: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Sendable, Hashable {
        case members(Set<CountryCode>)
        case outside(CountryCode)
    }

    public let name: String
    private let kind: Kind

    public init(name: String, members: Set<CountryCode>) {
        self.name = name
        kind = .members(members)
    }

    /// Every country but `home`. Hong Kong, Macau and Taiwan have their own codes, so they are
    /// outside mainland China (CN).
    public static func outside(_ home: CountryCode) -> CountryGroup {
        CountryGroup(name: "outside:\(home)", kind: .outside(home))
    }

    private init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The countries of concern of the US bulk sensitive data rule (28 CFR 202.211): China
    /// including Hong Kong and Macau, Cuba, Iran, North Korea, Russia, Venezuela.
    public static let usCountriesOfConcern = CountryGroup(
        name: "countries_of_concern", members: ["CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE"])

    /// A group by its policy name: `outside:XX`, `countries_of_concern`, a user group, or a
    /// single country code (a group of one). Nil if unknown.
    public static func named(_ spec: String, userGroups: [String: CountryGroup]) -> CountryGroup? {
        if let g = userGroups[spec] { return g }
        if spec.hasPrefix("outside:") {
            guard let cc = CountryCode(spec.dropFirst(8)), CountryCodes.isKnown(cc) else { return nil }
            return outside(cc)
        }
        if spec == usCountriesOfConcern.name || spec == "us_countries_of_concern" { return usCountriesOfConcern }
        if let cc = CountryCode(spec), CountryCodes.isKnown(cc), spec == spec.uppercased() {
            return CountryGroup(name: spec, members: [cc])
        }
        return nil
    }

    public func contains(_ c: CountryCode) -> Bool {
        switch kind {
        case .members(let m): return m.contains(c)
        case .outside(let home): return c != home
        }
    }

    public var description: String { name }
}
