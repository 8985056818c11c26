import CShims
import CustomsCore
#if canImport(Glibc)
import Glibc
#endif

/// A socket address built from (or read into) our own IP type.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    init() {}

    init(_ ip: IPAddress, port: UInt16) {
        switch ip {
        case .v4(let v):
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = v.bigEndian
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .v6:
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_addr = ip.in6
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    var family: Int32 { Int32(storage.ss_family) }

    /// The address and port, IPv4-mapped IPv6 shown as IPv4.
    var endpoint: (IPAddress, UInt16)? {
        withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let a = raw.load(as: sockaddr_in.self)
                return (.v4(UInt32(bigEndian: a.sin_addr.s_addr)), UInt16(bigEndian: a.sin_port))
            case AF_INET6:
                let a = raw.load(as: sockaddr_in6.self)
                return (IPAddress(in6: a.sin6_addr).v4MappedOrSelf, UInt16(bigEndian: a.sin6_port))
            default: return nil
            }
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}

enum Socket {
    static func errorText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32 = 1) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// A bound, listening, non-blocking socket.
    static func listen(_ address: ListenAddress, backlog: Int32 = 4096) throws(GatewayError) -> Int32 {
        let sa = SocketAddress(address.ip, port: address.port)
        let fd = socket(sa.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw GatewayError(.bindFailed, "cannot create a socket for \(address): \(errorText())") }
        setOption(fd, SOL_SOCKET, SO_REUSEADDR)
        if sa.family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY) }
        let rc = sa.withSockaddr { bind(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            if e == EADDRINUSE { throw GatewayError(.addressInUse, "address \(address) is already in use") }
            throw GatewayError(.bindFailed, "cannot listen on \(address): \(errorText(e))")
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            close(fd)
            throw GatewayError(.bindFailed, "cannot listen on \(address): \(errorText(e))")
        }
        setNonBlocking(fd)
        return fd
    }

    static func localAddress(_ fd: Int32) -> SocketAddress {
        var sa = SocketAddress()
        sa.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &sa.storage) { raw in
            _ = getsockname(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &sa.length)
        }
        return sa
    }

    /// Starts a non-blocking connect. Returns the socket (connected or in progress) or an errno.
    static func startConnect(_ ip: IPAddress, port: UInt16) -> Result<Int32, Errno> {
        let sa = SocketAddress(ip, port: port)
        let fd = socket(sa.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return .failure(Errno(errno)) }
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY)
        let rc = sa.withSockaddr { connect(fd, $0, $1) }
        if rc == 0 || errno == EINPROGRESS { return .success(fd) }
        let e = errno
        close(fd)
        return .failure(Errno(e))
    }

    /// The outcome of a non-blocking connect once the socket is writable.
    static func connectError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 { return errno }
        return err
    }

    /// Whether a pooled idle connection has been closed by the peer (or has unexpected bytes waiting).
    static func isStale(_ fd: Int32) -> Bool {
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        return true
    }

    static func originalDestination(_ fd: Int32, family: Int32) -> (IPAddress, UInt16)? {
        var sa = SocketAddress()
        let rc = withUnsafeMutablePointer(to: &sa.storage) { customs_original_destination(fd, family, $0) }
        return rc == 0 ? sa.endpoint : nil
    }
}

struct Errno: Error, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { Socket.errorText(code) }
}
