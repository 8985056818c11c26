import Dispatch
import Foundation
@testable import Gateway
import Interception
import Testing

/// TLSTransport on both ends of a socket pair: the HTTP pipeline's view of an intercepted
/// connection (plaintext in, plaintext out) with real OpenSSL and real sockets in between.
@Suite struct TLSTransportTests {
    final class Box: @unchecked Sendable {
        // Touched only on `queue`, then read after the semaphore.
        var received: [UInt8] = []
        var clientState: TLSEngine.State?
        var serverState: TLSEngine.State?
        var sawEOF = false
    }

    /// Runs both handshakes; `start` runs (on the transports' queue) once both are established.
    static func handshake(_ server: TLSTransport, _ client: TLSTransport, _ box: Box, then start: @escaping () -> Void) {
        var established = 0
        server.handshake { state in
            box.serverState = state
            established += 1
            if established == 2 { start() }
        }
        client.handshake { state in
            box.clientState = state
            established += 1
            if established == 2 { start() }
        }
    }

    @Test func handshakeThenBulkDataAndCloseOverSockets() throws {
        let authority = try CertificateAuthority.generate()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlstransport-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try authority.write(to: directory.path)
        let settings = try InterceptionSettings(authority: authority,
                                                upstreamTrustFiles: [directory.appendingPathComponent("ca.crt").path])
        let leaf = try settings.leaves.minter.mint(LeafNames(primary: "pair.example"))

        var fds: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        for fd in fds { Socket.setNonBlocking(fd) }
        let queue = DispatchQueue(label: "tlstransport-test")
        let poller = EventPoller(queue: queue)
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var keep: [TLSTransport] = []

        queue.sync {
            let server = TLSTransport(engine: try! TLSEngine(server: settings.clientSide, leaf: leaf),
                                      inner: SocketTransport(fd: fds[0], poller: poller), queue: queue)
            let client = TLSTransport(engine: try! TLSEngine(client: settings.upstreamSide, host: "pair.example", port: 443),
                                      inner: SocketTransport(fd: fds[1], poller: poller), queue: queue)
            keep = [server, client]
            let start = {
                // Server side reads until EOF, in small pieces to exercise redelivery.
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 1)
                server.onReadable = {
                    switch server.read(into: buffer) {
                    case .bytes(let n): box.received += buffer[0..<n]
                    case .eof:
                        box.sawEOF = true
                        server.close(abort: false)
                        buffer.deallocate()
                        done.signal()
                    case .failed:
                        server.close(abort: true)
                        done.signal()
                    case .wouldBlock: break
                    }
                }
                server.resumeReading()
                payload.withUnsafeBytes { _ = client.send($0) }
                client.shutdownOutput()
            }
            Self.handshake(server, client, box, then: start)
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        queue.sync {
            #expect(box.clientState == .established)
            #expect(box.serverState == .established)
            #expect(keep[1].engine.verifyResult == .ok)
            #expect(keep[0].engine.negotiatedALPN == "http/1.1")
            #expect(box.received.count == payload.count)
            #expect(box.received == payload)
            #expect(box.sawEOF, "server state \(keep[0].engine.state) buffered \(keep[0].engine.hasBufferedInput) client \(keep[1].engine.state) pendingOut \(keep[1].hasPendingOutput)")
            #expect(keep[0].engine.receivedCloseNotify)
            keep[1].close(abort: true)
            keep.removeAll()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// One end of an in-memory byte pipe that counts the writes it is given: what TLSTransport
    /// hands its socket, call by call. Used only on the test's queue.
    final class CountingPipe: ByteTransport, @unchecked Sendable {
        let queue: DispatchQueue
        weak var peer: CountingPipe?
        var inbox: [UInt8] = []
        var sends = 0
        var reading = false
        var closed = false
        var onReadable: (() -> Void)?
        var onDrained: (() -> Void)?

        init(queue: DispatchQueue) { self.queue = queue }

        func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
            if inbox.isEmpty { return closed ? .eof : .wouldBlock }
            let n = min(buffer.count, inbox.count)
            inbox.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            inbox.removeFirst(n)
            return .bytes(n)
        }

        func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard !closed, let peer else { return false }
            sends += 1
            peer.inbox += bytes
            queue.async { if peer.reading { peer.onReadable?() } }
            return true
        }

        var hasPendingOutput: Bool { false }
        func pauseReading() { reading = false }
        func resumeReading() {
            reading = true
            if !inbox.isEmpty { queue.async { if self.reading { self.onReadable?() } } }
        }
        func requestWritable() {}
        func shutdownOutput() {}
        func close(abort: Bool) { closed = true }
        var rawDescriptor: Int32? { nil }
        var isClosed: Bool { closed }
        var socket: SocketTransport? { nil }
    }

    @Test func headAndBodyLeaveInOneWrite() throws {
        let authority = try CertificateAuthority.generate()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlstransport-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: directory) }
        try authority.write(to: directory.path)
        let settings = try InterceptionSettings(authority: authority,
                                                upstreamTrustFiles: [directory.appendingPathComponent("ca.crt").path])
        let leaf = try settings.leaves.minter.mint(LeafNames(primary: "pair.example"))
        let queue = DispatchQueue(label: "tlstransport-pipe-test")
        let serverPipe = CountingPipe(queue: queue), clientPipe = CountingPipe(queue: queue)
        serverPipe.peer = clientPipe
        clientPipe.peer = serverPipe
        let head = Array("POST /collect HTTP/1.1\r\nHost: pair.example\r\nContent-Length: 20000\r\n\r\n".utf8)
        let body = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var keep: [TLSTransport] = []
        var writes: Int?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer { buffer.deallocate() }

        queue.sync {
            let server = TLSTransport(engine: try! TLSEngine(server: settings.clientSide, leaf: leaf), inner: serverPipe, queue: queue)
            let client = TLSTransport(engine: try! TLSEngine(client: settings.upstreamSide, host: "pair.example", port: 443),
                                      inner: clientPipe, queue: queue)
            keep = [server, client]
            let start = {
                server.onReadable = {
                    while case .bytes(let n) = server.read(into: buffer) { box.received += buffer[0..<n] }
                    if box.received.count == head.count + body.count {
                        server.onReadable = nil
                        done.signal()
                    }
                }
                server.resumeReading()
                let before = clientPipe.sends
                head.withUnsafeBytes { h in body.withUnsafeBytes { _ = client.send(h, then: $0) } }
                writes = clientPipe.sends - before
            }
            Self.handshake(server, client, box, then: start)
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        queue.sync {
            #expect(box.clientState == .established)
            #expect(box.serverState == .established)
            #expect(writes == 1, "head and body took \(writes.map(String.init) ?? "no") writes to the socket")
            #expect(box.received == head + body)
            keep.forEach { $0.close(abort: true) }
            keep.removeAll()
        }
    }
}
