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
        if let q = p.utf8.firstIndex(of: UInt8(ascii: "?")) { return String(p[..<q]) }
        return p
    }

    /// Whether the client wants the connection kept open after this exchange.
    public var keepAlive: Bool { persistent(version: version, headers: headers, honourProxyConnection: true) }

    /// Whether the client waits for `100 Continue` before sending its body (RFC 9110 §10.1.1).
    public var expectsContinue: Bool { headers.containsToken("expect", "100-continue") }

    /// The `Host` field parsed as an authority (port nil when absent), for origin-form requests
    /// such as those seen in transparent mode. Nil when absent or empty.
    public var hostHeader: (host: String, port: UInt16?)? {
        guard let value = headers.first("host"), !value.isEmpty else { return nil }
        return try? TargetParser.authority(value, requirePort: false)
    }

    /// The head as bytes to send upstream; `originForm` rewrites an absolute-form target to its
    /// path and query.
    public func serialized(originForm: Bool) -> [UInt8] {
        var out: [UInt8] = []
        serialize(originForm: originForm, into: &out)
        return out
    }

    /// Appends the head as a proxy sends it on, up to but not including the blank line that ends
    /// it (the caller adds its own fields, such as Host and Via, then CRLF): HTTP/1.1, an
    /// absolute-form target rewritten to origin-form, hop-by-hop fields and those `omit` names
    /// left out. Reads this head in place; equivalent to `removeHopByHop()`, removing the omitted
    /// fields and `serialize(originForm: true)` on a copy.
    public func serializeForwardedStart(into out: inout [UInt8], omitting omit: (String) -> Bool) {
        out.appendWriting(maxBytes: forwardedStartMaxBytes) { writeForwardedStart(to: &$0, omitting: omit) }
    }

    /// The most bytes `writeForwardedStart` writes.
    public var forwardedStartMaxBytes: Int { method.utf8.count + rawTarget.utf8.count + headers.estimatedSize + 16 }

    /// `serializeForwardedStart` through a cursor with room for `forwardedStartMaxBytes`.
    public func writeForwardedStart(to out: inout ByteCursor, omitting omit: (String) -> Bool) {
        out.put(utf8: method)
        out.put(ByteClass.sp)
        if case .absolute(_, _, _, let path) = target {
            out.put(utf8: path)
        } else {
            out.put(utf8: rawTarget)
        }
        out.put(" HTTP/1.1\r\n")
        headers.writeEndToEnd(to: &out, omitting: omit)
    }

    /// Appends the head to `out`, so a connection can reuse one output buffer.
    public func serialize(originForm: Bool, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + headers.estimatedSize + rawTarget.utf8.count + 32)
        out.appendUTF8(method)
        out.append(ByteClass.sp)
        if originForm, case .absolute(_, _, _, let path) = target {
            out.appendUTF8(path)
        } else {
            out.appendUTF8(rawTarget)
        }
        out.append(ByteClass.sp)
        out.appendUTF8(version.description)
        out.append(contentsOf: crlf)
        headers.serialize(into: &out)
        out.append(contentsOf: crlf)
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
        serialize(into: &out)
        return out
    }

    /// Appends the head as a proxy relays it, up to but not including the blank line that ends it
    /// (the caller adds its own fields, such as Via, then CRLF): HTTP/1.1, hop-by-hop fields and
    /// those `omit` names left out. Reads this head in place.
    public func serializeForwardedStart(into out: inout [UInt8], omitting omit: (String) -> Bool) {
        out.appendWriting(maxBytes: forwardedStartMaxBytes) { writeForwardedStart(to: &$0, omitting: omit) }
    }

    /// The most bytes `writeForwardedStart` writes.
    public var forwardedStartMaxBytes: Int { reason.utf8.count + headers.estimatedSize + 40 }

    /// `serializeForwardedStart` through a cursor with room for `forwardedStartMaxBytes`.
    public func writeForwardedStart(to out: inout ByteCursor, omitting omit: (String) -> Bool) {
        out.put("HTTP/1.1 ")
        out.putDecimal(UInt64(max(status, 0)))
        out.put(ByteClass.sp)
        out.put(utf8: reason)
        out.put(ByteClass.cr)
        out.put(ByteClass.lf)
        headers.writeEndToEnd(to: &out, omitting: omit)
    }

    /// Appends the head to `out`, so a connection can reuse one output buffer.
    public func serialize(into out: inout [UInt8]) {
        out.reserveCapacity(out.count + headers.estimatedSize + reason.utf8.count + 32)
        out.appendUTF8(version.description)
        out.append(ByteClass.sp)
        out.appendUTF8(String(status))
        out.append(ByteClass.sp)
        out.appendUTF8(reason)
        out.append(contentsOf: crlf)
        headers.serialize(into: &out)
        out.append(contentsOf: crlf)
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

extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 as one copy.
    @inline(__always) mutating func appendUTF8(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}

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
