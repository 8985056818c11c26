import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One line of the access log.
struct AccessRecord {
    var time: Date
    var flowID: String
    var client: ClientIdentity
    var method: String
    var scheme: String
    var host: String
    var port: UInt16
    var path: String
    var status: Int
    var bytesIn: UInt64
    var bytesOut: UInt64
    var durationMs: Double
    var upstreamConnectMs: Double?
    var upstream: String?
    var outcome: String

    func json() -> String {
        var s = "{\"time\":\"\(AccessLog.timestamp(time))\",\"flow\":\"\(flowID)\""
        s += ",\"client\":\"\(client.address.withPort(client.port))\""
        if let n = client.name { s += ",\"client_name\":\(AccessLog.quote(n))" }
        if let u = client.user { s += ",\"user\":\(AccessLog.quote(u))" }
        s += ",\"method\":\(AccessLog.quote(method)),\"scheme\":\"\(scheme)\",\"host\":\(AccessLog.quote(host))"
        s += ",\"port\":\(port),\"path\":\(AccessLog.quote(path)),\"status\":\(status)"
        s += ",\"bytes_in\":\(bytesIn),\"bytes_out\":\(bytesOut)"
        s += ",\"duration_ms\":\(AccessLog.millis(durationMs))"
        if let c = upstreamConnectMs { s += ",\"connect_ms\":\(AccessLog.millis(c))" }
        if let u = upstream { s += ",\"upstream\":\"\(u)\"" }
        s += ",\"outcome\":\"\(outcome)\"}\n"
        return s
    }
}

/// Appends JSON lines to a file from a background queue; connection queues only hand over text.
/// Lines are batched and flushed every 200 ms or at 64 KiB, and at `close()`.
/// @unchecked Sendable: `pending` is behind a lock; the timer is only touched in init and close.
final class AccessLog: @unchecked Sendable {
    private let fd: Int32
    private let pending = Mutex<[UInt8]>([])
    private let queue = DispatchQueue(label: "customs.access-log")
    private let timer: DispatchSourceTimer

    init(path: String) throws(GatewayError) {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if fd < 0 { throw GatewayError(.accessLog, "cannot open access log \(path): \(String(cString: strerror(errno)))") }
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    func append(_ record: AccessRecord) {
        let line = record.json()
        let big = pending.withLock { buf -> Bool in
            buf.append(contentsOf: line.utf8)
            return buf.count >= 65_536
        }
        if big { queue.async { self.flush() } }
    }

    func flush() {
        let data = pending.withLock { buf -> [UInt8] in
            let out = buf
            buf.removeAll(keepingCapacity: true)
            return out
        }
        var off = 0
        while off < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + off, data.count - off) }
            if n <= 0 { if errno == EINTR { continue }; break }
            off += n
        }
    }

    func close() {
        timer.cancel()
        queue.sync { flush() }
        _ = Glibc.close(fd)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func millis(_ ms: Double) -> String { String(format: "%.3f", ms) }

    static func timestamp(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let ms = Int((d.timeIntervalSince1970 - Double(t)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1,
                      Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), ms)
    }
}
