import ArgumentParser
import Audit
import Foundation

struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Read, summarise and verify the audit log of block and monitor decisions.",
        discussion: """
        Reads the hash-chained audit log (the current file and its rotated predecessors) and \
        prints the records that match the filters, oldest first. --verify walks the whole chain \
        instead and names the first record that was edited, deleted, inserted or reordered; the \
        exit status is 0 when the chain holds and 1 when it does not. Once the oldest rotated \
        files are archived (moved away), verify the files left with --after and the newest archived \
        file (or the hash of its last record).
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Option(help: "The audit log (default: <state>/audit.jsonl).") var log: String?
    @Option(help: "The state folder the gateway was started with.") var state: String = "state"
    @Option(help: "Only records at or after this time (2026-11-29, 2026-11-29T10:00, RFC 3339).") var since: String?
    @Option(help: "Only records before this time.") var until: String?
    @Option(help: "Only this recipient (id or name).") var recipient: String?
    @Option(help: "Only this action (block, monitor, allow).") var action: String?
    @Option(help: "Only this rule id (or a prefix such as a regime id).") var rule: String?
    @Option(help: "Only this client (address, client name or proxy user).") var client: String?
    @Option(help: "Output format: table, json or csv.") var format: Format = .table
    @Option(help: "Summarise instead of listing: recipient, rule, day or client.") var summary: String?
    @Flag(help: "Verify the hash chain and report the first broken record.") var verify = false
    @Option(help: "With --verify: the newest archived file, or its last record's hash: what the first record left follows.")
    var after: String?

    func run() throws {
        let path = log ?? (state as NSString).appendingPathComponent("audit.jsonl")
        if let after, !verify { throw ValidationError("--after \(after): only with --verify") }
        if verify {
            var anchor = AuditChain.genesis
            if let after {
                if after.count == 64 && after.allSatisfy(\.isHexDigit) {
                    anchor = after.lowercased()
                } else if FileManager.default.fileExists(atPath: after) {
                    guard let hash = AuditLogReader.lastHash(ofFile: after) else {
                        throw ValidationError("--after \(after): the file holds no sealed audit record")
                    }
                    anchor = hash
                } else {
                    throw ValidationError("--after \(after): neither a record's hash (64 hex digits) nor a file")
                }
            }
            switch AuditLogReader.verify(logPath: path, after: anchor) {
            case .intact(let records, let files):
                print("ok: \(records) record\(records == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s"), chain intact"
                      + (AuditLogReader.lastHash(logPath: path).map { "; last record's hash \($0)" } ?? ""))
                return
            case .broken(let file, let line, let reason):
                FileHandle.standardError.write(Data("\(file):\(line): chain broken: \(reason)\n".utf8))
                throw ExitCode(1)
            }
        }
        func date(_ text: String?, _ flag: String) throws -> Date? {
            guard let text else { return nil }
            guard let d = AuditTime.parse(text) else { throw ValidationError("--\(flag): cannot read '\(text)' as a time") }
            return d
        }
        let filter = AuditFilter(since: try date(since, "since"), until: try date(until, "until"),
                                 recipient: recipient, action: action, rule: rule, client: client)
        guard !AuditLogFiles.chain(for: path).isEmpty else {
            throw ValidationError("no audit log at \(path) (use --log or --state)")
        }
        var records: [AuditRecord] = []
        do {
            try AuditLogReader.forEachEntry(logPath: path) { entry in
                if filter.matches(entry.record) { records.append(entry.record) }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if let summary {
            guard let key = AuditSummaryKey(rawValue: summary) else {
                throw ValidationError("--summary takes one of: \(AuditSummaryKey.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            print(AuditReport.summary(records, by: key), terminator: "")
            return
        }
        switch format {
        case .table: print(AuditReport.table(records), terminator: "")
        case .json: print(AuditReport.json(records), terminator: "")
        case .csv: print(AuditReport.csv(records), terminator: "")
        }
    }
}
