#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum HeadParseResult<Head: Sendable>: Sendable {
    case incomplete
    /// `headerBytes` counts every byte of the head including the final empty line; the body (or
    /// the next message) starts there.
    case complete(Head, headerBytes: Int)
}

/// Incremental, strict parser for HTTP/1.x request and response heads (RFC 9112 §2–5).
///
/// Call it again with the same, grown buffer whenever more bytes arrive: it resumes where it
/// stopped scanning, validates each line as soon as its CRLF arrives, and refuses oversized lines
/// and sections before their end is seen. After `.complete` it is ready for the next message, whose
/// bytes start at offset 0 of the next buffer passed in.
public struct HeadParser: Sendable {
    public let maxRequestLine: Int
    public let maxHeaderBytes: Int
    public let maxHeaderFields: Int

    private enum Kind: Sendable { case request, response }
    private enum StartLine: Sendable {
        case none
        case request(method: String, rawTarget: String, target: RequestTarget, version: HTTPVersion)
        case response(version: HTTPVersion, status: Int, reason: String)
    }

    private var kind: Kind?
    private var lineStart = 0
    /// Bytes of the current line already searched for LF, so a long line trickling in is scanned once.
    private var scanned = 0
    private var headerStart = 0
    private var startLine = StartLine.none
    private var headers = HTTPHeaders()

    public init(maxRequestLine: Int = 8192, maxHeaderBytes: Int = 65536, maxHeaderFields: Int = 256) {
        self.maxRequestLine = maxRequestLine
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderFields = maxHeaderFields
    }

    public mutating func reset() {
        // Only `scan` leaves the fresh state, and it sets `kind` first: a parser that never
        // started (every response head the gateway relays from its bytes) has nothing to clear.
        guard kind != nil else { return }
        kind = nil
        lineStart = 0
        scanned = 0
        headerStart = 0
        startLine = .none
        headers = HTTPHeaders()
    }

    public mutating func parseRequest(_ buf: UnsafeRawBufferPointer) throws(WireError) -> HeadParseResult<HTTPRequestHead> {
        guard let end = try scan(buf, as: .request) else { return .incomplete }
        defer { reset() }
        let (line, fields) = takeParsed()
        guard case let .request(method, rawTarget, target, version) = consume line else { preconditionFailure("request line parsed") }
        try Self.checkHost(fields, version: version, target: target, rawTarget: rawTarget)
        let head = HTTPRequestHead(method: method, rawTarget: rawTarget, target: target, version: version, headers: fields)
        return .complete(head, headerBytes: end)
    }

    public mutating func parseResponse(_ buf: UnsafeRawBufferPointer) throws(WireError) -> HeadParseResult<HTTPResponseHead> {
        guard let end = try scan(buf, as: .response) else { return .incomplete }
        defer { reset() }
        let (line, fields) = takeParsed()
        guard case let .response(version, status, reason) = consume line else { preconditionFailure("status line parsed") }
        let head = HTTPResponseHead(version: version, status: status, reason: reason, headers: fields)
        return .complete(head, headerBytes: end)
    }

    /// Moves the parsed start line and fields out (a copy retained every string in them, and the
    /// reset that follows released them again).
    private mutating func takeParsed() -> (StartLine, HTTPHeaders) {
        var line = StartLine.none
        var fields = HTTPHeaders()
        swap(&line, &startLine)
        swap(&fields, &headers)
        return (line, fields)
    }

    // MARK: - Line scanning

    /// Returns the offset just past the head's final CRLF, or nil when more bytes are needed.
    private mutating func scan(_ buf: UnsafeRawBufferPointer, as newKind: Kind) throws(WireError) -> Int? {
        if kind != newKind || buf.count < max(lineStart, scanned) { reset(); kind = newKind }
        do {
            return try scanLines(buf)
        } catch {
            reset()
            throw error
        }
    }

    private mutating func scanLines(_ buf: UnsafeRawBufferPointer) throws(WireError) -> Int? {
        guard let base = buf.baseAddress else { return nil }
        while true {
            let from = max(lineStart, scanned)
            guard from < buf.count, let hit = memchr(base + from, Int32(ByteClass.lf), buf.count - from) else {
                scanned = buf.count
                try checkLimits(seenUpTo: buf.count, lineComplete: false)
                return nil
            }
            let lf = base.distance(to: UnsafeRawPointer(hit))
            try checkLimits(seenUpTo: lf + 1, lineComplete: true)
            guard lf > lineStart, buf[lf - 1] == ByteClass.cr else { throw .malformed("line ends with a bare LF") }
            let line = UnsafeRawBufferPointer(rebasing: buf[lineStart..<(lf - 1)])
            if memchr(base + lineStart, Int32(ByteClass.cr), line.count) != nil {
                throw .malformed("bare CR in message head")
            }
            lineStart = lf + 1
            if case .none = startLine {
                // RFC 9112 §2.2: tolerate empty lines before a request line (left over after a body).
                if line.isEmpty && kind == .request { continue }
                try parseStartLine(line)
                headerStart = lineStart
            } else if line.isEmpty {
                return lineStart
            } else {
                try parseField(line)
            }
        }
    }

    private func checkLimits(seenUpTo end: Int, lineComplete: Bool) throws(WireError) {
        if case .none = startLine {
            // The start line may be followed by its CR before the LF arrives.
            let length = end - (lineComplete ? 2 : 1)
            if length > maxRequestLine {
                throw kind == .request ? WireError(status: 414, "request line too long")
                                       : WireError.malformed("status line too long")
            }
        } else if end - headerStart > maxHeaderBytes {
            throw WireError(status: 431, "header section too large")
        }
    }

