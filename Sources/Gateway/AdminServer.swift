import CShims
import Dispatch
import Foundation
import Logging
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The admin listener: `GET /healthz` → "ok", `GET /metrics` → Prometheus text. One request per
/// connection, all on one serial queue (admin traffic is a scrape every few seconds).
/// @unchecked Sendable: the listener and every admin connection are confined to `queue`.
final class AdminServer: @unchecked Sendable {
    let boundAddress: ListenAddress
    private let fd: Int32
    private let registry: MetricsRegistry
    private let logger: Logger
    private let queue = DispatchQueue(label: "customs.admin")
    private lazy var poller = EventPoller(queue: queue)
    private var source: DispatchSourceRead?
    private var open: [ObjectIdentifier: AdminConnection] = [:]

    init(address: ListenAddress, registry: MetricsRegistry, logger: Logger) throws(GatewayError) {
        fd = try Socket.listen(address, backlog: 64)
        let (ip, port) = Socket.localAddress(fd).endpoint ?? (address.ip, address.port)
        boundAddress = ListenAddress(ip: ip, port: port)
        self.registry = registry
        self.logger = logger
    }

    func start() {
        let src = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        let fd = self.fd
        src.setEventHandler { [unowned self] in self.accept() }
        src.setCancelHandler { close(fd) }
        src.resume()
        source = src
    }

    func stop() {
        queue.sync {
            source?.cancel()
            source = nil
            for c in open.values { c.transport.close(abort: false) }
            open.removeAll()
            poller.stop()
        }
    }

    private func accept() {
        while true {
            let c = customs_accept(fd, nil, nil)
            if c < 0 { return }
            let conn = AdminConnection(transport: SocketTransport(fd: c, poller: poller))
            open[ObjectIdentifier(conn)] = conn
            conn.transport.onReadable = { [unowned self, unowned conn] in self.readable(conn) }
            conn.transport.resumeReading()
            queue.asyncAfter(deadline: .now() + 5) { [weak self, weak conn] in
                guard let self, let conn else { return }
                self.finish(conn)
            }
        }
    }

    private func readable(_ conn: AdminConnection) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let r = chunk.withUnsafeMutableBytes { conn.transport.read(into: $0) }
        guard case .bytes(let n) = r else {
            if case .wouldBlock = r { return }
            finish(conn)
            return
        }
        conn.buffer.append(contentsOf: chunk[0..<n])
        let result: HeadParseResult<HTTPRequestHead>
        do {
            result = try conn.buffer.withWireBytes { (p) throws(WireError) in try conn.parser.parseRequest(p) }
        } catch {
            respond(conn, ResponseBytes.text(error.status, error.message))
            return
        }
        guard case .complete(let head, _) = result else { return }
        let path: String
        switch head.target {
        case .origin: path = head.pathWithoutQuery
        case .absolute(_, _, _, _): path = head.pathWithoutQuery
        default: path = ""
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            respond(conn, ResponseBytes.text(405, "only GET is served here"))
            return
        }
        switch path {
        case "/healthz":
            respond(conn, SyntheticResponse(status: 200, reason: "OK", headers: [("Content-Type", "text/plain")],
                                            body: Array("ok\n".utf8)), head: head.method == "HEAD")
        case "/metrics":
            respond(conn, SyntheticResponse(status: 200, reason: "OK",
                                            headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                            body: Array(registry.render().utf8)), head: head.method == "HEAD")
        default:
            respond(conn, ResponseBytes.text(404, "not found: try /healthz or /metrics"))
        }
    }

    private func respond(_ conn: AdminConnection, _ r: SyntheticResponse, head: Bool = false) {
        var bytes = ResponseBytes.make(r, keepAlive: false, via: "1.1 customs-admin")
        if head { bytes.removeLast(r.body.count) }
        bytes.withUnsafeBytes { _ = conn.transport.send($0) }
        conn.transport.pauseReading()
        if conn.transport.hasPendingOutput {
            conn.transport.onDrained = { [unowned self, unowned conn] in self.finish(conn) }
        } else {
            finish(conn)
        }
    }

    private func finish(_ conn: AdminConnection) {
        conn.transport.close(abort: false)
        open[ObjectIdentifier(conn)] = nil
    }
}

/// @unchecked Sendable: confined to the admin queue.
final class AdminConnection: @unchecked Sendable {
    let transport: SocketTransport
    var buffer: [UInt8] = []
    var parser = HeadParser(maxRequestLine: 2048, maxHeaderBytes: 16_384)
    init(transport: SocketTransport) { self.transport = transport }
}
