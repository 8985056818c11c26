import CustomsCore
import Foundation
import Logging
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One line of the access log.
struct AccessRecord {
    var time: Date
    var flowID: FlowID
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

    /// The most bytes `write` can produce: escaping takes at most six bytes per input byte.
    var maxBytes: Int {
        func quoted(_ s: String?) -> Int { (s?.utf8.count ?? 0) * 6 + 2 }
        return 512 + flowID.maxBytes + scheme.utf8.count + (upstream?.utf8.count ?? 0) + outcome.utf8.count
            + quoted(client.name) + quoted(client.user) + quoted(method) + quoted(host) + quoted(path)
    }

    /// Appends the JSON line to `out` (tests and other callers without a raw buffer).
    func write(into out: inout [UInt8], stamps: inout TimestampCache) {
        out.appendWriting(maxBytes: maxBytes) { write(to: &$0, stamps: &stamps) }
    }

    /// Writes the JSON line byte by byte into room for `maxBytes`: no intermediate Strings, no
    /// capacity check per piece.
    func write(to out: inout ByteCursor, stamps: inout TimestampCache) {
        out.put("{\"time\":\"")
        stamps.append(time, to: &out)
        out.put("\",\"flow\":\"")
        flowID.write(to: &out)
        out.put("\",\"client\":\"")
        AccessLog.appendEndpoint(client.address, port: client.port, to: &out)
        out.put(UInt8(ascii: "\""))
        if let n = client.name { out.put(",\"client_name\":"); AccessLog.appendQuoted(n, to: &out) }
        if let u = client.user { out.put(",\"user\":"); AccessLog.appendQuoted(u, to: &out) }
        out.put(",\"method\":"); AccessLog.appendQuoted(method, to: &out)
        out.put(",\"scheme\":\""); out.put(utf8: scheme)
        out.put("\",\"host\":"); AccessLog.appendQuoted(host, to: &out)
        out.put(",\"port\":"); out.putDecimal(UInt64(port))
        out.put(",\"path\":"); AccessLog.appendPath(path, to: &out)
        out.put(",\"status\":"); out.putDecimal(UInt64(max(status, 0)))
        out.put(",\"bytes_in\":"); out.putDecimal(bytesIn)
        out.put(",\"bytes_out\":"); out.putDecimal(bytesOut)
        out.put(",\"duration_ms\":"); AccessLog.appendMillis(durationMs, to: &out)
        if let c = upstreamConnectMs { out.put(",\"connect_ms\":"); AccessLog.appendMillis(c, to: &out) }
        if let u = upstream { out.put(",\"upstream\":\""); out.put(utf8: u); out.put(UInt8(ascii: "\"")) }
        out.put(",\"outcome\":\""); out.put(utf8: outcome)
        out.put("\"}\n")
    }
}

/// Appends JSON lines to a file from a background queue; connection queues only append bytes.
/// Lines are batched and flushed every 200 ms or at 64 KiB, and at `close()`. `reopen()` (SIGUSR1,
/// as nginx does) starts a new file at the same path after logrotate has moved the old one. A
/// write that fails (a full disk) loses that batch, which is counted and logged once per run of
/// failures: the access log must never hold up traffic, and the audit log, not this one, is the
/// record a block rests on.
/// @unchecked Sendable: `pending` is behind a lock; `fd`, `flushing` and `failing` are touched only
/// on `queue`; the timer only in init and close.
final class AccessLog: @unchecked Sendable {
    let path: String
    private var fd: Int32
    private struct Pending: ~Copyable {
        var lines = LineBuffer(capacity: 80 << 10)
        var stamps = TimestampCache()
    }
    private let pending = Mutex(Pending())
    /// The batch being written to the file; swapped with the pending one so writers never wait on I/O.
    private var flushing = LineBuffer(capacity: 80 << 10)
    private let queue = DispatchQueue(label: "customs.access-log")
    private let timer: DispatchSourceTimer
    private let logger: Logger
    private let writeErrors: Counter?
    private var failing = false

