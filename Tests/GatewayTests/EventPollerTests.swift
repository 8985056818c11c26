import CustomsCore
import Dispatch
import Foundation
@testable import Gateway
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The per-loop epoll poller and SocketTransport under edge triggering, on real sockets.
@Suite struct EventPollerTests {
    /// Collects what callbacks saw; touched only on the test's queue.
    final class Record: @unchecked Sendable {
        var bytes: [UInt8] = []
        var readableCalls = 0
        var drained = 0
        var sawEOF = false
    }

    static func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        for fd in fds { Socket.setNonBlocking(fd) }
        return (fds[0], fds[1])
    }

    /// A connected TCP pair on 127.0.0.1 (both non-blocking).
    static func loopbackPair() throws -> (Int32, Int32) {
        let listener = try Socket.listen(ListenAddress(ip: IPAddress("127.0.0.1")!, port: 0), backlog: 4)
        defer { close(listener) }
        let port = try #require(Socket.localAddress(listener).endpoint?.1)
        guard case .success(let client) = Socket.startConnect(IPAddress("127.0.0.1")!, port: port) else {
            Issue.record("connect to 127.0.0.1:\(port) failed")
            throw GatewayError(.bindFailed, "connect failed")
        }
        for _ in 0..<500 {
            let s = accept(listener, nil, nil)
            if s >= 0 { Socket.setNonBlocking(s); return (client, s) }
            usleep(2_000)
        }
        close(client)
        throw GatewayError(.bindFailed, "no connection accepted on 127.0.0.1:\(port)")
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = Glibc.write(fd, p.baseAddress! + off, p.count - off)
                if n > 0 { off += n } else { usleep(1_000) }
            }
        }
    }

    /// Reads `inn` one buffer per callback, pausing a moment every `pauseEvery` reads like a slow
    /// client, and hands each read's length to `got`; at end of stream closes both and signals `done`.
    static func readSlowly(_ inn: SocketTransport, closing out: SocketTransport, on queue: DispatchQueue,
                           into buffer: UnsafeMutableRawBufferPointer, pauseEvery: Int, done: DispatchSemaphore,
                           _ got: @escaping (Int) -> Void) {
        var reads = 0
        func finish(abort: Bool) {
            inn.close(abort: abort)
            out.close(abort: abort)
            done.signal()
        }
        inn.onReadable = {
            switch inn.read(into: buffer) {
            case .bytes(let n):
                got(n)
                reads += 1
                if reads % pauseEvery == 0 {
                    inn.pauseReading()
                    queue.asyncAfter(deadline: .now() + .milliseconds(1)) { inn.resumeReading() }
                }
            case .eof: finish(abort: false)
            case .failed: finish(abort: true)
            case .wouldBlock: break
            }
        }
        inn.resumeReading()
    }

    @Test func dataThatArrivedWhilePausedIsDeliveredOnResume() throws {
        let (a, b) = try Self.socketPair()
        defer { close(b) }
        let queue = DispatchQueue(label: "poller-test.pause")
        let poller = EventPoller(queue: queue)
        let record = Record()
        let delivered = DispatchSemaphore(value: 0)
        let t = queue.sync { SocketTransport(fd: a, poller: poller) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        queue.sync {
            t.onReadable = {
                record.readableCalls += 1
                if case .bytes(let n) = t.read(into: buffer) {
                    record.bytes += buffer[0..<n]
                    if record.bytes.count == 5 { delivered.signal() }
                }
            }
            // Reading stays paused while the input edge comes and goes.
        }
        Self.write(b, Array("hello".utf8))
        // Give the poller time to collect (and, paused, set aside) the one edge this write makes.
        usleep(100_000)
        queue.sync { #expect(record.readableCalls == 0) }
        queue.sync { t.resumeReading() }
        #expect(delivered.wait(timeout: .now() + 5) == .success)
        queue.sync {
            #expect(record.bytes == Array("hello".utf8))
            t.close(abort: false)
            #expect(poller.registeredCount == 0)
        }
    }

    @Test func aReaderThatStopsBeforeEAGAINIsServicedAgain() throws {
        let (a, b) = try Self.socketPair()
        defer { close(b) }
        let queue = DispatchQueue(label: "poller-test.partial")
        let poller = EventPoller(queue: queue)
        let record = Record()
        let done = DispatchSemaphore(value: 0)
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let t = queue.sync { SocketTransport(fd: a, poller: poller) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 1)
        defer { buffer.deallocate() }
        queue.sync {
            // One small read per callback: the rest is only delivered if the poller comes back.
            t.onReadable = {
                switch t.read(into: buffer) {
                case .bytes(let n):
                    record.bytes += buffer[0..<n]
                case .eof:
                    record.sawEOF = true
                    t.close(abort: false)
                    done.signal()
                case .wouldBlock, .failed: break
                }
            }
            t.resumeReading()
        }
        Self.write(b, payload)
        shutdown(b, Int32(SHUT_WR))
        #expect(done.wait(timeout: .now() + 10) == .success)
        queue.sync {
            #expect(record.sawEOF)
            #expect(record.bytes == payload)
        }
    }

    @Test func closingASocketDropsItsPendingEventsEvenWhenItsSlotIsReused() throws {
        let (a, aPeer) = try Self.socketPair()
        let (b, bPeer) = try Self.socketPair()
        let (c, cPeer) = try Self.socketPair()
        defer { close(aPeer); close(bPeer); close(cPeer) }
        let queue = DispatchQueue(label: "poller-test.reuse")
        let poller = EventPoller(queue: queue)
        let record = Record()
        let handled = DispatchSemaphore(value: 0)
        var transports: [SocketTransport] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }
        var reusedSlot = false
        queue.sync {
            let ta = SocketTransport(fd: a, poller: poller)
            let tb = SocketTransport(fd: b, poller: poller)
            transports = [ta, tb]
            tb.onReadable = { Issue.record("a closed transport was told it is readable") }
            tb.resumeReading()
            ta.onReadable = {
                _ = ta.read(into: buffer)
                guard !tb.isClosed else { return }
                let bSlot = tb.token.map { $0 & 0xFFFF_FFFF }
                // b's input event is in the same batch, after this one.
                tb.close(abort: false)
                let tc = SocketTransport(fd: c, poller: poller)
                reusedSlot = tc.token.map { $0 & 0xFFFF_FFFF } == bSlot && tc.token != nil
                tc.onReadable = { record.readableCalls += 1 }
                tc.resumeReading()
                transports.append(tc)
                handled.signal()
            }
            ta.resumeReading()
            // Both edges happen while the queue is busy here, so one epoll_wait returns them together.
            Self.write(aPeer, [1])
            Self.write(bPeer, [2])
        }
        #expect(handled.wait(timeout: .now() + 5) == .success)
        // Anything still to come would arrive within a few passes of the idle queue.
        usleep(200_000)
        queue.sync {
            #expect(reusedSlot)
            #expect(record.readableCalls == 0)
            for t in transports { t.close(abort: false) }
            #expect(poller.registeredCount == 0)
        }
    }

    @Test func backpressureWithASlowReaderOnLoopback() throws {
        let (sender, receiver) = try Self.loopbackPair()
        let queue = DispatchQueue(label: "poller-test.backpressure")
        let poller = EventPoller(queue: queue)
        let record = Record()
        let done = DispatchSemaphore(value: 0)
        let total = 8 << 20
        let chunk = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 1)
        defer { buffer.deallocate() }
        var sent = 0
        var sawPending = false
        var received = 0
        var mismatch = false
        let (out, inn) = queue.sync { (SocketTransport(fd: sender, poller: poller), SocketTransport(fd: receiver, poller: poller)) }
        queue.sync {
            // The writer sends while the kernel takes everything and waits for onDrained once it keeps some.
            func pump() {
                while sent < total {
                    chunk.withUnsafeBytes { _ = out.send($0) }
                    sent += chunk.count
                    if out.hasPendingOutput { sawPending = true; return }
                }
                out.shutdownOutput()
            }
            out.onDrained = { record.drained += 1; pump() }
            Self.readSlowly(inn, closing: out, on: queue, into: buffer, pauseEvery: 8, done: done) { n in
                for i in 0..<n where buffer[i] != chunk[(received + i) % chunk.count] { mismatch = true; break }
                received += n
            }
            pump()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        queue.sync {
            #expect(sawPending, "8 MiB to a paused reader must fill the socket buffers")
            #expect(record.drained > 0)
            #expect(received == total)
            #expect(!mismatch)
            #expect(poller.registeredCount == 0)
        }
    }

    /// `send(_:then:)` (one sendmsg for a head and the body held behind it) under a slow reader:
    /// the kernel stops inside the first buffer on some pairs and inside the second on others;
    /// whatever it does not take must follow in order, before the next pair.
    @Test func twoBufferSendsArriveWholeAndInOrderWhenTheKernelTakesPart() throws {
        let (sender, receiver) = try Self.loopbackPair()
        var small: Int32 = 16_384
        setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let queue = DispatchQueue(label: "poller-test.send2")
        let poller = EventPoller(queue: queue)
        let done = DispatchSemaphore(value: 0)
        // Pairs alternate a large first buffer (the kernel stops inside it) with a large second.
        let sizes = (0..<24).map { $0 % 2 == 0 ? (300_000, 700) : (400, 300_000) }
        let total = sizes.reduce(0) { $0 + $1.0 + $1.1 }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 1)
        defer { buffer.deallocate() }
        var next = 0, written = 0, received = 0, firstMismatch: Int?
        let (out, inn) = queue.sync { (SocketTransport(fd: sender, poller: poller), SocketTransport(fd: receiver, poller: poller)) }
        func bytes(from start: Int, count: Int) -> [UInt8] { (start..<start + count).map { UInt8(truncatingIfNeeded: $0 % 251) } }
        queue.sync {
            func pump() {
                while next < sizes.count, !out.hasPendingOutput {
                    let a = bytes(from: written, count: sizes[next].0)
                    let b = bytes(from: written + a.count, count: sizes[next].1)
                    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in _ = out.send(pa, then: pb) } }
                    written += a.count + b.count
                    next += 1
                }
                if next == sizes.count && !out.hasPendingOutput { out.shutdownOutput() }
            }
            out.onDrained = { pump() }
            Self.readSlowly(inn, closing: out, on: queue, into: buffer, pauseEvery: 16, done: done) { n in
                for i in 0..<n where firstMismatch == nil && buffer[i] != UInt8(truncatingIfNeeded: (received + i) % 251) {
                    firstMismatch = received + i
                }
                received += n
            }
            pump()
        }
        #expect(done.wait(timeout: .now() + 60) == .success)
        queue.sync {
            #expect(next == sizes.count)
            #expect(received == total)
            #expect(firstMismatch == nil, "byte \(firstMismatch ?? -1) arrived out of order")
        }
    }

    @Test func requestWritableAfterAFullSocketWaitsForTheEdge() throws {
        let (a, b) = try Self.socketPair()
        defer { close(b) }
        let queue = DispatchQueue(label: "poller-test.writable")
        let poller = EventPoller(queue: queue)
        let record = Record()
        let drained = DispatchSemaphore(value: 0)
        let t = queue.sync { SocketTransport(fd: a, poller: poller) }
        var pipe: [Int32] = [-1, -1]
        try #require(Glibc.pipe(&pipe) == 0)
        for fd in pipe { Socket.setNonBlocking(fd) }
        defer { close(pipe[0]); close(pipe[1]) }
        let fill = [UInt8](repeating: 7, count: 65_536)
        queue.sync {
            t.onDrained = { record.drained += 1; drained.signal() }
            // Fill the socket through splice, which bypasses send: the transport must learn of EAGAIN.
            var moved = 0
            while true {
                _ = fill.withUnsafeBytes { Glibc.write(pipe[1], $0.baseAddress, $0.count) }
                let n = t.splice(fromPipe: pipe[0], count: 65_536)
                if n < 0 { break }
                moved += n
            }
            #expect(moved > 0)
            t.requestWritable()
        }
        usleep(100_000)
        queue.sync { #expect(record.drained == 0, "onDrained while the socket is still full") }
        // Drain the peer: the output edge comes and onDrained with it.
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer { sink.deallocate() }
        while Glibc.read(b, sink.baseAddress, sink.count) > 0 {}
        #expect(drained.wait(timeout: .now() + 5) == .success)
        queue.sync {
            #expect(record.drained == 1)
            t.close(abort: false)
        }
    }
}