    // MARK: - Start lines

    private mutating func parseStartLine(_ line: UnsafeRawBufferPointer) throws(WireError) {
        switch kind {
        case .request: try parseRequestLine(line)
        default: try parseStatusLine(line)
        }
    }

    private mutating func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(WireError) {
        var i = 0
        while i < line.count, ByteClass.isToken(line[i]) { i += 1 }
        guard i > 0 else { throw .malformed("missing or invalid method") }
        guard i < line.count, line[i] == ByteClass.sp else { throw .malformed("invalid method") }
        let method = String(wire: UnsafeRawBufferPointer(rebasing: line[0..<i]))
        let targetStart = i + 1
        i = targetStart
        while i < line.count, ByteClass.isTarget(line[i]) { i += 1 }
        guard i > targetStart, i < line.count, line[i] == ByteClass.sp else { throw .malformed("malformed request line") }
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[(i + 1)...]))
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[targetStart..<i])
        let rawTarget = String(wire: targetBytes)
        let target = try TargetParser.parse(targetBytes, raw: rawTarget, method: method)
        startLine = .request(method: method, rawTarget: rawTarget, target: target, version: version)
    }

    private mutating func parseStatusLine(_ line: UnsafeRawBufferPointer) throws(WireError) {
        guard line.count >= 12, line[8] == ByteClass.sp else { throw .malformed("malformed status line") }
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[0..<8]))
        let d0 = line[9] &- 0x30, d1 = line[10] &- 0x30, d2 = line[11] &- 0x30
        guard d0 >= 1, d0 <= 5, d1 < 10, d2 < 10 else { throw .malformed("invalid status code") }
        var reason = ""
        if line.count > 12 {
            // Some servers omit the reason phrase and its space; tolerate that, but nothing else.
            guard line[12] == ByteClass.sp else { throw .malformed("malformed status line") }
            let phrase = UnsafeRawBufferPointer(rebasing: line[13...])
            guard ByteClass.allFieldValue(phrase) else { throw .malformed("control character in reason phrase") }
            reason = String(wire: phrase)
        }
        startLine = .response(version: version, status: Int(d0) * 100 + Int(d1) * 10 + Int(d2), reason: reason)
    }

    private func parseVersion(_ v: UnsafeRawBufferPointer) throws(WireError) -> HTTPVersion {
        guard v.count == 8, v[0] == UInt8(ascii: "H"), v[1] == UInt8(ascii: "T"), v[2] == UInt8(ascii: "T"),
              v[3] == UInt8(ascii: "P"), v[4] == UInt8(ascii: "/"), ByteClass.isDigit(v[5]),
              v[6] == UInt8(ascii: "."), ByteClass.isDigit(v[7]) else {
            throw .malformed("malformed HTTP version")
        }
        switch (v[5], v[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return .http10
        default: throw WireError(status: 505, "HTTP version not supported")
        }
    }

    // MARK: - Field lines

    private mutating func parseField(_ line: UnsafeRawBufferPointer) throws(WireError) {
        guard headers.count < maxHeaderFields else { throw WireError(status: 431, "too many header fields") }
        let field = try parseFieldLine(line)
        if headers.fields.capacity == 0 { headers.fields.reserveCapacity(16) }
        headers.add(field.name, field.value)
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host; any request at most one, and
    /// a present value must be a valid authority (it routes origin-form requests).
    private static func checkHost(_ headers: HTTPHeaders, version: HTTPVersion, target: RequestTarget,
                                  rawTarget: String) throws(WireError) {
        var count = 0
        var value: String?
        headers.fields.withUnsafeBufferPointer { f in
            for i in f.indices where f[i].name.equalsLowercased("host") {
                count += 1
                value = f[i].value
            }
        }
        if count > 1 { throw .malformed("more than one Host header") }
        if count == 0 && version == .http11 { throw .malformed("HTTP/1.1 request without Host header") }
        if let value, !value.isEmpty, !isAuthority(value, of: target, rawTarget) {
            _ = try TargetParser.authority(value, requirePort: false)
        }
    }

    /// Whether `host` is, byte for byte, the authority of an absolute-form target: the target's
    /// parse already checked those bytes with the same rules (nearly every client sends the two
    /// alike, and parsing the value again built its Strings a second time per request).
    private static func isAuthority(_ host: String, of target: RequestTarget, _ rawTarget: String) -> Bool {
        guard case .absolute = target else { return false }
        let prefix = 7   // "http://": absolute targets are http URLs only
        let same = host.utf8.withContiguousStorageIfAvailable { h in
            rawTarget.utf8.withContiguousStorageIfAvailable { t -> Bool in
                guard t.count >= prefix + h.count else { return false }
                let end = prefix + h.count
                // The target's authority ends at its first "/" or "?": the host must end there too.
                guard end == t.count || t[end] == UInt8(ascii: "/") || t[end] == UInt8(ascii: "?") else { return false }
                if h.contains(UInt8(ascii: "/")) || h.contains(UInt8(ascii: "?")) { return false }
                return memcmp(h.baseAddress!, t.baseAddress! + prefix, h.count) == 0
            }
        }
        if case .some(.some(true)) = same { return true }
        return false
    }
}
