import Foundation

/// Where the chain lives: the current file (`audit.jsonl`) and its rotated predecessors
/// (`audit-20261129T101500Z-000001.jsonl`), oldest first. Names sort in chain order.
public enum AuditLogFiles {
    static func split(_ path: String) -> (dir: String, stem: String, ext: String) {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension.isEmpty ? "" : "." + url.pathExtension
        return (url.deletingLastPathComponent().path, url.deletingPathExtension().lastPathComponent, ext)
    }

    /// Every file of the chain, oldest first; the current file last (if it exists).
    public static func chain(for path: String) -> [String] {
        let (dir, stem, ext) = split(path)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var rotated = names.filter { $0.hasPrefix(stem + "-") && $0.hasSuffix(ext) && $0.count == stem.count + 24 + ext.count }
        rotated.sort()
        var files = rotated.map { dir + "/" + $0 }
        if FileManager.default.fileExists(atPath: path) { files.append(path) }
        return files
    }

    static func rotatedName(for path: String, at date: Date, sequence: Int) -> String {
        let (dir, stem, ext) = split(path)
        let t = AuditTime.format(date)   // 2026-11-29T10:15:00.000Z
        let compact = t.prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        return "\(dir)/\(stem)-\(compact)Z-\(AuditTime.pad(sequence % 1_000_000, 6))\(ext)"
    }
}
