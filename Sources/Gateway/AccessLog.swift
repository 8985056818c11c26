import CustomsCore
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

    /// Appends the JSON line to `out` byte by byte: no intermediate Strings on the request path.
    func write(into out: inout [UInt8], stamps: inout TimestampCache) {
        out.appendASCII("{\"time\":\"")
        stamps.append(time, to: &out)
        out.appendASCII("\",\"flow\":\"")
        out.append(contentsOf: flowID.utf8)
        out.appendASCII("\",\"client\":\"")
        AccessLog.appendEndpoint(client.address, port: client.port, to: &out)
        out.append(UInt8(ascii: "\""))
        if let n = client.name { out.appendASCII(",\"client_name\":"); AccessLog.appendQuoted(n, to: &out) }
        if let u = client.user { out.appendASCII(",\"user\":"); AccessLog.appendQuoted(u, to: &out) }
        out.appendASCII(",\"method\":"); AccessLog.appendQuoted(method, to: &out)
        out.appendASCII(",\"scheme\":\""); out.append(contentsOf: scheme.utf8)
        out.appendASCII("\",\"host\":"); AccessLog.appendQuoted(host, to: &out)
        out.appendASCII(",\"port\":"); out.appendDecimal(UInt64(port))
        out.appendASCII(",\"path\":"); AccessLog.appendPath(path, to: &out)
        out.appendASCII(",\"status\":"); out.appendDecimal(UInt64(max(status, 0)))
        out.appendASCII(",\"bytes_in\":"); out.appendDecimal(bytesIn)
        out.appendASCII(",\"bytes_out\":"); out.appendDecimal(bytesOut)
        out.appendASCII(",\"duration_ms\":"); AccessLog.appendMillis(durationMs, to: &out)
        if let c = upstreamConnectMs { out.appendASCII(",\"connect_ms\":"); AccessLog.appendMillis(c, to: &out) }
        if let u = upstream { out.appendASCII(",\"upstream\":\""); out.append(contentsOf: u.utf8); out.append(UInt8(ascii: "\"")) }
        out.appendASCII(",\"outcome\":\""); out.append(contentsOf: outcome.utf8)
        out.appendASCII("\"}\n")
    }
}