    init(path: String, logger: Logger = Logger(label: "customs.access-log"), writeErrors: Counter? = nil) throws(GatewayError) {
        self.path = path
        self.logger = logger
        self.writeErrors = writeErrors
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        fd = try Self.open(path)
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    private static func open(_ path: String) throws(GatewayError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if fd < 0 { throw GatewayError(.accessLog, "cannot open access log \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    func append(_ record: AccessRecord) {
        let room = record.maxBytes
        let big = pending.withLock { p -> Bool in
            p.lines.write(maxBytes: room) { record.write(to: &$0, stamps: &p.stamps) }
            return p.lines.count >= 65_536
        }
        if big { queue.async { self.flush() } }
    }

    /// Writes what is pending to the old file, then goes on in a new one at `path`. If the new
    /// one cannot be opened the old one stays in use, and the reason is returned.
    @discardableResult
    func reopen() -> String? {
        queue.sync {
            flush()
            do throws(GatewayError) {
                let next = try Self.open(path)
                _ = Glibc.close(fd)
                fd = next
                failing = false
                logger.notice("access log reopened", metadata: ["path": "\(path)"])
                return nil
            } catch {
                logger.error("access log not reopened; still writing the old file", metadata: ["error": "\(error)"])
                return error.description
            }
        }
    }

    /// Runs on `queue`.
    private func flush() {
        pending.withLock { p in swap(&p.lines, &flushing) }
        let data = flushing.bytes
        var off = 0
        while off < data.count {
            let n = write(fd, data.baseAddress! + off, data.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let reason = n < 0 ? String(cString: strerror(errno)) : "nothing written"
                writeErrors?.increment()
                if !failing {
                    failing = true
                    logger.error("access log write failed; lines are dropped until writes succeed again", metadata: [
                        "path": "\(path)", "error": "\(reason)", "bytes": "\(data.count - off)"])
                }
                break
            }
            off += n
        }
        if off == data.count && !data.isEmpty && failing {
            failing = false
            logger.notice("access log writes succeed again", metadata: ["path": "\(path)"])
        }
        flushing.removeAll()
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

    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: s.utf8.count * 6 + 2) { appendQuoted(s, to: &$0) }
    }
    static func appendPath(_ path: String, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: path.utf8.count * 6 + 2) { appendPath(path, to: &$0) }
    }
    static func appendMillis(_ ms: Double, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: 32) { appendMillis(ms, to: &$0) }
    }
    static func appendEndpoint(_ address: IPAddress, port: UInt16, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: 64) { appendEndpoint(address, port: port, to: &$0) }
    }
    static func appendTimestamp(_ d: Date, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: 32) { appendTimestamp(d, to: &$0) }
    }

    /// A JSON string literal; plain printable ASCII (nearly every host, path and method) is copied as is.
    static func appendQuoted(_ s: String, to out: inout ByteCursor) {
        // Checked and copied from the contiguous bytes in one pass (iterating the UTF-8 view
        // steps through it byte by byte); bridged strings, and anything to escape, take the slow way.
        let done: Bool? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes where b < 0x20 || b > 0x7E || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return false }
            out.put(UInt8(ascii: "\""))
            out.put(UnsafeRawBufferPointer(bytes))
            out.put(UInt8(ascii: "\""))
            return true
        }
        if done != true { out.put(utf8: JSONText.quote(s)) }
    }

    /// The path with every segment that could hold a personal identifier written as `*`. The
    /// access log is kept for operations; it must not become a second, unaudited store of the data
    /// the gateway counts (the audit log records what was found, without values).
    static func appendPath(_ path: String, to out: inout ByteCursor) {
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
    static func appendMillis(_ ms: Double, to out: inout ByteCursor) {
        let micros = UInt64((max(ms, 0) * 1000).rounded())
        out.putDecimal(micros / 1000)
        out.put(UInt8(ascii: "."))
        out.putDecimal(micros % 1000, width: 3)
    }

    /// RFC 3339 UTC with milliseconds.
    /// `a.b.c.d:port` written digit by digit (every line has one; IPv6 takes the String route).
    static func appendEndpoint(_ address: IPAddress, port: UInt16, to out: inout ByteCursor) {
        guard case .v4(let v) = address else {
            out.put(utf8: address.withPort(port))
            return
        }
        out.putDecimal(UInt64(v >> 24)); out.put(UInt8(ascii: "."))
        out.putDecimal(UInt64(v >> 16 & 0xFF)); out.put(UInt8(ascii: "."))
        out.putDecimal(UInt64(v >> 8 & 0xFF)); out.put(UInt8(ascii: "."))
        out.putDecimal(UInt64(v & 0xFF)); out.put(UInt8(ascii: ":"))
        out.putDecimal(UInt64(port))
    }

    static func appendTimestamp(_ d: Date, to out: inout ByteCursor) {
        let seconds = d.timeIntervalSince1970
        let t = time_t(seconds)
        appendSecond(t, to: &out)
        appendMilliseconds(of: seconds, after: t, to: &out)
    }

    /// "YYYY-MM-DDTHH:MM:SS." of a whole second (at most 32 bytes).
    static func appendSecond(_ second: time_t, to out: inout ByteCursor) {
        var t = second
        var tmv = tm()
        gmtime_r(&t, &tmv)
        out.putDecimal(UInt64(max(0, min(Int(tmv.tm_year) + 1900, 9999))), width: 4); out.put(UInt8(ascii: "-"))
        out.putDecimal(UInt64(tmv.tm_mon + 1), width: 2); out.put(UInt8(ascii: "-"))
        out.putDecimal(UInt64(tmv.tm_mday), width: 2); out.put(UInt8(ascii: "T"))
        out.putDecimal(UInt64(tmv.tm_hour), width: 2); out.put(UInt8(ascii: ":"))
        out.putDecimal(UInt64(tmv.tm_min), width: 2); out.put(UInt8(ascii: ":"))
        out.putDecimal(UInt64(tmv.tm_sec), width: 2); out.put(UInt8(ascii: "."))
    }

    /// "mmmZ": the milliseconds of `seconds` past the whole second `t`.
    static func appendMilliseconds(of seconds: Double, after t: time_t, to out: inout ByteCursor) {
        let ms = UInt64(max(0, min(Int((seconds - Double(t)) * 1000), 999)))
        out.putDecimal(ms, width: 3); out.put(UInt8(ascii: "Z"))
    }
}

