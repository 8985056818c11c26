import CustomsCore
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Name resolution off the event queues: getaddrinfo runs on a concurrent queue and the answer
/// (or a timeout, whichever comes first) is delivered on the caller's queue exactly once.
final class Resolver: Sendable {
    enum Failure: Error, Sendable {
        case notFound(String)
        case timedOut
    }

    private let work = DispatchQueue(label: "customs.resolver", attributes: .concurrent)
    /// Successful answers kept briefly (getaddrinfo gives no TTL), so a busy host is not looked up
    /// per request. Every cached address still goes through the destination guard on each use.
    private let cache = Mutex<[String: (addresses: [IPAddress], expires: UInt64)]>([:])
    private let cacheSeconds: Double
    private static let cacheLimit = 10_000

    init(cacheSeconds: Double = 30) { self.cacheSeconds = cacheSeconds }

    /// Literal addresses and cached names are answered synchronously; other names asynchronously.
    func resolve(_ host: String, timeout: Double, on queue: DispatchQueue,
                 _ done: @escaping @Sendable (Result<[IPAddress], Failure>) -> Void) {
        if let known = answerNow(host) { done(.success(known)); return }
        let once = Once()
        let ttl = UInt64(cacheSeconds * 1e9)
        work.async {
            let r = Self.lookup(host)
            if case .success(let addrs) = r, ttl > 0 {
                self.cache.withLock { c in
                    if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
                    c[host] = (addrs, DispatchTime.now().uptimeNanoseconds + ttl)
                }
            }
            queue.async { if once.claim() { done(r) } }
        }
        queue.asyncAfter(deadline: .now() + timeout) { if once.claim() { done(.failure(.timedOut)) } }
    }

    /// The addresses of a literal or of a name answered recently, without waiting; nil when
    /// `resolve` must look the name up. Lets a caller skip making a callback for what is known.
    func answerNow(_ host: String) -> [IPAddress]? {
        if let ip = IPAddress(host) { return [ip] }
        let now = DispatchTime.now().uptimeNanoseconds
        if let hit = cache.withLock({ $0[host] }), hit.expires > now { return hit.addresses }
        return nil
    }

    static func lookup(_ host: String) -> Result<[IPAddress], Failure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &res)
        guard rc == 0, let first = res else {
            return .failure(.notFound(String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(first) }
        var out: [IPAddress] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if let sa = ai.pointee.ai_addr {
                switch ai.pointee.ai_family {
                case AF_INET:
                    let a = UnsafeRawPointer(sa).load(as: sockaddr_in.self)
                    out.append(.v4(UInt32(bigEndian: a.sin_addr.s_addr)))
                case AF_INET6:
                    let a = UnsafeRawPointer(sa).load(as: sockaddr_in6.self)
                    out.append(IPAddress(in6: a.sin6_addr))
                default: break
                }
            }
            p = ai.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        out = out.filter { seen.insert($0).inserted }
        return out.isEmpty ? .failure(.notFound("no addresses")) : .success(out)
    }
}

/// A flag claimed by exactly one of several racing callbacks.
/// @unchecked Sendable: both claimers run on the same serial queue.
final class Once: @unchecked Sendable {
    private var done = false
    func claim() -> Bool {
        if done { return false }
        done = true
        return true
    }
}
