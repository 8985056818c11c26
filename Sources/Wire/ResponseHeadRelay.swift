#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A final (status ≥ 200) response head read in place from the bytes it arrived in, for relaying.
///
/// A proxy decides on a handful of fields (framing and persistence) and copies the rest. Parsing
/// every field into Strings, then writing them back, was most of the user time of a small
/// proxied GET; here only the deciding fields become Strings (in `decidingHead`, which the same
/// framing and persistence functions read) and the other lines are copied from their bytes.
///
/// It is a fast path, not a second parser: it accepts only heads that are whole in `bytes`, within
/// the limits, and clean by the same rules `HeadParser` applies; for anything else `scan` returns
/// nil and the caller parses with `HeadParser`, which gives the canonical answer or error. Its
/// relayed bytes are identical to `HTTPResponseHead.writeForwardedStart` on the parsed head.
public struct ResponseHeadRelay {
    public let status: Int
    public let version: HTTPVersion
    /// Bytes of the head including its final empty line.
    public let headerBytes: Int
    /// Status and version with only Connection, Content-Length and Transfer-Encoding fields: what
    /// `responseBodyFraming` and `keepAlive` read.
    public let decidingHead: HTTPResponseHead
    private let reason: Range<Int>
    /// Where the field lines start (they were checked by `scan`, and are walked again to relay them).
    private let fieldsStart: Int
    private let fieldCount: Int

