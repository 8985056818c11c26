import ArgumentParser
import CustomsCore
import Decision
import Enforcement
import Foundation
import Ledger
import Logging
import Policy

/// `customs ledger status`: where each count stands against the law, and what covers it.
struct LedgerStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per recipient and company-wide: counts, band, next line, covering approval and renewal window.",
        discussion: """
        Reads the ledger the site file uses (its storage section, else <state>/ledger.sqlite) \
        without disturbing a running gateway, and reports for every category and window the \
        loaded regimes count: the distinct count, the band it is in, the next line and how far \
        away it is, the approval that covers it and when that expires, and whether the \
        60-working-day renewal window has opened.
        """)

    @Option(help: "Site policy file (default: the shipped default-site.yaml).") var config: String?
    @Option(help: "The state folder the gateway runs with.") var state: String = "state"
    @Option(help: "The ledger file, if not the one the site file names.") var db: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        guard let sitePath = config ?? PolicySnapshot.shippedDefaultSitePath() else {
            throw ValidationError("no --config and the shipped Policies/default-site.yaml was not found")
        }
        let policy: PolicySnapshot
        do { policy = try PolicySnapshot.load(sitePath: sitePath) } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let path = db ?? EnforcementService.storagePaths(policy: policy, sitePath: sitePath, stateDirectory: state).ledger
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no ledger at \(path) (has the gateway run with this site file? use --state or --db)")
        }
        var logger = Logger(label: "customs.ledger")
        logger.logLevel = .warning
        let ledger: SQLiteLedger
        do { ledger = try SQLiteLedger(path: path, options: .init(readOnly: true), logger: logger) } catch {
            throw ValidationError("\(error)")
        }
        defer { ledger.close() }
        let now = Date()
        // Every counter the policy defines for configured recipients and the company, plus any the
        // ledger holds (recipients met by registrable domain), so nothing counted is left out.
        var keys = ledger.allKeys()
        for r in policy.site.recipients { keys.formUnion(policy.countKeys(forRecipient: r.id)) }
        let counts = ledger.counts(keys, at: now, calendar: policy.calendar)
        let lines = ComplianceStatus.report(policy: policy, counts: counts, now: now)
        print(json ? ComplianceStatus.renderJSON(lines) : ComplianceStatus.renderTable(lines), terminator: json ? "\n" : "")
    }
}
