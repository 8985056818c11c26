// swift-tools-version:6.0
// Customs: an egress gateway that counts the people whose data leaves the country.
// Module graph (data flows one way):
//   CustomsCore ← Wire, Geo, Inspection, Policy, Ledger, Audit, Interception
//   Policy ← Decision;  Wire + Interception ← Gateway;  everything ← Enforcement ← customs (CLI)
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]
let log = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "Customs",
    products: [
        .executable(name: "customs", targets: ["customs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // System C libraries (Debian: libssl-dev, libsqlite3-dev, zlib1g-dev).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Small C shims for what Swift cannot import (macros, Linux-only socket options).
        .target(name: "CShims"),
        .target(name: "CTLSShims", dependencies: ["COpenSSL"]),
        // The inspector's byte-class scans (SSE2, with a portable fallback).
        .target(name: "CInspectKernels"),

        .target(name: "CustomsCore", swiftSettings: swiftSettings),
        .target(name: "Wire", dependencies: ["CustomsCore"], swiftSettings: swiftSettings),
        .target(name: "Geo", dependencies: ["CustomsCore", "CZlib", log], swiftSettings: swiftSettings),
        .target(name: "Inspection", dependencies: ["CustomsCore", "COpenSSL", "CZlib", "CInspectKernels"], swiftSettings: swiftSettings),
        .target(name: "Policy", dependencies: ["CustomsCore", "Geo", .product(name: "Yams", package: "Yams")], swiftSettings: swiftSettings),
        .target(name: "Decision", dependencies: ["CustomsCore", "Policy"], swiftSettings: swiftSettings),
        .target(name: "CLedgerShims"),
        .target(name: "Ledger", dependencies: ["CustomsCore", "CSQLite", "CLedgerShims", log], swiftSettings: swiftSettings),
        .target(name: "Audit", dependencies: ["CustomsCore", "COpenSSL", log], swiftSettings: swiftSettings),
        .target(name: "Interception", dependencies: ["CustomsCore", "COpenSSL", "CTLSShims", log], swiftSettings: swiftSettings),
        .target(name: "Gateway", dependencies: ["CustomsCore", "Wire", "Interception", "CShims", log], swiftSettings: swiftSettings),
        .target(name: "Enforcement", dependencies: [
            "CustomsCore", "Gateway", "Geo", "Inspection", "Policy", "Decision", "Ledger", "Audit", log,
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "customs", dependencies: [
            "CustomsCore", "Wire", "Geo", "Inspection", "Policy", "Decision", "Ledger", "Audit",
            "Interception", "Gateway", "Enforcement", log,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),

        // Benchmarks (run by the scripts in Benchmarks/, never by the test suite).
        .executableTarget(name: "GeoBench", dependencies: ["Geo", "CustomsCore"], path: "Benchmarks/GeoBench", swiftSettings: swiftSettings),
        .executableTarget(name: "HeadBench", dependencies: ["Inspection", "CustomsCore"], path: "Benchmarks/HeadBench", swiftSettings: swiftSettings),
        .executableTarget(name: "InspectBench", dependencies: ["Inspection", "CustomsCore"], path: "Benchmarks/InspectBench", swiftSettings: swiftSettings),
        .executableTarget(name: "LedgerBench", dependencies: ["Ledger", "CustomsCore", "CSQLite"], path: "Benchmarks/LedgerBench", swiftSettings: swiftSettings),
        .executableTarget(name: "DecisionBench", dependencies: ["Decision", "Policy", "CustomsCore"], path: "Benchmarks/DecisionBench", swiftSettings: swiftSettings),

        // Tests. Integration tests drive the built `customs` binary with real clients.
        .target(name: "CustomsTestSupport", dependencies: ["CustomsCore"], path: "Tests/CustomsTestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["CustomsCore"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "CustomsTestSupport"]),
        .testTarget(name: "GeoTests", dependencies: ["Geo", "CustomsTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "InspectionTests", dependencies: ["Inspection", "CustomsTestSupport"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "Geo", "CustomsTestSupport"]),
        .testTarget(name: "DecisionTests", dependencies: ["Decision", "Policy", "CustomsTestSupport"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "CustomsTestSupport"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "CustomsTestSupport"]),
        .testTarget(name: "InterceptionTests", dependencies: ["Interception", "CustomsTestSupport"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Wire", "CustomsTestSupport"]),
        // The fixture upstream is run from the source tree by path, not bundled.
        .testTarget(name: "EnforcementTests", dependencies: ["Enforcement", "CustomsTestSupport"],
                    exclude: ["Fixtures/upstream.py", "Fixtures/hostile_client.py"]),
    ]
)
