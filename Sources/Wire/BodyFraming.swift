/// How a message body is delimited on the wire (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Only for responses: the body ends when the server closes the connection.
    case untilClose
}

/// The framing of a request body, refusing every ambiguous combination a smuggling attack needs.
public func requestBodyFraming(_ head: HTTPRequestHead) throws(WireError) -> BodyFraming {
    try declaredFraming(head.headers, version: head.version) ?? .none
}

/// The framing of a response body to a request made with `requestMethod`.
public func responseBodyFraming(_ head: HTTPResponseHead, requestMethod: String) throws(WireError) -> BodyFraming {
    if requestMethod == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304 {
        return .none
    }
    if requestMethod == "CONNECT" && head.status < 300 { return .none }
    return try declaredFraming(head.headers, version: head.version) ?? .untilClose
}

/// Framing declared by Transfer-Encoding / Content-Length, nil when neither is present.
private func declaredFraming(_ headers: HTTPHeaders, version: HTTPVersion) throws(WireError) -> BodyFraming? {
    var transferCodings: [Substring] = []
    var sawTransferEncoding = false
    var length: UInt64?
    // Through an unsafe buffer: iterating or subscripting the array copies every name and value.
    let failure: WireError? = headers.fields.withUnsafeBufferPointer { f in
        for i in f.indices {
            if f[i].name.equalsLowercased("transfer-encoding") {
                sawTransferEncoding = true
                transferCodings.append(contentsOf: HTTPHeaders.listElements(f[i].value))
            } else if f[i].name.equalsLowercased("content-length") {
                do throws(WireError) { length = try mergeContentLength(f[i].value, into: length) } catch { return error }
            }
        }
        return nil
    }
    if let failure { throw failure }
    if sawTransferEncoding {
        if length != nil { throw .malformed("both Content-Length and Transfer-Encoding") }
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
        if version == .http10 { throw .malformed("Transfer-Encoding in an HTTP/1.0 message") }
        try checkTransferCodings(transferCodings)
        return .chunked
    }
    return length.map { .contentLength($0) }
}

/// Accepts exactly one coding, a final `chunked`: anything else is either unsupported or a framing
/// an intermediary could read differently from the origin.
private func checkTransferCodings(_ codings: [Substring]) throws(WireError) {
    guard !codings.isEmpty else { throw .malformed("empty Transfer-Encoding") }
    for (index, coding) in codings.enumerated() {
        let name = coding.prefix { $0 != ";" }.trimmingOWS()
        if name.asciiCaseInsensitiveEquals("chunked") {
            if index != codings.count - 1 { throw .malformed("chunked is not the final transfer coding") }
            if coding.contains(";") { throw .malformed("parameters on the chunked transfer coding") }
        } else if !name.isEmpty && name.utf8.allSatisfy(ByteClass.isToken) {
            throw .unsupported("unsupported transfer coding")
        } else {
            throw .malformed("invalid Transfer-Encoding")
        }
    }
}

/// One Content-Length field value (possibly a list) merged with what earlier fields said; every
/// value must be the same non-negative decimal number. Read byte by byte: every body-carrying
/// message passes here, and splitting into Substrings walks Characters.
private func mergeContentLength(_ value: String, into previous: UInt64?) throws(WireError) -> UInt64 {
    func merge(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<UInt64, WireError> {
        var result = previous
        var i = 0
        while true {
            // One element: optional whitespace, digits, optional whitespace, then a comma or the end.
            while i < bytes.count, bytes[i] == ByteClass.sp || bytes[i] == ByteClass.htab { i += 1 }
            var n: UInt64 = 0
            var digits = 0
            while i < bytes.count, ByteClass.isDigit(bytes[i]) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] &- 0x30))
                if o1 || o2 { return .failure(.malformed("Content-Length too large")) }
                n = s
                digits += 1
                i += 1
            }
            while i < bytes.count, bytes[i] == ByteClass.sp || bytes[i] == ByteClass.htab { i += 1 }
            guard digits > 0, i == bytes.count || bytes[i] == UInt8(ascii: ",") else {
                return .failure(.malformed("invalid Content-Length"))
            }
            if let result, result != n { return .failure(.malformed("conflicting Content-Length values")) }
            result = n
            if i == bytes.count { return .success(n) }
            i += 1
        }
    }
    // Native strings (all the parser makes) are read in place; a bridged one is made contiguous first.
    if let merged = value.utf8.withContiguousStorageIfAvailable(merge) { return try merged.get() }
    var text = value
    text.makeContiguousUTF8()
    guard let merged = text.utf8.withContiguousStorageIfAvailable(merge) else { throw .malformed("invalid Content-Length") }
    return try merged.get()
}
