import Foundation

/// Reads the chain back: records with their place, and the chain check.
public enum AuditLogReader {
    public struct Entry: Sendable {
        public let file: String
        public let line: Int
        public let record: AuditRecord
    }

    public enum Verification: Sendable, Equatable {
        case intact(records: Int, files: Int)
        case broken(file: String, line: Int, reason: String)
    }

    /// The hash of the chain's last record (nil without one).
    public static func lastHash(logPath: String) -> String? {
        for file in AuditLogFiles.chain(for: logPath).reversed() {
            if let hash = lastHash(ofFile: file) { return hash }
        }
        return nil
    }

    /// The hash of the last record in one file (nil if it holds none, or cannot be read): for an
    /// archived file, what the first record left after it follows.
    public static func lastHash(ofFile file: String) -> String? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: file)),
              let line = data.split(separator: UInt8(ascii: "\n")).last else { return nil }
        return AuditChain.unseal(Array(line))?.hash
    }

    /// Every record of the chain, oldest first. Lines that do not parse are skipped here;
    /// `verify` is the place that reports them.
    public static func entries(logPath: String) throws(AuditError) -> [Entry] {
        var out: [Entry] = []
        try forEachEntry(logPath: logPath) { out.append($0) }
        return out
    }

    /// `entries` one at a time, a file in memory at once: a filtered review of a long log keeps
    /// only the records it shows.
    public static func forEachEntry(logPath: String, _ body: (Entry) -> Void) throws(AuditError) {
        for file in AuditLogFiles.chain(for: logPath) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw AuditError(path: file, message: "cannot read: \(error.localizedDescription)")
            }
            var lineNo = 0
            for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNo += 1
                guard !raw.isEmpty else { continue }
                let text = String(decoding: raw, as: UTF8.self)
                if let r = AuditJSON.decode(Substring(text)) { body(Entry(file: file, line: lineNo, record: r)) }
            }
        }
    }

    /// Walks the whole chain and names the first record that does not hold.
    /// `after`: the hash the first record present must follow — the chain's start, or, once the
    /// oldest files were archived, the hash of the last record they held.
    public static func verify(logPath: String, after anchor: String = AuditChain.genesis) -> Verification {
        let files = AuditLogFiles.chain(for: logPath)
        if files.isEmpty { return .broken(file: logPath, line: 0, reason: "no audit log found") }
        var prev = anchor
        var count = 0
        for file in files {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: file)) else {
                return .broken(file: file, line: 0, reason: "cannot read the file")
            }
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            for (i, raw) in lines.enumerated() {
                let lineNo = i + 1
                if raw.isEmpty {
                    if i == lines.count - 1 { continue }   // the newline that ends the file
                    return .broken(file: file, line: lineNo, reason: "empty line inside the log")
                }
                if i == lines.count - 1 {
                    return .broken(file: file, line: lineNo, reason: "the last record is not terminated by a newline")
                }
                guard let sealed = AuditChain.unseal(Array(raw)) else {
                    return .broken(file: file, line: lineNo, reason: "not a sealed record (no hash field at the end)")
                }
                if AuditChain.sha256Hex(sealed.covered) != sealed.hash {
                    return .broken(file: file, line: lineNo, reason: "contents do not match the record's hash (edited)")
                }
                guard let p = sealed.prev else {
                    return .broken(file: file, line: lineNo, reason: "no prev field before the hash")
                }
                if p != prev {
                    if count == 0 {
                        return .broken(file: file, line: lineNo, reason: prev == AuditChain.genesis
                            ? "the first record follows \(p), not the chain's start: older files were moved away "
                              + "(verify the rest with --after and the hash of the last record they held) or records deleted"
                            : "the first record follows \(p), not \(prev): records are missing between the two")
                    }
                    return .broken(file: file, line: lineNo,
                                   reason: "prev does not match the hash of the record before it (deleted, inserted or reordered)")
                }
                guard AuditJSON.decode(Substring(String(decoding: raw, as: UTF8.self))) != nil else {
                    return .broken(file: file, line: lineNo, reason: "the hash holds but the record is not valid JSON")
                }
                prev = sealed.hash
                count += 1
            }
        }
        return .intact(records: count, files: files.count)
    }

    /// The last newline-terminated line of a file and the file size up to its end.
    static func lastCompleteLine(of file: String) -> (String, Int)? {
        guard let h = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? h.close() }
        let end = (try? h.seekToEnd()) ?? 0
        guard end > 0 else { return nil }
        var window: UInt64 = 4096
        while true {
            let start = end > window ? end - window : 0
            try? h.seek(toOffset: start)
            let data = h.readData(ofLength: Int(end - start))
            let bytes = [UInt8](data)
            guard let lastNL = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
                if start == 0 { return nil }
                window *= 4
                continue
            }
            let before = bytes[..<lastNL]
            if let prevNL = before.lastIndex(of: UInt8(ascii: "\n")) {
                return (String(decoding: bytes[(prevNL + 1)..<lastNL], as: UTF8.self), Int(start) + lastNL + 1)
            }
            if start == 0 { return (String(decoding: before, as: UTF8.self), lastNL + 1) }
            window *= 4
        }
    }
}
