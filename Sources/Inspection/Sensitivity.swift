import CustomsCore

/// Which detector kinds make a subject sensitive. Standards disagree, so policy picks one.
public struct SensitivityMapping: Sendable, Hashable {
    public let sensitiveKinds: Set<DetectorKind>

    public init(sensitiveKinds: Set<DetectorKind>) { self.sensitiveKinds = sensitiveKinds }

    /// GB/T 45574-2025: financial accounts, precise location, biometrics, health, religion, minors
    /// (under 14). Identity documents alone are ordinary personal information.
    public static let gbt45574_2025 = SensitivityMapping(sensitiveKinds: [
        .bankCard, .financial, .geo, .biometric, .health, .religion, .minor,
    ])

    /// GB/T 35273-2020 (Annex B) additionally lists identity document numbers as sensitive.
    public static let gbt35273_2020 = SensitivityMapping(sensitiveKinds: [
        .bankCard, .financial, .geo, .biometric, .health, .religion, .minor,
        .idNumber, .passport, .hkID, .twID,
    ])

    public static let names: [String: SensitivityMapping] = [
        "gb/t-45574-2025": .gbt45574_2025,
        "gb/t-35273-2020": .gbt35273_2020,
    ]

    /// Looks a mapping up by its policy name (case-insensitive; "gbt45574" style also accepted).
    public static func named(_ name: String) -> SensitivityMapping? {
        let n = name.lowercased()
        if let m = names[n] { return m }
        let compact = n.filter { $0.isNumber }
        if compact == "455742025" || compact == "45574" { return .gbt45574_2025 }
        if compact == "352732020" || compact == "35273" { return .gbt35273_2020 }
        return nil
    }

    public func isSensitive(_ kinds: Set<DetectorKind>) -> Bool { !kinds.isDisjoint(with: sensitiveKinds) }
    public func isSensitive(_ kinds: DetectorKinds) -> Bool { kinds.contains { sensitiveKinds.contains($0) } }
}
