import ArgumentParser
import CustomsCore
import Foundation
import Inspection

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Find the people in request bodies, as the gateway does.",
        discussion: """
        Runs the gateway's inspector over each FILE and prints distinct counts. The content type is \
        guessed from the extension (.json .ndjson/.jsonl .csv .tsv .form .txt, with .gz/.deflate for \
        the encoding) unless given.
        """)

    @Option(name: .long, help: "Content-Type of every FILE (default: from the extension).")
    var contentType: String?

    @Option(name: .long, help: "Content-Encoding of every FILE: identity, gzip, deflate.")
    var contentEncoding: String?

    @Flag(name: .long, help: "One JSON object per file.")
    var json = false

    @Option(name: .long, help: "Sensitivity mapping: gb/t-45574-2025 (default) or gb/t-35273-2020.")
    var sensitivity = "gb/t-45574-2025"

    @Option(name: .long, help: "File with the HMAC secret for subject keys (default: a random per-run secret).")
    var secretFile: String?

    @Option(name: .long, help: "Flow date for ages, YYYY-MM-DD (default: today in UTC+8).")
    var asOf: String?

    @Flag(name: .long, help: "With --json, add \"values\": the keyed hashes (HMAC with the secret) of every distinct value per kind, for accuracy measurement.")
    var valueKeys = false

    @Argument(help: "Bodies to inspect.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
        if SensitivityMapping.named(sensitivity) == nil {
            throw ValidationError("unknown sensitivity mapping '\(sensitivity)' (gb/t-45574-2025, gb/t-35273-2020)")
        }
    }

    func run() async throws {
        var configuration = InspectionConfiguration(secret: try secret(), sensitivity: SensitivityMapping.named(sensitivity)!)
        configuration.reportValueKeys = valueKeys
        if let asOf {
            let p = asOf.split(separator: "-").compactMap { Int($0) }
            guard p.count == 3 else { throw ValidationError("--as-of wants YYYY-MM-DD, got '\(asOf)'") }
            configuration.now = CivilCalendar.chinaStandardTime.startOfDay(year: p[0], month: p[1], day: p[2]).addingTimeInterval(12 * 3600)
        }
        var failed = false
        for file in files {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                FileHandle.standardError.write(Data("customs inspect: cannot read \(file)\n".utf8))
                failed = true
                continue
            }
            let (type, encoding) = Self.guess(file)
            let inspector = BodyInspector(contentType: contentType ?? type, contentEncoding: contentEncoding ?? encoding,
                                          configuration: configuration)
            while true {
                let chunk = handle.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                chunk.withUnsafeBytes { inspector.feed($0) }
            }
            try? handle.close()
            let result = inspector.finish()
            print(json ? Self.jsonLine(file, result) : Self.summary(file, result))
        }
        if failed { throw ExitCode(1) }
    }

    private func secret() throws -> [UInt8] {
        if let secretFile {
            guard let d = FileManager.default.contents(atPath: secretFile), !d.isEmpty else {
                throw ValidationError("cannot read a secret from \(secretFile)")
            }
            return Array(d)
        }
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// Content type and encoding from the file name (`x.csv.gz` → text/csv, gzip).
    static func guess(_ path: String) -> (String?, String?) {
        var name = (path as NSString).lastPathComponent.lowercased()
        var encoding: String?
        if name.hasSuffix(".gz") { encoding = "gzip"; name.removeLast(3) }
        else if name.hasSuffix(".deflate") { encoding = "deflate"; name.removeLast(8) }
        let ext = (name as NSString).pathExtension
        let types = [
            "json": "application/json", "ndjson": "application/x-ndjson", "jsonl": "application/x-ndjson",
            "csv": "text/csv", "tsv": "text/tab-separated-values", "form": "application/x-www-form-urlencoded",
            "txt": "text/plain", "text": "text/plain", "log": "text/plain", "md": "text/markdown",
        ]
        return (types[ext], encoding)
    }

    static func summary(_ file: String, _ r: InspectionResult) -> String {
        var lines = ["\(file): \(r.records) records, \(r.subjects.count) people (\(r.categoryCounts[.sensitive] ?? 0) sensitive), \(r.minors) minors, \(r.bytes) bytes"]
        if let why = r.uninspectable { lines.append("  UNINSPECTABLE: \(why)") }
        let kinds = DetectorKind.allCases.filter { (r.kindCounts[$0] ?? 0) > 0 }.map { "\($0.rawValue)=\(r.kindCounts[$0]!)" }
        if !kinds.isEmpty { lines.append("  distinct values: " + kinds.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }

    static func jsonLine(_ file: String, _ r: InspectionResult) -> String {
        func str(_ s: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self).dropFirst().dropLast().description
        }
        let kinds = DetectorKind.allCases.map { "\"\($0.rawValue)\":\(r.kindCounts[$0] ?? 0)" }.joined(separator: ",")
        return "{\"file\":\(str(file)),\"records\":\(r.records),\"subjects\":\(r.subjects.count),"
            + "\"categories\":{\"pi\":\(r.categoryCounts[.pi] ?? 0),\"sensitive\":\(r.categoryCounts[.sensitive] ?? 0)},"
            + "\"kinds\":{\(kinds)},\"minors\":\(r.minors),"
            + "\"uninspectable\":\(r.uninspectable.map(str) ?? "null"),\"bytes\":\(r.bytes)"
            + (r.valueKeys.isEmpty ? "" : ",\"values\":{" + r.valueKeys.sorted { $0.key < $1.key }.map { k, v in
                "\"\(k.rawValue)\":[" + v.map { "\"\($0)\"" }.sorted().joined(separator: ",") + "]" }.joined(separator: ",") + "}")
            + "}"
    }
}
