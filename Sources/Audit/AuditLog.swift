import Dispatch
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The append-only, hash-chained decision log. Appends are batched: every record queued while
/// the previous batch was being written goes out in one write and one fsync, and each caller's
/// completion runs only once its record is durable (a block is never answered before that).
public final class AuditLog: @unchecked Sendable {
    // All mutable state below is confined to `queue`.
    public struct Options: Sendable {
        public var maxFileBytes: Int
        public var rotateDaily: Bool
        public init(maxFileBytes: Int = 64 << 20, rotateDaily: Bool = true) {
            self.maxFileBytes = maxFileBytes; self.rotateDaily = rotateDaily
        }
    }

    public let path: String
    private let options: Options
    private let logger: Logger
    private let queue = DispatchQueue(label: "customs.audit")
    private var fd: Int32 = -1
    private var size = 0
    private var lastHash = AuditChain.genesis
    private var fileDay: String?
    private var pending: [(AuditRecord, @Sendable (Result<Void, AuditError>) -> Void)] = []
    private var flushScheduled = false
    private var rotations = 0

    public init(path: String, options: Options = Options(), logger: Logger = Logger(label: "customs.audit")) throws(AuditError) {
        self.path = path
        self.options = options
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
        } catch {
            throw AuditError(path: path, message: "cannot create the log directory: \(error.localizedDescription)")
        }
        let opened: Result<Void, AuditError> = queue.sync {
            do throws(AuditError) { try openCurrent(); return .success(()) } catch { return .failure(error) }
        }
        try opened.get()
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Queues `record`; `completion` runs once it is on disk (or failed to get there).
    public func append(_ record: AuditRecord, completion: @escaping @Sendable (Result<Void, AuditError>) -> Void) {
        queue.async {
            self.pending.append((record, completion))
            if !self.flushScheduled {
                self.flushScheduled = true
                self.queue.async { self.flush() }
            }
        }
    }

    /// Appends and waits; for tools and tests, never for the data path.
    public func appendAndWait(_ record: AuditRecord) throws(AuditError) {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        append(record) { r in box.set(r); done.signal() }
        done.wait()
        if case .failure(let e) = box.get() { throw e }
    }

    /// The hash of the newest durable record (the chain head).
    public var head: String { queue.sync { lastHash } }

    public func close() { queue.sync { if fd >= 0 { Glibc.close(fd); fd = -1 } } }

    // MARK: - On the queue

    private func flush() {
        flushScheduled = false
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        guard !batch.isEmpty else { return }
        var results = [Result<Void, AuditError>](repeating: .success(()), count: batch.count)
        var start = 0
        while start < batch.count {
            if let err = rotateIfNeeded(for: batch[start].0.time) {
                for i in start..<batch.count { results[i] = .failure(err) }
                break
            }
            // Write as many records as fit before the next rotation point, in one write + fsync.
            var bytes = [UInt8]()
            var hash = lastHash
            var end = start
            while end < batch.count {
                if end > start && needsRotation(adding: bytes.count, at: batch[end].0.time) { break }
                let lineStart = bytes.count
                AuditJSON.encode(batch[end].0, prev: hash, into: &bytes)
                hash = AuditChain.seal(&bytes, bodyFrom: lineStart)
                bytes.append(UInt8(ascii: "\n"))
                end += 1
            }
            if let err = writeDurably(bytes) {
                for i in start..<end { results[i] = .failure(err) }
            } else {
                lastHash = hash
                if fileDay == nil { fileDay = AuditTime.compactDay(batch[start].0.time) }
            }
            start = end
        }
        for (i, item) in batch.enumerated() { item.1(results[i]) }
    }

    private func needsRotation(adding pendingBytes: Int, at time: Date) -> Bool {
        guard size + pendingBytes > 0 else { return false }
        if size + pendingBytes >= options.maxFileBytes { return true }
        if options.rotateDaily, let day = fileDay, day != AuditTime.compactDay(time) { return true }
        return false
    }

    private func rotateIfNeeded(for time: Date) -> AuditError? {
        guard needsRotation(adding: 0, at: time) else { return nil }
        Glibc.close(fd); fd = -1
        rotations += 1
        var target = AuditLogFiles.rotatedName(for: path, at: Date(), sequence: rotations)
        var n = rotations
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = AuditLogFiles.rotatedName(for: path, at: Date(), sequence: n)
        }
        if rename(path, target) != 0 {
            let err = AuditError(path: path, message: "cannot rotate to \(target): \(String(cString: strerror(errno)))")
            try? openCurrent()
            return err
        }
        do { try openCurrent() } catch { return error }
        syncDirectory()
        logger.info("audit log rotated", metadata: ["to": "\(target)"])
        return nil
    }

    private func writeDurably(_ bytes: [UInt8]) -> AuditError? {
        let failed = bytes.withUnsafeBytes { raw -> String? in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                off += n
            }
            return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        if let failed {
            // Leave no half-written line behind: the chain must stay verifiable.
            _ = ftruncate(fd, off_t(size))
            _ = lseek(fd, off_t(size), SEEK_SET)
            logger.error("audit write failed", metadata: ["path": "\(path)", "error": "\(failed)"])
            return AuditError(path: path, message: "write failed: \(failed)")
        }
        size += bytes.count
        return nil
    }

    /// Opens the current file for appending and recovers the chain head from its last line
    /// (or from the newest rotated file when the current one is empty).
    private func openCurrent() throws(AuditError) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditError(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
        fileDay = nil
        let files = AuditLogFiles.chain(for: path)
        for file in files.reversed() {
            guard let (line, trimmedSize) = AuditLogReader.lastCompleteLine(of: file) else { continue }
            if file == path && trimmedSize != size {
                // A crash mid-write left a partial line; it was never acknowledged, so drop it.
                logger.warning("dropping an incomplete last audit line", metadata: ["path": "\(path)"])
                _ = ftruncate(fd, off_t(trimmedSize))
                size = trimmedSize
            }
            if let sealed = AuditChain.unseal(Array(line.utf8)) {
                lastHash = sealed.hash
                if file == path, let rec = AuditJSON.decode(Substring(line)) { fileDay = AuditTime.compactDay(rec.time) }
                break
            }
        }
    }

    private func syncDirectory() {
        let dir = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); Glibc.close(dir) }
    }
}

private final class ResultBox: @unchecked Sendable {
    // Written once by the completion before the semaphore is signalled, read after the wait.
    private var value: Result<Void, AuditError> = .success(())
    func set(_ v: Result<Void, AuditError>) { value = v }
    func get() -> Result<Void, AuditError> { value }
}
