import Audit
import Foundation
import Gateway
import Ledger
import Logging
import Policy

/// Everything `customs serve` runs beside the data plane: the loaded policy, the ledger, the
/// audit log, the governor the gateway consults, and the reloader. Built from one site file.
public final class EnforcementService: Sendable {
    public let governor: EnforcementGovernor
    public let reloader: PolicyReloader
    public let ledger: SQLiteLedger
    public let audit: AuditLog

    /// Where the ledger and audit log go: the site file's `storage` section (relative to the
    /// site file), else the state folder.
    public static func storagePaths(policy: PolicySnapshot, sitePath: String, stateDirectory: String) -> (ledger: String, audit: String) {
        let siteDir = URL(fileURLWithPath: sitePath).deletingLastPathComponent().path
        let ledger = policy.ledgerPath.map { RuntimeLoader.resolve($0, against: siteDir) }
            ?? (stateDirectory as NSString).appendingPathComponent("ledger.sqlite")
        let audit = policy.auditLogPath.map { RuntimeLoader.resolve($0, against: siteDir) }
            ?? (stateDirectory as NSString).appendingPathComponent("audit.jsonl")
        return (ledger, audit)
    }

    public init(sitePath: String, stateDirectory: String, metrics: MetricsRegistry,
                interception: PolicyRuntime.InterceptionSettings = .init(),
                logger: Logger = Logger(label: "customs.enforcement")) throws(RuntimeLoadError) {
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let runtime = try RuntimeLoader.load(sitePath: sitePath, stateDirectory: stateDirectory, interception: interception)
        let paths = Self.storagePaths(policy: runtime.policy, sitePath: sitePath, stateDirectory: stateDirectory)
        do {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: paths.ledger).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
            // The ledger's own open log waits for start(): until the listeners are bound, the only
            // thing `customs serve` says is why it could not start.
            var quiet = Logger(label: "customs.ledger")
            quiet.logLevel = .warning
            ledger = try SQLiteLedger(path: paths.ledger, logger: quiet)
        } catch {
            throw RuntimeLoadError("\(error)")   // "ledger PATH: what failed"
        }
        do { audit = try AuditLog(path: paths.audit, logger: Logger(label: "customs.audit")) } catch {
            throw RuntimeLoadError("audit log \(error)")   // "audit log PATH: what failed"
        }
        governor = EnforcementGovernor(runtime: runtime, ledger: ledger, audit: audit, metrics: metrics, logger: logger)
        governor.metrics.seed(ledger.allCounts(at: Date(), calendar: runtime.policy.calendar))
        reloader = PolicyReloader(governor: governor, logger: Logger(label: "customs.policy"))
        self.logger = logger
        startupMetadata = [
            "site": "\(sitePath)", "regimes": "\(runtime.policy.regimes.map(\.id).joined(separator: ","))",
            "mode": "\(runtime.policy.site.mode)", "ledger": "\(paths.ledger)", "audit": "\(paths.audit)",
            "country_table": "\(runtime.tablePath)", "subjects": "\(ledger.statistics().entries)",
        ]
    }

    private let logger: Logger
    private let startupMetadata: Logger.Metadata

    /// Starts watching the policy; call once the gateway's listeners are bound.
    public func start() {
        logger.info("policy loaded", metadata: startupMetadata)
        reloader.start()
    }

    /// Stops watching the policy and closes the ledger (after its commits in flight) and the log.
    public func stop() {
        reloader.stop()
        ledger.close()
        audit.close()
    }
}
