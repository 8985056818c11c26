public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    case http10, http11

    public var description: String {
        switch self {
        case .http10: return "HTTP/1.0"
        case .http11: return "HTTP/1.1"
        }
    }
}

public enum RequestTarget: Sendable, Hashable {
    /// "/path?q"
    case origin(String)
    /// host lowercased, IPv6 literal without brackets, port defaulted from the scheme.
    case absolute(scheme: String, host: String, port: UInt16, pathAndQuery: String)
    /// CONNECT host:port
    case authority(host: String, port: UInt16)
    /// OPTIONS *
    case asterisk
}

public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The request-target exactly as received.
    public var rawTarget: String
    public var target: RequestTarget
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: String, rawTarget: String, target: RequestTarget, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.rawTarget = rawTarget
        self.target = target
        self.version = version
        self.headers = headers
    }

    /// Path and query as sent to an origin server ("*" for asterisk-form, "" for CONNECT).
    public var pathAndQuery: String {
        switch target {
        case .origin(let p): return p
        case .absolute(_, _, _, let p): return p
        case .authority: return ""
        case .asterisk: return "*"
        }
    }

    /// The path without its query, safe to log.
    public var pathWithoutQuery: String {
        let p = pathAndQuery
        if let q = p.firstIndex(of: "?") { return String(p[..<q]) }
        return p
    }

    /// Whether the client wants the connection kept open after this exchange.
    public var keepAlive: Bool { persistent(version: version, headers: headers, honourProxyConnection: true) }

    /// The `Host` field parsed as an authority (port nil when absent), for origin-form requests
    /// such as those seen in transparent mode. Nil when absent or empty.
    public var hostHeader: (host: String, port: UInt16?)? {
        guard let value = headers.first("host"), !value.isEmpty else { return nil }
        return try? TargetParser.authority(Substring(value), requirePort: false)
    }

    /// The head as bytes to send upstream; `originForm` rewrites an absolute-form target to its
    /// path and query.
    public func serialized(originForm: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + headers.count * 32)
        out.append(contentsOf: method.utf8)
        out.append(ByteClass.sp)
        if originForm, case .absolute(_, _, _, let path) = target {
            out.append(contentsOf: path.utf8)
        } else {
            out.append(contentsOf: rawTarget.utf8)
        }
        out.append(ByteClass.sp)
        out.append(contentsOf: version.description.utf8)
        out.append(contentsOf: crlf)
        headers.serialize(into: &out)
        out.append(contentsOf: crlf)
        return out
    }
}

public struct HTTPResponseHead: Sendable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public init(version: HTTPVersion = .http11, status: Int, reason: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// Whether the server allows the connection to be reused after this response (the body framing
    /// must also be self-delimiting; see `responseBodyFraming`).
    public var keepAlive: Bool { persistent(version: version, headers: headers, honourProxyConnection: false) }

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.count * 32)
        out.append(contentsOf: version.description.utf8)
        out.append(ByteClass.sp)
        out.append(contentsOf: String(status).utf8)
        out.append(ByteClass.sp)
        out.append(contentsOf: reason.utf8)
        out.append(contentsOf: crlf)
        headers.serialize(into: &out)
        out.append(contentsOf: crlf)
        return out
    }

    /// A complete, self-contained response for error pages and admin answers:
    /// status line, `headers`, Content-Type, Content-Length, `Connection: close`, then the body.
    public static func simple(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8",
                              body: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> [UInt8] {
        var head = HTTPResponseHead(status: status, reason: reason, headers: headers)
        head.headers.add("Content-Type", contentType)
        head.headers.add("Content-Length", String(body.count))
        head.headers.add("Connection", "close")
        return head.serialized() + body
    }

    public static func simple(status: Int, reason: String, contentType: String = "text/plain; charset=utf-8",
                              body: String, headers: HTTPHeaders = HTTPHeaders()) -> [UInt8] {
        simple(status: status, reason: reason, contentType: contentType, body: Array(body.utf8), headers: headers)
    }

    /// The standard reason phrase for the statuses a proxy writes itself.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 407: return "Proxy Authentication Required"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 417: return "Expectation Failed"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 451: return "Unavailable For Legal Reasons"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(status)"
        }
    }
}

let crlf: [UInt8] = [ByteClass.cr, ByteClass.lf]

/// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive". Old HTTP/1.0
/// clients talking to a proxy say so in Proxy-Connection.
private func persistent(version: HTTPVersion, headers: HTTPHeaders, honourProxyConnection: Bool) -> Bool {
    if headers.containsToken("connection", "close") { return false }
    if honourProxyConnection && headers.containsToken("proxy-connection", "close") { return false }
    switch version {
    case .http11: return true
    case .http10:
        return headers.containsToken("connection", "keep-alive")
            || (honourProxyConnection && headers.containsToken("proxy-connection", "keep-alive"))
    }
}