    /// Reads a whole response head at the start of `bytes`; nil when the head is incomplete,
    /// informational (1xx), beyond a limit, or anything `HeadParser` would need to judge.
    public static func scan(_ bytes: UnsafeRawBufferPointer, maxStatusLine: Int, maxHeaderBytes: Int,
                            maxHeaderFields: Int) -> ResponseHeadRelay? {
        guard let base = bytes.baseAddress, let lineEnd = lineEnd(bytes, base, from: 0, limit: maxStatusLine + 2) else {
            return nil
        }
        // Status line: HTTP/1.x SP 3DIGIT [SP reason]
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<lineEnd])
        guard line.count >= 12, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
              line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/"), line[5] == UInt8(ascii: "1"),
              line[6] == UInt8(ascii: "."), line[7] == UInt8(ascii: "1") || line[7] == UInt8(ascii: "0"),
              line[8] == ByteClass.sp else { return nil }
        let d0 = line[9] &- 0x30, d1 = line[10] &- 0x30, d2 = line[11] &- 0x30
        guard d0 >= 2, d0 <= 5, d1 < 10, d2 < 10 else { return nil }
        var reason = 12..<12
        if line.count > 12 {
            guard line[12] == ByteClass.sp else { return nil }
            let phrase = UnsafeRawBufferPointer(rebasing: line[13...])
            guard ByteClass.allFieldValue(phrase) else { return nil }
            reason = 13..<line.count
        }
        let version: HTTPVersion = line[7] == UInt8(ascii: "1") ? .http11 : .http10
        let status = Int(d0) * 100 + Int(d1) * 10 + Int(d2)

        var fieldCount = 0
        var deciding = HTTPHeaders()
        let headerStart = lineEnd + 2
        var start = headerStart
        while true {
            guard let end = Self.lineEnd(bytes, base, from: start, limit: headerStart + maxHeaderBytes - start) else {
                return nil
            }
            if end == start { break }
            guard fieldCount < maxHeaderFields else { return nil }
            fieldCount += 1
            // name: token+ ":" OWS value OWS
            var i = start
            while i < end, ByteClass.isToken(bytes[i]) { i += 1 }
            guard i > start, i < end, bytes[i] == ByteClass.colon else { return nil }
            let nameEnd = i
            i += 1
            var valueEnd = end
            while i < valueEnd, bytes[i] == ByteClass.sp || bytes[i] == ByteClass.htab { i += 1 }
            while valueEnd > i, bytes[valueEnd - 1] == ByteClass.sp || bytes[valueEnd - 1] == ByteClass.htab { valueEnd -= 1 }
            guard ByteClass.allFieldValue(UnsafeRawBufferPointer(rebasing: bytes[i..<valueEnd])) else { return nil }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<nameEnd])
            if Self.decides(name) {
                if deciding.isEmpty { deciding.fields.reserveCapacity(4) }
                deciding.add(String(wire: name), String(wire: UnsafeRawBufferPointer(rebasing: bytes[i..<valueEnd])))
            }
            start = end + 2
        }
        return ResponseHeadRelay(
            status: status, version: version, headerBytes: start + 2,
            decidingHead: HTTPResponseHead(version: version, status: status, reason: "", headers: deciding),
            reason: reason, fieldsStart: headerStart, fieldCount: fieldCount)
    }

    /// The most bytes `writeForwardedStart` writes: a field line can grow by one byte (`a:b`
    /// is relayed as `a: b`), and so can a status line without a reason phrase.
    public var forwardedStartMaxBytes: Int { headerBytes + fieldCount + 32 }

    /// Writes what `HTTPResponseHead.writeForwardedStart` writes for this head: HTTP/1.1 status
    /// line, then every field line but the hop-by-hop ones (and Transfer-Encoding when asked).
    /// `bytes` must be the bytes given to `scan`.
    public func writeForwardedStart(from bytes: UnsafeRawBufferPointer, to out: inout ByteCursor,
                                    droppingTransferEncoding: Bool) {
        out.put("HTTP/1.1 ")
        out.putDecimal(UInt64(status))
        out.put(ByteClass.sp)
        out.put(UnsafeRawBufferPointer(rebasing: bytes[reason]))
        out.put(ByteClass.cr)
        out.put(ByteClass.lf)
        let listed = decidingHead.headers.connectionListed()
        guard let base = bytes.baseAddress else { return }
        var start = fieldsStart
        let end = headerBytes - 2
        while start < end {
            // Lines and names were checked by `scan`: each line ends in CRLF and has a colon.
            let cr = base.distance(to: UnsafeRawPointer(memchr(base + start, Int32(ByteClass.cr), end - start)!))
            let colon = base.distance(to: UnsafeRawPointer(memchr(base + start, Int32(ByteClass.colon), cr - start)!))
            defer { start = cr + 2 }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<colon])
            if HTTPHeaders.isFixedHopByHop(name) { continue }
            if droppingTransferEncoding && ByteClass.equalsLowercased(name, "transfer-encoding") { continue }
            if !listed.isEmpty, listed.contains(where: { ByteClass.equalsIgnoringCase(name, $0) }) { continue }
            var valueStart = colon + 1, valueEnd = cr
            while valueStart < valueEnd, bytes[valueStart] == ByteClass.sp || bytes[valueStart] == ByteClass.htab { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == ByteClass.sp || bytes[valueEnd - 1] == ByteClass.htab { valueEnd -= 1 }
            out.put(name)
            out.put(ByteClass.colon)
            out.put(ByteClass.sp)
            out.put(UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]))
            out.put(ByteClass.cr)
            out.put(ByteClass.lf)
        }
    }

    /// Offset of the CR of the CRLF ending the line that starts at `from`; nil when the line is
    /// not complete within `limit` bytes or holds a bare CR or LF.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, from: Int, limit: Int) -> Int? {
        let available = min(bytes.count - from, limit)
        guard available > 0, let hit = memchr(base + from, Int32(ByteClass.lf), available) else { return nil }
        let lf = base.distance(to: UnsafeRawPointer(hit))
        guard lf > from, bytes[lf - 1] == ByteClass.cr else { return nil }
        if memchr(base + from, Int32(ByteClass.cr), lf - 1 - from) != nil { return nil }
        return lf - 1
    }

    /// Connection, Content-Length and Transfer-Encoding, by length first.
    private static func decides(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 10: return ByteClass.equalsLowercased(name, "connection")
        case 14: return ByteClass.equalsLowercased(name, "content-length")
        case 17: return ByteClass.equalsLowercased(name, "transfer-encoding")
        default: return false
        }
    }
}
