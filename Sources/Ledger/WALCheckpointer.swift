import CSQLite
import Dispatch
import Foundation

/// Copies the WAL into the ledger file on a connection and a queue of its own, so commits do not
/// wait for it. A checkpoint of a full 64 MiB WAL (the pages, then an fsync of the file) took the
/// writer tens of milliseconds, and every flow waiting to be counted waited with it: on issue 6's
/// load, p99 was 49 – 76 ms with checkpoints on the writer against 17 – 21 ms without any.
///
/// Checkpoints here are PASSIVE: they copy what they can without taking a lock the writer needs,
/// and a commit may land while one runs. SQLite starts the WAL over at the front only when a
/// write transaction begins with every frame copied, which a steady stream of commits can keep
/// from happening; so the writer still checkpoints itself once the WAL passes a hard limit (by
/// then little is left to copy). A failed checkpoint loses nothing: the frames stay in the WAL.
/// @unchecked Sendable: `db` is used only on `queue`; `pending`, `failure` and `completed` only
/// under `lock`.
final class WALCheckpointer: @unchecked Sendable {
    let path: String
    private let queue = DispatchQueue(label: "customs.ledger.checkpoint")
    private var db: OpaquePointer?
    private let lock = NSLock()
    private var pending = false
    private var failure: LedgerError?
    private var completed = 0

    init(path: String) throws(LedgerError) {
        self.path = path
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            sqlite3_close_v2(handle)
            throw LedgerError(kind: .open, path: path, operation: "open the checkpoint connection", message: message)
        }
        db = handle
        // The copy is fsync'd before the WAL can start over, as on the writer's connection.
        sqlite3_exec(db, "PRAGMA synchronous = FULL", nil, nil, nil)
        // This connection must not delete the WAL (and its reserve) if it happens to close last.
        var persist: Int32 = 1
        sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
    }

    deinit {
        // No block holds this object any more, so nothing else touches `db`. (Not `close()`: the
        // last reference can go at the end of a block on `queue`, and `sync` there would deadlock.)
        if let db { sqlite3_close_v2(db) }
    }

    /// Asks for a checkpoint soon; at most one runs or waits at a time.
    func request() {
        let start = lock.withLock {
            if pending { return false }
            pending = true
            return true
        }
        guard start else { return }
        queue.async { [self] in
            var error: LedgerError?
            if let db {
                var log: Int32 = 0, copied: Int32 = 0
                let rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
                if rc != SQLITE_OK && rc != SQLITE_BUSY {
                    error = LedgerError(kind: .write, path: path, operation: "checkpoint the WAL",
                                        message: String(cString: sqlite3_errmsg(db)))
                }
            }
            lock.withLock {
                pending = false
                if let error { failure = error } else { completed += 1 }
            }
        }
    }

    /// Checkpoints finished so far.
    var checkpoints: Int { lock.withLock { completed } }

    /// Why the last checkpoint failed, once (nil if none did since the last call).
    func takeFailure() -> LedgerError? {
        lock.withLock {
            defer { failure = nil }
            return failure
        }
    }

    /// Waits for a running checkpoint, then closes the connection.
    func close() {
        queue.sync {
            if let db { sqlite3_close_v2(db) }
            db = nil
        }
    }
}
