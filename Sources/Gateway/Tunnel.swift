import CShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A byte tunnel between two sockets. Each direction moves bytes with splice(2) through its own
/// pipe (socket → pipe → socket, never through user space) and falls back to read/write when the
/// kernel refuses splice for these descriptors. A direction that reaches end of stream half-closes
/// its destination; the tunnel ends when both have, or at the first error.
/// Confined to the owning loop's queue.
final class Tunnel {
    private final class Direction {
        let src: SocketTransport
        let dst: SocketTransport
        var pipe: (r: Int32, w: Int32)?
        var inPipe = 0
        var spliceWorks = true
        var ended = false
        var bytes: UInt64 = 0
        init(src: SocketTransport, dst: SocketTransport) { self.src = src; self.dst = dst }
    }

    private let up: Direction     // client → upstream
    private let down: Direction   // upstream → client
    private let scratch: UnsafeMutableRawBufferPointer
    private let onActivity: () -> Void
    private var onFinish: ((_ up: UInt64, _ down: UInt64, _ spliced: Bool, _ failed: Bool) -> Void)?
    private var failed = false
    static let chunk = 262_144

    var bytesUp: UInt64 { up.bytes }
    var bytesDown: UInt64 { down.bytes }

    init(client: SocketTransport, upstream: SocketTransport, scratch: UnsafeMutableRawBufferPointer,
         onActivity: @escaping () -> Void,
         onFinish: @escaping (_ up: UInt64, _ down: UInt64, _ spliced: Bool, _ failed: Bool) -> Void) {
        up = Direction(src: client, dst: upstream)
        down = Direction(src: upstream, dst: client)
        self.scratch = scratch
        self.onActivity = onActivity
        self.onFinish = onFinish
    }

    /// Starts both directions. The transports' callbacks belong to the tunnel from here on.
    func start() {
        for d in [up, down] {
            var fds: [Int32] = [-1, -1]
            if customs_pipe(&fds, Int32(Self.chunk)) == 0 { d.pipe = (fds[0], fds[1]) } else { d.spliceWorks = false }
        }
        up.src.onReadable = { [unowned self] in self.pump(self.up) }
        down.src.onReadable = { [unowned self] in self.pump(self.down) }
        // Each transport is the destination of one direction: its drain resumes that direction.
        up.dst.onDrained = { [unowned self] in self.pump(self.up) }
        down.dst.onDrained = { [unowned self] in self.pump(self.down) }
        up.src.resumeReading()
        down.src.resumeReading()
    }

    private func pump(_ d: Direction) {
        guard onFinish != nil, !d.ended else { return }
        onActivity()
        if d.spliceWorks, let pipe = d.pipe { splicePump(d, pipe) } else { copyPump(d) }
    }

    private func splicePump(_ d: Direction, _ pipe: (r: Int32, w: Int32)) {
        while true {
            while d.inPipe > 0 {
                let n = d.dst.splice(fromPipe: pipe.r, count: d.inPipe)
                if n > 0 { d.inPipe -= n; d.bytes += UInt64(n); continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN {
                    d.src.pauseReading()
                    d.dst.requestWritable()
                    return
                }
                fail()
                return
            }
            let n = d.src.splice(toPipe: pipe.w, count: Self.chunk)
            if n > 0 { d.inPipe = n; continue }
            if n == 0 { endDirection(d); return }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN { d.src.resumeReading(); return }
            if (e == EINVAL || e == ENOSYS) && d.bytes == 0 {
                d.spliceWorks = false
                copyPump(d)
                return
            }
            fail()
            return
        }
    }

    private func copyPump(_ d: Direction) {
        if d.dst.hasPendingOutput { d.src.pauseReading(); return }
        switch d.src.read(into: scratch) {
        case .wouldBlock:
            d.src.resumeReading()
        case .eof:
            endDirection(d)
        case .failed:
            fail()
        case .bytes(let n):
            if !d.dst.send(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) { fail(); return }
            d.bytes += UInt64(n)
            if d.dst.hasPendingOutput { d.src.pauseReading() } else { d.src.resumeReading() }
        }
    }

    private func endDirection(_ d: Direction) {
        d.ended = true
        d.src.pauseReading()
        d.dst.shutdownOutput()
        if up.ended && down.ended { finish() }
    }

    /// Ends the tunnel from outside (shutdown past its grace period); reported as failed.
    func terminate() { fail() }

    private func fail() {
        failed = true
        finish()
    }

    private func finish() {
        guard let done = onFinish else { return }
        onFinish = nil
        let spliced = up.spliceWorks && down.spliceWorks
        close()
        done(up.bytes, down.bytes, spliced, failed)
    }

    private func close() {
        onFinish = nil
        for d in [up, down] {
            if let p = d.pipe { Glibc.close(p.r); Glibc.close(p.w); d.pipe = nil }
        }
        up.src.close(abort: failed)
        down.src.close(abort: failed)
    }
}
