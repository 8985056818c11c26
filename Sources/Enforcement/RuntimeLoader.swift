import CustomsCore
import Foundation
import Geo
import Inspection
import Policy
#if canImport(Glibc)
import Glibc
#endif

/// Why a configuration could not be loaded: the policy's own problems (file:line:col), or a
/// file the policy names that could not be read.
public struct RuntimeLoadError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// Builds a PolicyRuntime from a site file: the policy, the country table it names (reused from
/// the previous runtime when the file did not change), the overrides, and the subject-key secret.
public enum RuntimeLoader {
    public static func load(sitePath: String, previous: PolicyRuntime? = nil, stateDirectory: String = "state",
                            interception: PolicyRuntime.InterceptionSettings? = nil) throws(RuntimeLoadError) -> PolicyRuntime {
        let policy: PolicySnapshot
        do { policy = try PolicySnapshot.load(sitePath: sitePath) } catch { throw RuntimeLoadError(error.description) }

        let siteDir = URL(fileURLWithPath: sitePath).deletingLastPathComponent().path
        guard let tablePath = policy.countryTablePath.map({ resolve($0, against: siteDir) }) ?? CountryTable.defaultTablePath() else {
            throw RuntimeLoadError("no country table: name one in the site file (country_table) or set CUSTOMS_COUNTRY_TABLE")
        }
        let fingerprint = PolicyReloader.fingerprint(tablePath)
        let base: CountryTable
        if let previous, previous.tablePath == tablePath, previous.tableFingerprint == fingerprint {
            base = previous.table
        } else {
            do { base = try CountryTable.load(path: tablePath) } catch { throw RuntimeLoadError("\(error)") }
        }
        let overrides = policy.countryOverrides.map { GeoOverride(network: $0.network, country: $0.country, note: "site file") }
        let table = overrides.isEmpty ? base : base.applying(overrides: overrides)

        let secret: [UInt8]
        if let previous {
            secret = previous.inspection.secret   // the key must not change under a running ledger
        } else {
            let path = policy.secretFile.map { resolve($0, against: siteDir) }
                ?? (stateDirectory as NSString).appendingPathComponent("subject-key.secret")
            secret = try loadOrCreateSecret(path: path)
        }
        guard let mapping = SensitivityMapping.named(policy.sensitivityMappingName) ?? (policy.sensitivityMappingName.isEmpty ? .gbt45574_2025 : nil) else {
            throw RuntimeLoadError("\(sitePath): unknown sensitivity mapping '\(policy.sensitivityMappingName)'")
        }
        var inspection = InspectionConfiguration(secret: secret)
        inspection.sensitivity = mapping
        inspection.extraFieldNames = policy.extraFieldNames
        return try PolicyRuntime(policy: policy, table: table, tablePath: tablePath, tableFingerprint: fingerprint,
                             inspection: inspection, sitePath: sitePath,
                             interception: interception ?? previous?.interception ?? .init())
    }

    static func resolve(_ path: String, against dir: String) -> String {
        path.hasPrefix("/") ? path : (dir as NSString).appendingPathComponent(path)
    }

    /// The HMAC key that turns identifiers into subject keys. Created once (32 random bytes,
    /// mode 0600) and never rotated silently: a new key would make every person new again.
    static func loadOrCreateSecret(path: String) throws(RuntimeLoadError) -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 16 else { throw RuntimeLoadError("\(path): the subject-key secret is shorter than 16 bytes") }
            return [UInt8](data)
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeLoadError("\(path): cannot create the subject-key secret: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ok = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        guard ok else { throw RuntimeLoadError("\(path): cannot write the subject-key secret: \(String(cString: strerror(errno)))") }
        return bytes
    }
}
