import CustomsCore
import CustomsTestSupport
import Foundation
@testable import Geo

enum Fixture {
    static let dir = TestPaths.packageRoot.appendingPathComponent("Tests/GeoTests/Fixtures")
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    static let shippedCSV = TestPaths.packageRoot.appendingPathComponent("Policies/country-table.csv.gz").path
    static let shippedBinary = TestPaths.packageRoot.appendingPathComponent("Policies/country-table.bin").path
}

/// Writes `content` to a fresh temporary file named `name` and returns its path.
func temporaryFile(_ name: String, _ content: String) throws -> String {
    let dir = try TestPaths.temporaryDirectory("geo")
    let url = dir.appendingPathComponent(name)
    try content.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

func ip(_ s: String) -> IPAddress { IPAddress(s)! }

func answer(_ t: CountryTable, _ s: String) -> String { t.lookup(ip(s)).description }

/// The error a throwing call raised, as text, or nil.
func geoError(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as GeoError { return e.description } catch { return "not a GeoError: \(error)" }
}

/// What every fixture in Fixtures/ describes, in its own format.
let fixtureExpectations: [(String, String)] = [
    ("0.255.255.255", "reserved"), ("1.0.0.0", "AU"), ("1.0.0.255", "AU"), ("1.0.1.0", "CN"),
    ("1.0.3.255", "CN"), ("1.0.4.0", "unknown"), ("8.8.7.255", "unknown"), ("8.8.8.0", "US"),
    ("8.8.8.8", "US"), ("8.8.8.255", "US"), ("8.8.9.0", "unknown"), ("119.27.255.255", "unknown"),
    ("119.28.0.0", "CN"), ("119.29.255.255", "CN"), ("119.30.0.0", "unknown"), ("5.5.5.5", "unknown"),
    ("2001:485f:ffff:ffff:ffff:ffff:ffff:ffff", "unknown"), ("2001:4860::", "US"),
    ("2001:4860:4860::8888", "US"), ("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff", "US"),
    ("2001:4861::", "unknown"), ("2400:3200::1", "CN"), ("::ffff:1.0.1.1", "CN"),
    ("::ffff:8.8.8.8", "US"), ("127.0.0.1", "loopback"), ("::1", "loopback"),
]