/// The access log's timestamps to the second, formatted once per second: every line has one,
/// and `gmtime_r` with fourteen digits per request showed in profiles.
struct TimestampCache {
    private var second: time_t = .min
    private var prefix: [UInt8] = []

    mutating func append(_ d: Date, to out: inout [UInt8]) {
        out.appendWriting(maxBytes: 40) { append(d, to: &$0) }
    }

    /// At most 40 bytes.
    mutating func append(_ d: Date, to out: inout ByteCursor) {
        let seconds = d.timeIntervalSince1970
        let t = time_t(seconds)
        if t != second {
            prefix.removeAll(keepingCapacity: true)
            prefix.appendWriting(maxBytes: 32) { AccessLog.appendSecond(t, to: &$0) }
            second = t
        }
        prefix.withUnsafeBytes { out.put($0) }
        AccessLog.appendMilliseconds(of: seconds, after: t, to: &out)
    }
}

/// Bytes for the access log, written through a `ByteCursor` after one check for room per line.
/// A class so the pending and the flushing batch swap without copying.
/// Not thread-safe: each instance is confined by its owner (a lock or a queue).
final class LineBuffer {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func removeAll() { count = 0 }

    /// Runs `body` with room for `maxBytes` more bytes (growing once if needed).
    func write(maxBytes: Int, _ body: (inout ByteCursor) -> Void) {
        if count + maxBytes > capacity {
            let bigger = max(capacity * 2, count + maxBytes)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
            grown.update(from: base, count: count)
            base.deallocate()
            base = grown
            capacity = bigger
        }
        var cursor = ByteCursor(base + count)
        body(&cursor)
        let written = (base + count).distance(to: cursor.position)
        // Checked after the fact (and kept in -Ounchecked builds): a wrong bound is a bug to catch in tests.
        if written > maxBytes { fatalError("access log line overran its reservation") }
        count += written
    }
}
