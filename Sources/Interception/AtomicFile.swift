import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so a crash at any point leaves either the old file or the new one, never a mix:
/// write a temporary file in the same directory, fsync it, rename it over the target, fsync the
/// directory.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(TLSError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(path).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        var failure: TLSError?
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io(path: temporary, reason: String(cString: strerror(errno)))
                    return
                }
                offset += n
            }
        }
        // The umask may have narrowed the mode given to open(2).
        if failure == nil, fchmod(fd, mode) != 0 || fsync(fd) != 0 {
            failure = .io(path: temporary, reason: String(cString: strerror(errno)))
        }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = .io(path: path, reason: String(cString: strerror(errno)))
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    static func read(_ path: String) throws(TLSError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw .io(path: path, reason: reason)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
