import Dispatch
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Reloads the site policy on SIGHUP and when the site file (or a regime it uses) changes.
/// A new configuration is validated in full before it replaces the running one; an invalid file
/// is reported and the running policy stays.
public final class PolicyReloader: @unchecked Sendable {
    // All mutable state is confined to `queue`.
    private let queue = DispatchQueue(label: "customs.policy-reload")
    private let governor: EnforcementGovernor
    private let logger: Logger
    private var sources: [DispatchSourceProtocol] = []
    private var fingerprints: [String: String] = [:]
    private var pending: DispatchWorkItem?

    public init(governor: EnforcementGovernor, logger: Logger = Logger(label: "customs.policy")) {
        self.governor = governor
        self.logger = logger
    }

    public func start() {
        queue.sync {
            signal(SIGHUP, SIG_IGN)
            let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
            hup.setEventHandler { [weak self] in self?.reload(trigger: "SIGHUP") }
            hup.resume()
            sources.append(hup)
            watch(files: governor.runtime.policy.sourceFiles)
        }
    }

    public func stop() { queue.sync { for s in sources { s.cancel() }; sources.removeAll() } }

    /// Reloads now (on the caller's behalf); returns whether the new policy was installed.
    @discardableResult
    public func reloadNow() -> Bool { queue.sync { reload(trigger: "request") } }

    @discardableResult
    private func reload(trigger: String) -> Bool {
        let current = governor.runtime
        do {
            let next = try RuntimeLoader.load(sitePath: current.sitePath, previous: current)
            governor.install(next)
            governor.metrics.reload(ok: true)
            logger.notice("policy reloaded", metadata: ["trigger": "\(trigger)", "site": "\(next.sitePath)"])
            rewatch(files: next.policy.sourceFiles)
            return true
        } catch {
            governor.metrics.reload(ok: false)
            logger.error("policy reload refused; the running policy stays", metadata: [
                "trigger": "\(trigger)", "problems": "\(error)"])
            return false
        }
    }

    private func rewatch(files: [String]) {
        for s in sources.dropFirst() { s.cancel() }
        sources = Array(sources.prefix(1))
        watch(files: files)
    }

    /// Polls the policy files once a second (Linux libdispatch has no vnode sources; a stat of a
    /// handful of files is nothing) and reloads when one really changed, after a short pause so a
    /// save written in several steps is read once, whole. Renames by editors change the inode.
    private func watch(files: [String]) {
        fingerprints = Dictionary(uniqueKeysWithValues: files.map { ($0, Self.fingerprint($0)) })
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.filesMayHaveChanged() }
        timer.resume()
        sources.append(timer)
    }

    private func filesMayHaveChanged() {
        let changed = fingerprints.contains { Self.fingerprint($0.key) != $0.value }
        guard changed, pending == nil else { return }
        let item = DispatchWorkItem { [weak self] in
            guard let self else { return }
            self.pending = nil
            // Remember what was read, so a refused file is reported once, not every second.
            for path in self.fingerprints.keys { self.fingerprints[path] = Self.fingerprint(path) }
            self.reload(trigger: "file change")
        }
        pending = item
        queue.asyncAfter(deadline: .now() + 0.3, execute: item)
    }

    static func fingerprint(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "missing" }
        return "\(st.st_size):\(st.st_mtim.tv_sec):\(st.st_mtim.tv_nsec):\(st.st_ino)"
    }
}
