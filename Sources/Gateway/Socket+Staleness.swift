#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Whether an idle kept-alive connection was closed by the peer (or has unexpected bytes
    /// waiting), checked just before reuse. Plain pooled sockets are watched instead; intercepted
    /// upstreams keep their TLS session on the client connection and are probed here.
    static func isStale(_ fd: Int32) -> Bool {
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        return true
    }
}
