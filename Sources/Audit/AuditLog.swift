import Dispatch
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The append-only, hash-chained decision log. Appends are batched: every record queued while
/// the previous batch was being written goes out in one write, and each caller's completion runs
/// only once its record is durable (a block is never answered before that).
///
/// A record someone waits on (`urgent`: a block's, before its 451 goes out) is fsync'd with its
/// batch. Records nobody waits on (monitor and allow verdicts, whose flows went ahead anyway) are
/// written at once, so a crash of the process loses none of them, and fsync'd within
/// `Options.syncDelayMilliseconds` of the last fsync, with whatever else was written by then: in
/// monitor mode, where every flow past a line leaves a record, an fsync per batch of three or
/// four had cost a fifth of the gateway's CPU per flow. Only a power loss inside that window can
/// take such records, as it could take any record whose fsync had not returned.
public final class AuditLog: @unchecked Sendable {
    // All mutable state below is confined to `queue`.
    public struct Options: Sendable {
        public var maxFileBytes: Int
        public var rotateDaily: Bool
        /// How long a record nobody waits on may stay written but not fsync'd (0: never).
        public var syncDelayMilliseconds: Int
        public init(maxFileBytes: Int = 64 << 20, rotateDaily: Bool = true, syncDelayMilliseconds: Int = 10) {
            self.maxFileBytes = maxFileBytes; self.rotateDaily = rotateDaily
            self.syncDelayMilliseconds = syncDelayMilliseconds
        }
    }
    public typealias Completion = @Sendable (Result<Void, AuditError>) -> Void

    public let path: String
    private let options: Options
    private let logger: Logger
    private let queue = DispatchQueue(label: "customs.audit")
    private var fd: Int32 = -1
    private var size = 0
    private var lastHash = AuditChain.genesis
    private var fileDay: String?
    private var pending: [(record: AuditRecord, urgent: Bool, completion: Completion)] = []
    private var flushScheduled = false
    private var rotations = 0
    /// The file's size and the chain head as of the last fsync (what a power loss leaves).
    private var syncedSize = 0
    private var syncedHash = AuditChain.genesis
    private var lastSync = DispatchTime.now()
    /// Completions of records written since the last fsync, run by the next one.
    private var unsynced: [Completion] = []
    private var syncTimerArmed = false

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

    deinit {
        if fd >= 0 {
            if size != syncedSize { fsync(fd) }
            Glibc.close(fd)
        }
    }

    /// Queues `record`; `completion` runs once it is on disk (or failed to get there). `urgent`:
    /// the caller waits on the completion, so the record's batch is fsync'd at once.
    public func append(_ record: AuditRecord, urgent: Bool = true, completion: @escaping Completion) {
        queue.async {
            self.pending.append((record, urgent, completion))
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
    public var head: String { queue.sync { syncedHash } }

    /// Writes what is queued, makes every record durable (their completions run) and closes the file.
    public func close() {
        queue.sync {
            guard fd >= 0 else { return }
            flush()
            sync()
            Glibc.close(fd); fd = -1
        }
    }

    // MARK: - On the queue

    private func flush() {
        flushScheduled = false
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        guard !batch.isEmpty else { return }
        var results = [Result<Void, AuditError>](repeating: .success(()), count: batch.count)
        var start = 0
        while start < batch.count {
            if let err = rotateIfNeeded(for: batch[start].record.time) {
                for i in start..<batch.count { results[i] = .failure(err) }
                break
            }
            // Write as many records as fit before the next rotation point, in one write.
            var bytes = [UInt8]()
            var hash = lastHash
            var end = start
            while end < batch.count {
                if end > start && needsRotation(adding: bytes.count, at: batch[end].record.time) { break }
                let lineStart = bytes.count
                AuditJSON.encode(batch[end].record, prev: hash, into: &bytes)
                hash = AuditChain.seal(&bytes, bodyFrom: lineStart)
                bytes.append(UInt8(ascii: "\n"))
                end += 1
            }
            if let err = writeAll(bytes) {
                for i in start..<end { results[i] = .failure(err) }
            } else {
                lastHash = hash
                if fileDay == nil { fileDay = AuditTime.compactDay(batch[start].record.time) }
            }
            start = end
        }
        for (i, item) in batch.enumerated() {
            if case .success = results[i] { unsynced.append(item.completion) } else { item.completion(results[i]) }
        }
        let delay = options.syncDelayMilliseconds
        let due = lastSync + .milliseconds(delay)
        if delay <= 0 || batch.contains(where: \.urgent) || DispatchTime.now() >= due {
            sync()
        } else if !syncTimerArmed {
            syncTimerArmed = true
            queue.asyncAfter(deadline: due) { [self] in
                syncTimerArmed = false
                sync()
            }
        }
    }

    /// fsyncs what was written since the last fsync and runs those records' completions. If the
    /// fsync fails, the file is cut back to the last durable record: the records after it may not
    /// be on disk, so they are reported as failed and the chain goes on from the durable head.
    private func sync() {
        let waiting = unsynced
        unsynced.removeAll(keepingCapacity: true)
        var result: Result<Void, AuditError> = .success(())
        if size != syncedSize && fd >= 0 {
            if fsync(fd) == 0 {
                syncedSize = size
                syncedHash = lastHash
            } else {
                let failed = String(cString: strerror(errno))
                _ = ftruncate(fd, off_t(syncedSize))
                _ = lseek(fd, off_t(syncedSize), SEEK_SET)
                size = syncedSize
                lastHash = syncedHash
                logger.error("audit fsync failed", metadata: ["path": "\(path)", "error": "\(failed)"])
                result = .failure(AuditError(path: path, message: "fsync failed: \(failed)"))
            }
        }
        lastSync = DispatchTime.now()
        for completion in waiting { completion(result) }
    }

    private func needsRotation(adding pendingBytes: Int, at time: Date) -> Bool {
        guard size + pendingBytes > 0 else { return false }
        if size + pendingBytes >= options.maxFileBytes { return true }
        if options.rotateDaily, let day = fileDay, day != AuditTime.compactDay(time) { return true }
        return false
    }

    private func rotateIfNeeded(for time: Date) -> AuditError? {
        guard needsRotation(adding: 0, at: time) else { return nil }
        // The records still waiting for an fsync are in this file: make them durable before it closes.
        sync()
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

    /// Writes `bytes` at the end of the file (not yet fsync'd); on failure leaves no part of them.
    private func writeAll(_ bytes: [UInt8]) -> AuditError? {
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
            return nil
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
        syncedSize = size
        syncedHash = lastHash
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
