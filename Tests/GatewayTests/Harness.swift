import CustomsTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback upstream written in Python: small fixed routes the gateway tests aim at.
enum Upstream {
    static let script = #"""
import hashlib, http.server, socketserver, sys, time, json

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            h = hashlib.sha256(); n = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""): pass
                    break
                left = size
                while left:
                    b = self.rfile.read(min(left, 1 << 20)); h.update(b); n += len(b); left -= len(b)
                self.rfile.readline()
            return h.hexdigest(), n
        left = int(self.headers.get("Content-Length", "0")); h = hashlib.sha256(); n = 0
        while left:
            b = self.rfile.read(min(left, 1 << 20))
            if not b: break
            h.update(b); n += len(b); left -= len(b)
        return h.hexdigest(), n

    def send(self, code, data, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(data)

    def info(self):
        return {"method": self.command, "path": self.path, "upstream_port": self.client_address[1],
                "headers": {k.lower(): v for k, v in self.headers.items()}}

    def do_GET(self):
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/slow"):
            time.sleep(5); self.send(200, b"late")
        elif self.path.startswith("/hop"):
            self.send_response(200)
            for k, v in (("Connection", "keep-alive, X-Hop"), ("X-Hop", "secret"), ("Keep-Alive", "timeout=5"),
                         ("Upgrade", "h2c"), ("X-End", "  kept  "), ("Content-Length", "2")):
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(b"ok")
        elif self.path.startswith("/close"):
            self.send_response(200); self.send_header("Connection", "close"); self.end_headers()
            self.wfile.write(b"until close"); self.close_connection = True
        else:
            self.send(200, json.dumps(self.info()).encode(), "application/json")
    do_HEAD = do_GET
    do_DELETE = do_GET

    def do_POST(self):
        digest, n = self.body()
        d = self.info(); d["sha256"] = digest; d["length"] = n
        self.send(200, json.dumps(d).encode(), "application/json")
    do_PUT = do_POST

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S(("127.0.0.1", int(sys.argv[1])), H)
srv.timeout = 0.5
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline: srv.handle_request()
"""#
}

/// A gateway (`customs serve`) and an upstream, both on loopback, both stopped when released.
final class Harness: @unchecked Sendable {
    // Only used from the owning test.
    let dir: URL
    let upstreamPort: UInt16
    let proxyPort: UInt16
    let adminPort: UInt16
    let upstream: BackgroundProcess?
    let gateway: BackgroundProcess
    var accessLog: URL { dir.appendingPathComponent("access.log") }

    init(allowLoopback: Bool = true, extra: [String] = [], withUpstream: Bool = true, listenV6: Bool = false) throws {
        try requireTool("curl")
        try requireTool("python3")
        dir = try TestPaths.temporaryDirectory("gateway")
        upstreamPort = freeLoopbackPort()
        proxyPort = freeLoopbackPort()
        adminPort = freeLoopbackPort()
        if withUpstream {
            let script = dir.appendingPathComponent("upstream.py")
            try Upstream.script.write(to: script, atomically: true, encoding: .utf8)
            upstream = try BackgroundProcess("python3", [script.path, "\(upstreamPort)", "110"])
        } else {
            upstream = nil
        }
        var args = ["serve", "--listen", "127.0.0.1:\(proxyPort)", "--admin", "127.0.0.1:\(adminPort)",
                    "--state", dir.path, "--queues", "2"]
        if listenV6 { args += ["--listen", "[::1]:\(proxyPort)"] }
        if allowLoopback { args += ["--allow-destination", "127.0.0.0/8", "--allow-destination", "::1/128"] }
        gateway = try BackgroundProcess(TestPaths.customsBinary.path, args + extra)
        try waitForListener(port: proxyPort, process: gateway)
        if let upstream { try waitForListener(port: upstreamPort, process: upstream) }
    }

    var proxy: String { "http://127.0.0.1:\(proxyPort)" }
    var origin: String { "http://127.0.0.1:\(upstreamPort)" }

    /// curl through the gateway; returns (status line code, body).
    func curl(_ args: [String], timeout: TimeInterval = 60) throws -> ProcessResult {
        try runProcess("curl", ["-sS", "-x", proxy] + args, timeout: timeout)
    }

    func accessLines() -> [[String: Any]] {
        guard let text = try? String(contentsOf: accessLog, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits for the access log writer (it flushes every 200 ms).
    func waitForAccessLines(_ count: Int, timeout: TimeInterval = 5) -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var lines = accessLines()
        while lines.count < count && Date() < deadline { usleep(50_000); lines = accessLines() }
        return lines
    }

    func metrics() throws -> String {
        try runProcess("curl", ["-sS", "http://127.0.0.1:\(adminPort)/metrics"], timeout: 10).stdout
    }

    deinit {
        gateway.stop(grace: 5)
        upstream?.stop(grace: 1)
        try? FileManager.default.removeItem(at: dir)
    }
}

/// A raw TCP client for framing tests: sends bytes, reads until the server closes (or a deadline).
struct RawClient {
    let fd: Int32

    init(port: UInt16, host: String = "127.0.0.1") throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var rc: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &a.sin6_addr)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = inet_addr(host)
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 { Glibc.close(fd); throw TestSupportError.timeout("cannot connect to \(host):\(port)") }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything until EOF; `closed` is false when the deadline hit first.
    func readAll(timeout: TimeInterval = 5) -> (text: String, closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { out.append(contentsOf: buf[0..<n]); continue }
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if errno == EAGAIN || errno == EINTR { continue }
            return (String(decoding: out, as: UTF8.self), true)   // reset counts as closed
        }
        return (String(decoding: out, as: UTF8.self), false)
    }

    /// Reads until `marker` appears (or the deadline), leaving the connection open.
    func read(until marker: String, timeout: TimeInterval = 5) -> String {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out.append(contentsOf: buf[0..<n])
                if String(decoding: out, as: UTF8.self).contains(marker) { break }
                continue
            }
            if n == 0 { break }
            if errno == EAGAIN || errno == EINTR { continue }
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}

func statusCode(_ response: String) -> Int? {
    guard response.hasPrefix("HTTP/1."), response.count >= 12 else { return nil }
    return Int(response.dropFirst(9).prefix(3))
}

/// VmRSS of a process in KiB.
func residentKiB(pid: Int32, field: String = "VmRSS:") -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field) {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    }
    return nil
}
