// InspectBench: MB/s of BodyInspector over a set of bodies held in memory.
// usage: InspectBench [--seconds S] [--digest] FILE...   (content type from the extension; a `.jsonl`
// file holds one `application/json` body per line, as the gateway benchmark's pibodies.py writes them)
// --digest prints one line per body (records, kinds, and every subject's key, kinds and mask,
// sorted) instead of timing, to check that a change keeps the results identical.
import CustomsCore
import Foundation
import Inspection

var args = Array(CommandLine.arguments.dropFirst())
var seconds = 3.0
if let i = args.firstIndex(of: "--seconds"), i + 1 < args.count { seconds = Double(args[i + 1])!; args.removeSubrange(i...(i + 1)) }
var digest = false
if let i = args.firstIndex(of: "--digest") { digest = true; args.remove(at: i) }

let types = ["json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv",
             "tsv": "text/tab-separated-values", "form": "application/x-www-form-urlencoded", "txt": "text/plain"]
var bodies: [(type: String, bytes: [UInt8])] = []
var lineBodies: [(type: String, bytes: [UInt8])] = []
for path in args {
    let ext = (path as NSString).pathExtension
    guard let d = FileManager.default.contents(atPath: path) else { continue }
    if ext == "jsonl" {
        for line in Array(d).split(separator: 0x0A) { lineBodies.append(("application/json", Array(line))) }
        continue
    }
    guard let t = types[ext] else { continue }
    bodies.append((t, Array(d)))
}
bodies += lineBodies
guard !bodies.isEmpty else { FileHandle.standardError.write(Data("no bodies\n".utf8)); exit(2) }

let configuration = InspectionConfiguration(secret: Array("bench".utf8), now: Date(timeIntervalSince1970: 1_795_924_800))
let chunk = 64 * 1024

if digest {
    for b in bodies {
        let inspector = BodyInspector(contentType: b.type, contentEncoding: nil, configuration: configuration)
        b.bytes.withUnsafeBytes { inspector.feed($0) }
        let r = inspector.finish()
        let kinds = r.kindCounts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: ",")
        let subjects = r.subjects.map { s in
            "\(String(s.key.hi, radix: 16)):\(String(s.key.lo, radix: 16)):\(s.kinds.map(\.rawValue).sorted().joined(separator: "+")):\(s.isSensitive):\(s.masked)"
        }.sorted().joined(separator: " ")
        print("records=\(r.records) minors=\(r.minors) \(kinds) \(r.uninspectable ?? "") | \(subjects)")
    }
    exit(0)
}

@MainActor func run(_ set: [(type: String, bytes: [UInt8])]) -> (bytes: Int, people: Int) {
    var total = 0, people = 0
    for b in set {
        let inspector = BodyInspector(contentType: b.type, contentEncoding: nil, configuration: configuration)
        b.bytes.withUnsafeBytes { raw in
            var o = 0
            while o < raw.count {
                let e = min(raw.count, o + chunk)
                inspector.feed(UnsafeRawBufferPointer(rebasing: raw[o..<e]))
                o = e
            }
        }
        let r = inspector.finish()
        total += b.bytes.count; people += r.subjects.count
    }
    return (total, people)
}

/// CPU seconds of this process: on a shared machine, time spent descheduled is not the inspector's
/// (the C baselines measure the same way).
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@MainActor func measure(_ label: String, _ set: [(type: String, bytes: [UInt8])]) {
    guard !set.isEmpty else { return }
    _ = run(set)  // warm-up
    var bytes = 0, rounds = 0, people = 0
    let start = cpuSeconds()
    var elapsed = 0.0
    repeat {
        let r = run(set); bytes += r.bytes; people = r.people; rounds += 1
        elapsed = cpuSeconds() - start
    } while elapsed < seconds
    let size = set.reduce(0) { $0 + $1.bytes.count }
    print(String(format: "swift-inspector %-8@ %9.1f MB/s  (%d bytes x %d rounds, %d people per round)",
                 label as NSString, Double(bytes) / elapsed / 1e6, size, rounds, people))
}

measure("mixed", bodies)
measure("json", bodies.filter { $0.type == "application/json" })
measure("ndjson", bodies.filter { $0.type == "application/x-ndjson" })
measure("csv", bodies.filter { $0.type == "text/csv" })
measure("form", bodies.filter { $0.type == "application/x-www-form-urlencoded" })
measure("jsonl", lineBodies)
