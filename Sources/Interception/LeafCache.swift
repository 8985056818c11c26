import COpenSSL
import Dispatch
import Foundation
import Logging
import Synchronization

/// Minted leaves by name set: a bounded in-memory LRU, optionally backed by a directory so a
/// restart does not re-mint everything. Minting runs on a concurrent queue, never on the caller's,
/// and concurrent requests for the same names share one mint.
public final class LeafCache: Sendable {
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        /// Requests that joined a mint already in flight for the same names.
        public var coalesced = 0
        public var mints = 0
        public var diskLoads = 0
        /// Persisted entries that were unreadable, expired or not ours, and were re-minted.
        public var diskDiscards = 0
        public var entries = 0
    }

    public typealias Completion = @Sendable (Result<LeafCertificate, TLSError>) -> Void

    private struct State {
        var lru: LRUCache<String, LeafCertificate>
        var pending: [String: [Completion]] = [:]
        var statistics = Statistics()
    }

    public let minter: LeafMinter
    public let capacity: Int
    /// Where minted leaves are persisted (`<sha256 of names>.pem`), if anywhere.
    public let directory: String?
    private let state: Mutex<State>
    private let mintQueue: DispatchQueue
    private let logger = Logger(label: "customs.interception")

    public static let leafKeyFileName = "leaf.key"

    public init(minter: LeafMinter, capacity: Int = 1024, directory: String? = nil) throws(TLSError) {
        guard capacity > 0 else { throw .openSSL(operation: "leaf cache", details: "capacity must be at least 1") }
        self.minter = minter
        self.capacity = capacity
        self.directory = directory
        self.state = Mutex(State(lru: LRUCache(capacity: capacity)))
        self.mintQueue = DispatchQueue(label: "customs.interception.mint", attributes: .concurrent)
        if let directory {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw .io(path: directory, reason: "cannot create directory: \(error.localizedDescription)")
            }
        }
    }

    /// The shared leaf key kept in a persistence directory (created with mode 0600 on first use),
    /// so persisted leaves stay usable across restarts.
    public static func persistentLeafKey(directory: String) throws(TLSError) -> PrivateKey {
        let path = (directory as NSString).appendingPathComponent(leafKeyFileName)
        if FileManager.default.fileExists(atPath: path) {
            return try PrivateKey.parse(pem: try AtomicFile.read(path), path: path)
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io(path: directory, reason: "cannot create directory: \(error.localizedDescription)")
        }
        let key = try PrivateKey.generate(.ecdsaP256)
        try AtomicFile.write(Array(key.pem.utf8), to: path, mode: 0o600)
        return key
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.entries = state.lru.count
            return statistics
        }
    }

    /// The cached leaf, if present (counted as a hit; an absent entry is not counted, since the
    /// caller goes on to `leaf(for:completion:)`).
    public func cached(_ names: LeafNames) -> LeafCertificate? {
        state.withLock { state in
            guard let leaf = state.lru.get(names.key) else { return nil }
            state.statistics.hits += 1
            return leaf
        }
    }

    /// Delivers the leaf for `names`, minting (or loading from disk) off the caller's queue.
    /// `completion` runs on the cache's minting queue; hop back to your own queue inside it.
    public func leaf(for names: LeafNames, completion: @escaping Completion) {
        let key = names.key
        enum Step { case hit(LeafCertificate), joined, mint }
        let step: Step = state.withLock { state in
            if let leaf = state.lru.get(key) {
                state.statistics.hits += 1
                return .hit(leaf)
            }
            if state.pending[key] != nil {
                state.pending[key]!.append(completion)
                state.statistics.coalesced += 1
                return .joined
            }
            state.pending[key] = [completion]
            state.statistics.misses += 1
            return .mint
        }
        switch step {
        case let .hit(leaf): mintQueue.async { completion(.success(leaf)) }
        case .joined: break
        case .mint: mintQueue.async { self.produce(names) }
        }
    }

    private func produce(_ names: LeafNames) {
        let key = names.key
        let result: Result<LeafCertificate, TLSError>
        var fromDisk = false, discarded = false
        if let persisted = loadPersisted(names, discarded: &discarded) {
            result = .success(persisted)
            fromDisk = true
        } else {
            do throws(TLSError) {
                let leaf = try minter.mint(names)
                persist(leaf)
                result = .success(leaf)
            } catch {
                logger.error("leaf minting failed", metadata: ["names": "\(names)", "error": "\(error)"])
                result = .failure(error)
            }
        }
        let waiters: [Completion] = state.withLock { state in
            if case let .success(leaf) = result {
                if fromDisk { state.statistics.diskLoads += 1 } else { state.statistics.mints += 1 }
                if state.lru.set(key, leaf) != nil { state.statistics.evictions += 1 }
            }
            if discarded { state.statistics.diskDiscards += 1 }
            return state.pending.removeValue(forKey: key) ?? []
        }
        for waiter in waiters { waiter(result) }
    }

    private func entryPath(_ names: LeafNames) -> String? {
        guard let directory else { return nil }
        var digest = [UInt8](repeating: 0, count: 32)
        let key = Array(names.key.utf8)
        guard EVP_Digest(key, key.count, &digest, nil, EVP_sha256(), nil) == 1 else { return nil }
        let hex = digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return (directory as NSString).appendingPathComponent("\(hex).pem")
    }

    private func loadPersisted(_ names: LeafNames, discarded: inout Bool) -> LeafCertificate? {
        guard let path = entryPath(names), FileManager.default.fileExists(atPath: path) else { return nil }
        if let text = try? AtomicFile.read(path),
           let certificate = try? Certificate.parseAll(pem: text, path: path).first,
           minter.isUsable(certificate),
           Set(certificate.subjectAlternativeNames.compactMap(LeafNames.normalise)) == Set(names.all) {
            return LeafCertificate(certificate: certificate, names: names)
        }
        logger.warning("ignoring unusable persisted leaf; minting a new one", metadata: ["path": "\(path)"])
        unlink(path)
        discarded = true
        return nil
    }

    private func persist(_ leaf: LeafCertificate) {
        guard let path = entryPath(leaf.names) else { return }
        do throws(TLSError) {
            try AtomicFile.write(Array(leaf.certificate.pem.utf8), to: path, mode: 0o644)
        } catch {
            logger.warning("cannot persist minted leaf", metadata: ["error": "\(error)"])
        }
    }
}