/// Appends JSON lines to a file from a background queue; connection queues only append bytes.
/// Lines are batched and flushed every 200 ms or at 64 KiB, and at `close()`.
/// @unchecked Sendable: `pending` is behind a lock; the timer is only touched in init and close.
final class AccessLog: @unchecked Sendable {
    private let fd: Int32
    private struct Pending {
        var bytes: [UInt8] = []
        var stamps = TimestampCache()
    }
    private let pending = Mutex(Pending())
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
        let big = pending.withLock { p -> Bool in
            record.write(into: &p.bytes, stamps: &p.stamps)
            return p.bytes.count >= 65_536
        }
        if big { queue.async { self.flush() } }
    }

    func flush() {
        let data = pending.withLock { p -> [UInt8] in
            let out = p.bytes
            p.bytes.removeAll(keepingCapacity: true)
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

    static func quote(_ s: String) -> String { text { appendQuoted(s, to: &$0) } }
    static func millis(_ ms: Double) -> String { text { appendMillis(ms, to: &$0) } }
    static func timestamp(_ d: Date) -> String { text { appendTimestamp(d, to: &$0) } }

    private static func text(_ build: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        build(&out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal; plain printable ASCII (nearly every host, path and method) is copied as is.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var plain = true
        for b in s.utf8 where b < 0x20 || b > 0x7E || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: JSONText.quote(s).utf8)
        }
    }

    /// The path with every segment that could hold a personal identifier written as `*`. The
    /// access log is kept for operations; it must not become a second, unaudited store of the data
    /// the gateway counts (the audit log records what was found, without values).
    static func appendPath(_ path: String, to out: inout [UInt8]) {
        guard mayHoldIdentifier(path.utf8) else { appendQuoted(path, to: &out); return }
        let masked = path.split(separator: "/", omittingEmptySubsequences: false)
            .map { mayHoldIdentifier($0.utf8) ? "*" : String($0) }
            .joined(separator: "/")
        appendQuoted(masked, to: &out)
    }

    /// A run of six or more digits (resident IDs, phones, cards, passports, HK IDs), an `@`
    /// (e-mail), or anything non-ASCII (names), also percent-encoded (`%40`, `%E5…`).
    static func mayHoldIdentifier<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        var digits = 0
        var prev2: UInt8 = 0, prev1: UInt8 = 0
        for b in bytes {
            digits = b >= 0x30 && b <= 0x39 ? digits + 1 : 0
            if digits >= 6 || b == UInt8(ascii: "@") || b >= 0x80 { return true }
            if prev2 == UInt8(ascii: "%") {
                let high = prev1 | 0x20
                if (prev1 == UInt8(ascii: "4") && b == UInt8(ascii: "0")) || prev1 == UInt8(ascii: "8") || prev1 == UInt8(ascii: "9")
                    || (high >= UInt8(ascii: "a") && high <= UInt8(ascii: "f")) {
                    return true
                }
            }
            prev2 = prev1; prev1 = b
        }
        return false
    }

    /// Milliseconds with three decimals.
    static func appendMillis(_ ms: Double, to out: inout [UInt8]) {
        let micros = UInt64((max(ms, 0) * 1000).rounded())
        out.appendDecimal(micros / 1000)
        out.append(UInt8(ascii: "."))
        out.appendDecimal(micros % 1000, width: 3)
    }

    /// RFC 3339 UTC with milliseconds.
    /// `a.b.c.d:port` written digit by digit (every line has one; IPv6 takes the String route).
    static func appendEndpoint(_ address: IPAddress, port: UInt16, to out: inout [UInt8]) {
        guard case .v4(let v) = address else {
            out.append(contentsOf: address.withPort(port).utf8)
            return
        }
        for shift: UInt32 in [24, 16, 8, 0] {
            out.appendDecimal(UInt64(v >> shift & 0xFF))
            out.append(shift == 0 ? UInt8(ascii: ":") : UInt8(ascii: "."))
        }
        out.appendDecimal(UInt64(port))
    }

    static func appendTimestamp(_ d: Date, to out: inout [UInt8]) {
        let seconds = d.timeIntervalSince1970
        let t = time_t(seconds)
        appendSecond(t, to: &out)
        appendMilliseconds(of: seconds, after: t, to: &out)
    }

    /// "YYYY-MM-DDTHH:MM:SS." of a whole second.
    static func appendSecond(_ second: time_t, to out: inout [UInt8]) {
        var t = second
        var tmv = tm()
        gmtime_r(&t, &tmv)
        out.appendDecimal(UInt64(max(0, Int(tmv.tm_year) + 1900)), width: 4); out.append(UInt8(ascii: "-"))
        out.appendDecimal(UInt64(tmv.tm_mon + 1), width: 2); out.append(UInt8(ascii: "-"))
        out.appendDecimal(UInt64(tmv.tm_mday), width: 2); out.append(UInt8(ascii: "T"))
        out.appendDecimal(UInt64(tmv.tm_hour), width: 2); out.append(UInt8(ascii: ":"))
        out.appendDecimal(UInt64(tmv.tm_min), width: 2); out.append(UInt8(ascii: ":"))
        out.appendDecimal(UInt64(tmv.tm_sec), width: 2); out.append(UInt8(ascii: "."))
    }

    /// "mmmZ": the milliseconds of `seconds` past the whole second `t`.
    static func appendMilliseconds(of seconds: Double, after t: time_t, to out: inout [UInt8]) {
        let ms = UInt64(max(0, Int((seconds - Double(t)) * 1000)))
        out.appendDecimal(ms, width: 3); out.append(UInt8(ascii: "Z"))
    }
}

/// The access log's timestamps to the second, formatted once per second: every line has one,
/// and `gmtime_r` with fourteen digits per request showed in profiles.
struct TimestampCache {
    private var second: time_t = .min
    private var prefix: [UInt8] = []

    mutating func append(_ d: Date, to out: inout [UInt8]) {
        let seconds = d.timeIntervalSince1970
        let t = time_t(seconds)
        if t != second {
            prefix.removeAll(keepingCapacity: true)
            AccessLog.appendSecond(t, to: &prefix)
            second = t
        }
        out.append(contentsOf: prefix)
        AccessLog.appendMilliseconds(of: seconds, after: t, to: &out)
    }
}

extension Array where Element == UInt8 {
    mutating func appendASCII(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Decimal digits of `v`, zero-padded to `width`, without building a String.
    mutating func appendDecimal(_ v: UInt64, width: Int = 1) {
        var digits = 1, x = v
        while x >= 10 { x /= 10; digits += 1 }
        let total = Swift.max(digits, width)
        append(contentsOf: repeatElement(UInt8(ascii: "0"), count: total))
        var i = count - 1, y = v
        repeat { self[i] = UInt8(truncatingIfNeeded: y % 10) &+ 0x30; y /= 10; i -= 1 } while y > 0
    }
}
