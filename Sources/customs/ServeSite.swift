import Enforcement
import Foundation
import Gateway
import Policy

extension ServeCommand {
    /// The site file in force: --config, else the shipped default site.
    func sitePath() throws -> String {
        if let config { return config }
        guard let shipped = PolicySnapshot.shippedDefaultSitePath() else {
            throw ServeError("no --config given and the shipped Policies/default-site.yaml was not found")
        }
        return shipped
    }

    /// The site file's `gateway:` section as gateway settings; command-line flags override them.
    /// The whole policy is validated here, so a broken site file stops the start with its problems.
    func siteGatewayConfiguration(sitePath: String) throws -> GatewayConfiguration {
        let policy: PolicySnapshot
        do { policy = try PolicySnapshot.load(sitePath: sitePath) } catch {
            throw ServeError("the site policy has problems:\n\(error.description)")
        }
        let siteDir = URL(fileURLWithPath: sitePath).deletingLastPathComponent().path
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (siteDir as NSString).appendingPathComponent(p) }
        let g = policy.gateway
        var conf = GatewayConfiguration()
        if !g.listen.isEmpty { conf.listen = g.listen }
        if let admin = g.admin { conf.admin = admin == "off" ? nil : admin }
        conf.transparent = g.transparent
        conf.allowDestinations = g.allowDestinations
        conf.clientNames = g.clients.map { ($0.network, $0.name) }
        conf.credentialsFile = g.credentialsFile.map(resolve)
        conf.accessLogPath = g.accessLog.map(resolve)
        if let v = g.timeouts["connect"] { conf.connectTimeout = v }
        if let v = g.timeouts["idle"] { conf.idleTimeout = v }
        if let v = g.timeouts["header"] { conf.headerTimeout = v }
        if let v = g.timeouts["response"] ?? g.timeouts["body"] { conf.responseTimeout = v }
        if let v = g.maxConnections { conf.maxConnections = v }
        conf.holdLimit = policy.bodyHoldLimit
        return conf
    }
}
