import ArgumentParser
import CustomsCore
import Dispatch
import Foundation
import Enforcement
import Gateway
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway (forward proxy, transparent listeners, admin endpoint).",
        discussion: """
        Clients use the gateway as an HTTP proxy (http_proxy=http://127.0.0.1:3128). Plain HTTP \
        requests are forwarded with keep-alive on both sides; CONNECT opens a tunnel. Destinations \
        that are not on the public Internet (loopback, private, link-local, CGNAT, multicast, cloud \
        metadata) are refused with 403 unless --allow-destination covers them. SIGTERM or SIGINT \
        stops accepting and lets in-flight flows finish within --shutdown-grace seconds. SIGHUP \
        reloads the site policy; SIGUSR1 reopens the access log (after logrotate moved it).
        """)

    @Option(name: .long, help: ArgumentHelp("Site configuration (YAML); flags given here override it.", valueName: "SITE.yaml"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Proxy listener; repeat for several (default 127.0.0.1:3128). IPv6 as [::1]:3128.", valueName: "ADDR:PORT"))
    var listen: [String] = []

    @Option(name: .long, help: ArgumentHelp("Admin listener for /healthz and /metrics (default 127.0.0.1:9090; 'off' disables it).", valueName: "ADDR:PORT"))
    var admin: String?

    @Option(name: .customLong("allow-destination"), help: ArgumentHelp("Allow connecting to a network the destination guard refuses (e.g. 10.0.0.0/8); repeatable.", valueName: "CIDR"))
    var allowDestination: [String] = []

    @Option(name: .long, help: ArgumentHelp("Transparent listener for connections redirected by iptables/nftables REDIRECT; repeatable.", valueName: "ADDR:PORT"))
    var transparent: [String] = []

    @Option(name: .long, help: ArgumentHelp("State folder (access log, ledger).", valueName: "DIR"))
    var state: String = "state"

    @Option(name: .long, help: ArgumentHelp("Require Proxy-Authorization: Basic on proxy listeners (transparent clients are identified by address); lines are user:password or user:{SHA256}hex.", valueName: "FILE"))
    var credentials: String?

    @Option(name: .customLong("client-name"), help: ArgumentHelp("Name clients by source network for logs and policy; repeatable.", valueName: "CIDR=NAME"))
    var clientName: [String] = []

    @Option(name: .customLong("access-log"), help: ArgumentHelp("Access log file, one JSON line per request or tunnel (default <state>/access.log; 'off' disables it).", valueName: "PATH"))
    var accessLog: String?

    @Option(name: .customLong("hold-limit"), help: ArgumentHelp("Request body bytes held for inspection before approval goes piece by piece (e.g. 8M; default: the site file's body_hold_limit, else 8M).", valueName: "BYTES"))
    var holdLimit: String?

    @Option(name: .customLong("header-timeout"), help: "Seconds allowed for a request head to arrive (slowloris guard; default 10).")
    var headerTimeout: Double?

    @Option(name: .customLong("idle-timeout"), help: "Seconds an idle keep-alive client connection is kept (default 60).")
    var idleTimeout: Double?

    @Option(name: .customLong("connect-timeout"), help: "Seconds allowed for an upstream TCP connect (then 504; default 10).")
    var connectTimeout: Double?

    @Option(name: .customLong("response-timeout"), help: "Seconds from request sent to response head (then 504).")
    var responseTimeout: Double = 60

    @Option(name: .customLong("shutdown-grace"), help: "Seconds in-flight flows get to finish after SIGTERM.")
    var shutdownGrace: Double = 10

    @Option(name: .customLong("max-connections"), help: "Client connections held at once; more are closed at accept (default 20000).")
    var maxConnections: Int?

    @Option(name: .customLong("max-header-bytes"), help: "Largest request head accepted (then 431).")
    var maxHeaderBytes: Int = 65_536

    @Option(name: .customLong("max-request-line"), help: "Longest request line accepted (then 414).")
    var maxRequestLine: Int = 8_192

    @Option(name: .long, help: "Event queues (default: one per CPU in this process's affinity mask).")
    var queues: Int = GatewayConfiguration.availableProcessors

    @Option(name: .long, help: "The Via header value the gateway adds.")
    var via: String = "1.1 customs"

    @OptionGroup(title: "TLS interception")
    var tls: InterceptionOptions

    @Option(name: .customLong("log-level"), help: "Lifecycle log level on stderr (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        // The log handler stamps each line with localtime(3), which with TZ unset stats
        // /etc/localtime on every call: one stat per decision line (per flow, in monitor mode).
        // Naming the same zone file makes glibc read it once.
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "customs.serve")
        // A logrotate run or a `systemctl reload` during start-up must not end the process (the
        // default action of SIGUSR1 and SIGHUP); once the gateway runs, they reopen the access log
        // and reload the policy.
        signal(SIGUSR1, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        var conf: GatewayConfiguration
        let registry = MetricsRegistry()
        do {
            conf = try gatewayConfiguration()
            conf.interception = try tls.settings(registry: registry)
        } catch {
            Self.fail("\(error)")
        }
        let enforcement: EnforcementService
        do {
            enforcement = try EnforcementService(
                sitePath: try sitePath(), stateDirectory: state, metrics: registry,
                interception: .init(enabled: conf.interception != nil, noIntercept: tls.noIntercept))
        } catch {
            Self.fail("\(error)")
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: conf, governor: enforcement.governor, metrics: registry, logger: logger)
            try gateway.start()
        } catch {
            Self.fail(error.description)
        }
        enforcement.start()
        // SIGUSR1 reopens the access log, as nginx does: logrotate's postrotate sends it.
        let reopen = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: DispatchQueue(label: "customs.reopen"))
        reopen.setEventHandler { gateway.reopenLogs() }
        reopen.resume()
        await Self.waitForTerminationSignal()
        reopen.cancel()
        logger.info("signal received; draining")
        await gateway.shutdown(grace: conf.shutdownGrace)
        enforcement.stop()
        logger.info("stopped")
    }

    /// The flags (over the site file, when given) as a gateway configuration.
    func gatewayConfiguration() throws -> GatewayConfiguration {
        var conf = try siteGatewayConfiguration(sitePath: try sitePath())
        if !listen.isEmpty { conf.listen = listen }
        if let admin { conf.admin = admin == "off" ? nil : admin }
        if !transparent.isEmpty { conf.transparent = transparent }
        for text in allowDestination {
            guard let net = IPNetwork(text) else { throw ServeError("--allow-destination '\(text)' is not a CIDR") }
            conf.allowDestinations.append(net)
        }
        for text in clientName {
            guard let eq = text.firstIndex(of: "="), let net = IPNetwork(text[..<eq]),
                  !text[text.index(after: eq)...].isEmpty else {
                throw ServeError("--client-name '\(text)' must be CIDR=NAME")
            }
            conf.clientNames.append((net, String(text[text.index(after: eq)...])))
        }
        if let credentials { conf.credentialsFile = credentials }
        switch accessLog {
        case "off": conf.accessLogPath = nil
        case let path?: conf.accessLogPath = path
        case nil: conf.accessLogPath = conf.accessLogPath ?? (state as NSString).appendingPathComponent("access.log")
        }
        if let holdLimit {
            guard let hold = Self.parseSize(holdLimit) else { throw ServeError("--hold-limit '\(holdLimit)' is not a size (e.g. 8M)") }
            conf.holdLimit = hold
        }
        if let headerTimeout { conf.headerTimeout = headerTimeout }
        if let idleTimeout { conf.idleTimeout = idleTimeout }
        if let connectTimeout { conf.connectTimeout = connectTimeout }
        conf.responseTimeout = responseTimeout
        conf.shutdownGrace = shutdownGrace
        if let maxConnections { conf.maxConnections = maxConnections }
        conf.maxHeaderBytes = maxHeaderBytes
        conf.maxRequestLine = maxRequestLine
        conf.queues = queues
        conf.via = via
        try conf.validate()
        return conf
    }

    /// Sizes as bytes with an optional K/M/G suffix (binary multiples).
    static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
            .replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        guard let last = t.last else { return nil }
        let shift: Int
        switch last {
        case "K": shift = 10
        case "M": shift = 20
        case "G": shift = 30
        default: return Int(t).flatMap { $0 > 0 ? $0 : nil }
        }
        guard let n = Int(t.dropLast()), n > 0, n < (1 << (62 - shift)) else { return nil }
        return n << shift
    }

    /// Waits for SIGTERM or SIGINT (delivered through dispatch signal sources, not a handler).
    static func waitForTerminationSignal() async {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let queue = DispatchQueue(label: "customs.signals")
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let once = SignalOnce(cont)
            for sig in [SIGTERM, SIGINT] {
                let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                src.setEventHandler { once.fire() }
                src.resume()
                once.keep(src)
            }
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("customs serve: \(message)\n".utf8))
        Foundation.exit(2)
    }
}

/// Resumes the waiting task on the first signal. @unchecked Sendable: only touched on the signal queue
/// (and once, before any signal can arrive, while the sources are created).
private final class SignalOnce: @unchecked Sendable {
    private var cont: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []
    init(_ c: CheckedContinuation<Void, Never>) { cont = c }
    func keep(_ s: DispatchSourceSignal) { sources.append(s) }
    func fire() {
        cont?.resume()
        cont = nil
    }
}

struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
