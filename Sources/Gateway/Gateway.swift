import CShims
import CustomsCore
import Dispatch
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The data plane: forward-proxy and transparent listeners, the admin listener, and the event
/// loops every connection lives on. `start()` binds everything or throws; `shutdown(grace:)`
/// stops accepting and lets in-flight flows finish.
public final class Gateway: Sendable {
    /// @unchecked Sendable: the source is only resumed at start and cancelled at shutdown.
    private struct Listener: @unchecked Sendable {
        let address: ListenAddress
        let fd: Int32
        let transparent: Bool
        let source: DispatchSourceRead
    }
    private struct State: Sendable {
        var listeners: [Listener] = []
        var admin: AdminServer?
        var started = false
        var stopped = false
    }

    private let core: GatewayCore
    private let loops: [EventLoop]
    private let acceptQueue = DispatchQueue(label: "customs.accept")
    private let state = Mutex(State())
    private let nextLoop = Atomic<Int>(0)

    public init(configuration: GatewayConfiguration, governor: (any FlowGovernor)?, metrics: MetricsRegistry,
                logger: Logger) throws(GatewayError) {
        try configuration.validate()
        core = try GatewayCore(config: configuration, governor: governor, registry: metrics, logger: logger)
        var prefix = UInt32.random(in: 0...UInt32.max)
        let tag = withUnsafeBytes(of: &prefix) { $0.map { String($0, radix: 16) }.joined() }
        loops = (0..<configuration.queues).map {
            EventLoop(index: $0, flowPrefix: tag + "-", upstreamIdlePerKey: configuration.upstreamIdlePerKey,
                      upstreamIdleTimeout: configuration.upstreamIdleTimeout)
        }
    }

    /// Binds every listener (nothing is left bound when one fails) and starts accepting.
    public func start() throws(GatewayError) {
        var bound: [(ListenAddress, Int32, Bool)] = []
        var admin: AdminServer?
        do throws(GatewayError) {
            for a in core.config.listen { bound.append((try ListenAddress.parse(a), 0, false)) }
            for a in core.config.transparent { bound.append((try ListenAddress.parse(a), 0, true)) }
            for i in bound.indices { bound[i].1 = try Socket.listen(bound[i].0) }
            if let a = core.config.admin {
                admin = try AdminServer(address: try ListenAddress.parse(a), registry: core.registry, logger: core.logger)
            }
        } catch {
            for b in bound where b.1 > 0 { close(b.1) }
            throw error
        }
        for l in loops { l.start() }
        let listeners = bound.map { (address, fd, transparent) -> Listener in
            let src = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
            src.setEventHandler { [unowned self] in self.acceptAll(fd, transparent: transparent) }
            src.setCancelHandler { close(fd) }
            src.resume()
            return Listener(address: address, fd: fd, transparent: transparent, source: src)
        }
        admin?.start()
        state.withLock { $0.listeners = listeners; $0.admin = admin; $0.started = true }
        for l in listeners {
            core.logger.info("listening", metadata: ["address": "\(boundAddress(l.fd))",
                                                     "mode": "\(l.transparent ? "transparent" : "proxy")"])
        }
        if let admin { core.logger.info("admin listening", metadata: ["address": "\(admin.boundAddress)"]) }
    }

    /// The actual ports of the proxy and transparent listeners, in configuration order (for port 0).
    public var boundPorts: [UInt16] {
        state.withLock { $0.listeners.map { boundAddress($0.fd).port } }
    }

    /// The admin listener's port, when it runs.
    public var adminPort: UInt16? { state.withLock { $0.admin?.boundAddress.port } }

    public var activeConnections: Int { core.activeConnections.load(ordering: .relaxed) }

    private func boundAddress(_ fd: Int32) -> ListenAddress {
        let (ip, port) = Socket.localAddress(fd).endpoint ?? (.v4(0), 0)
        return ListenAddress(ip: ip, port: port)
    }

    private func acceptAll(_ fd: Int32, transparent: Bool) {
        for _ in 0..<64 {
            var sa = SocketAddress()
            sa.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let c = withUnsafeMutableBytes(of: &sa.storage) { raw in
                customs_accept(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &sa.length)
            }
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE {
                    core.logger.warning("out of file descriptors; connections wait in the backlog")
                }
                return
            }
            let active = core.activeConnections.add(1, ordering: .relaxed).newValue
            if active > core.config.maxConnections {
                core.activeConnections.subtract(1, ordering: .relaxed)
                core.metrics.rejectedConnections.increment()
                customs_abort_close(c)
                continue
            }
            core.metrics.acceptedConnections.increment()
            core.metrics.activeConnections.increment()
            Socket.setOption(c, Int32(IPPROTO_TCP), TCP_NODELAY)
            let peer = sa.endpoint ?? (.v4(0), 0)
            var original: (IPAddress, UInt16)?
            if transparent {
                let local = Socket.localAddress(c)
                original = Socket.originalDestination(c, family: local.family)
                // Without a REDIRECT rule the "original" destination is this listener itself.
                if let o = original, let l = local.endpoint, o.0 == l.0 && o.1 == l.1 { original = nil }
            }
            let loop = loops[(nextLoop.add(1, ordering: .relaxed).newValue) % loops.count]
            let core = self.core, originalDestination = original
            loop.queue.async {
                let conn = ClientConnection(core: core, loop: loop, fd: c, peer: peer,
                                            originalDestination: originalDestination, transparent: transparent)
                conn.start()
            }
        }
    }

    /// Starts a new access log file at the configured path (after logrotate moved the old one).
    /// Returns why not, if the new file could not be opened (the old one stays in use).
    @discardableResult
    public func reopenLogs() -> String? {
        core.accessLog?.reopen()
    }

    /// Stops accepting, ends keep-alive, waits up to `grace` seconds for flows to finish,
    /// then closes whatever is left and flushes the access log.
    public func shutdown(grace: TimeInterval) async {
        let (listeners, admin) = state.withLock { s -> ([Listener], AdminServer?) in
            if s.stopped || !s.started { return ([], nil) }
            s.stopped = true
            return (s.listeners, s.admin)
        }
        for l in listeners { l.source.cancel() }
        core.logger.info("shutting down", metadata: ["in_flight": "\(activeConnections)", "grace_s": "\(grace)"])
        for l in loops { l.queue.async { l.beginDraining() } }
        let deadline = Date().addingTimeInterval(grace)
        while activeConnections > 0 && Date() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        let left = activeConnections
        if left > 0 { core.logger.warning("closing flows still open after the grace period", metadata: ["count": "\(left)"]) }
        for l in loops { l.queue.sync { l.forceClose(); l.stop() } }
        admin?.stop()
        core.accessLog?.close()
    }
}
