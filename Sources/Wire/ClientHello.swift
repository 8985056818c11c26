/// What a TLS ClientHello says about where the client wants to go (RFC 8446 §4.1.2, RFC 6066 §3,
/// RFC 7301).
public struct ClientHello: Sendable, Equatable {
    /// The SNI host_name, lowercased; nil when the client sent none.
    public var serverName: String?
    /// ALPN protocol names in the client's order (empty when no ALPN extension).
    public var alpn: [String]
    /// The supported_versions extension as sent, GREASE values included (empty when absent,
    /// which means TLS 1.2 or older).
    public var supportedVersions: [UInt16]
    /// legacy_version from the ClientHello body (0x0303 for TLS 1.2 and 1.3).
    public var legacyVersion: UInt16

    public init(serverName: String? = nil, alpn: [String] = [], supportedVersions: [UInt16] = [], legacyVersion: UInt16 = 0x0303) {
        self.serverName = serverName
        self.alpn = alpn
        self.supportedVersions = supportedVersions
        self.legacyVersion = legacyVersion
    }
}

public enum ClientHelloResult: Sendable, Equatable {
    /// The bytes so far are a plausible start of a ClientHello; read more and call again.
    case needMore
    /// The first bytes are not a TLS handshake record.
    case notTLS
    /// TLS, but not a well-formed ClientHello (the reason never echoes the bytes).
    case malformed(String)
    case hello(ClientHello)
}

/// The largest ClientHello accepted; real ones are under 2 KiB, post-quantum key shares bring
/// them near 2–3 KiB, and this bound keeps a peek buffer small.
public let maxClientHelloBytes = 65536

/// Peeks at the start of a connection: parses the ClientHello that `buf` begins with, even when
/// the handshake message is spread over several TLS records. Consumes nothing.
public func parseClientHello(_ buf: UnsafeRawBufferPointer) -> ClientHelloResult {
    guard !buf.isEmpty else { return .needMore }
    guard buf[0] == 0x16 else { return .notTLS }
    if buf.count >= 2 && buf[1] != 3 { return .notTLS }
    if buf.count >= 3 && buf[2] > 4 { return .notTLS }

    var records = RecordReader(buf)
    // Fast path: the whole handshake message sits in the first record, so it is parsed in place.
    switch records.next() {
    case .needMore: return .needMore
    case .malformed(let why): return .malformed(why)
    case .fragment(let first):
        if first.count >= 4 {
            let length = Int(first[1]) << 16 | Int(first[2]) << 8 | Int(first[3])
            if first.count >= 4 + length { return parseHandshake(first) }
        }
        var message = Array(first)
        while true {
            if message.count >= 4 {
                let length = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
                if message[0] != 1 { return .malformed("first handshake message is not a ClientHello") }
                if length > maxClientHelloBytes { return .malformed("ClientHello too large") }
                if message.count >= 4 + length {
                    return message.withUnsafeBytes { parseHandshake($0) }
                }
            }
            switch records.next() {
            case .needMore: return .needMore
            case .malformed(let why): return .malformed(why)
            case .fragment(let more): message.append(contentsOf: more)
            }
        }
    }
}

/// Walks TLS plaintext records (RFC 8446 §5.1), yielding handshake fragments.
private struct RecordReader {
    enum Step { case needMore, malformed(String), fragment(UnsafeRawBufferPointer) }

    let buf: UnsafeRawBufferPointer
    var offset = 0

    init(_ buf: UnsafeRawBufferPointer) { self.buf = buf }

    mutating func next() -> Step {
        guard buf.count - offset >= 5 else { return .needMore }
        guard buf[offset] == 0x16 else { return .malformed("record other than handshake before the ClientHello ended") }
        guard buf[offset + 1] == 3 else { return .malformed("invalid record version") }
        let length = Int(buf[offset + 3]) << 8 | Int(buf[offset + 4])
        guard length > 0 else { return .malformed("empty handshake record") }
        guard length <= 16384 else { return .malformed("record too long") }
        guard buf.count - offset - 5 >= length else { return .needMore }
        let start = offset + 5
        offset = start + length
        return .fragment(UnsafeRawBufferPointer(rebasing: buf[start..<offset]))
    }
}

private struct HelloSyntaxError: Error { let reason: String }

/// A bounds-checked cursor over a handshake message.
private struct ByteReader {
    let buf: UnsafeRawBufferPointer
    var offset = 0

    var remaining: Int { buf.count - offset }

    mutating func u8() throws(HelloSyntaxError) -> Int {
        guard remaining >= 1 else { throw HelloSyntaxError(reason: "truncated ClientHello") }
        defer { offset += 1 }
        return Int(buf[offset])
    }

    mutating func u16() throws(HelloSyntaxError) -> Int {
        guard remaining >= 2 else { throw HelloSyntaxError(reason: "truncated ClientHello") }
        defer { offset += 2 }
        return Int(buf[offset]) << 8 | Int(buf[offset + 1])
    }

    mutating func bytes(_ n: Int) throws(HelloSyntaxError) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw HelloSyntaxError(reason: "length field overruns the ClientHello") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buf[offset..<(offset + n)])
    }

    /// A sub-reader over a vector with a `lengthBytes`-byte length prefix.
    mutating func vector(lengthBytes: Int) throws(HelloSyntaxError) -> ByteReader {
        let n = lengthBytes == 1 ? try u8() : try u16()
        return ByteReader(buf: try bytes(n))
    }
}

private func parseHandshake(_ message: UnsafeRawBufferPointer) -> ClientHelloResult {
    guard message[0] == 1 else { return .malformed("first handshake message is not a ClientHello") }
    let length = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
    guard length <= maxClientHelloBytes else { return .malformed("ClientHello too large") }
    do {
        return .hello(try parseHelloBody(UnsafeRawBufferPointer(rebasing: message[4..<(4 + length)])))
    } catch {
        return .malformed(error.reason)
    }
}

private func parseHelloBody(_ body: UnsafeRawBufferPointer) throws(HelloSyntaxError) -> ClientHello {
    var r = ByteReader(buf: body)
    var hello = ClientHello()
    hello.legacyVersion = UInt16(try r.u16())
    _ = try r.bytes(32)                                     // random
    let sessionID = try r.vector(lengthBytes: 1)
    guard sessionID.buf.count <= 32 else { throw HelloSyntaxError(reason: "session id too long") }
    let suites = try r.vector(lengthBytes: 2)
    guard suites.buf.count >= 2, suites.buf.count % 2 == 0 else { throw HelloSyntaxError(reason: "invalid cipher suite list") }
    let compression = try r.vector(lengthBytes: 1)
    guard compression.buf.count >= 1 else { throw HelloSyntaxError(reason: "empty compression method list") }
    if r.remaining == 0 { return hello }                  // SSL 3.0-style hello without extensions

    var extensions = try r.vector(lengthBytes: 2)
    guard r.remaining == 0 else { throw HelloSyntaxError(reason: "bytes after the extensions") }
    var seen = Set<Int>()
    while extensions.remaining > 0 {
        let type = try extensions.u16()
        var data = try extensions.vector(lengthBytes: 2)
        guard seen.insert(type).inserted else { throw HelloSyntaxError(reason: "duplicate extension") }
        switch type {
        case 0: hello.serverName = try parseServerName(&data)
        case 16: hello.alpn = try parseALPN(&data)
        case 43: hello.supportedVersions = try parseSupportedVersions(&data)
        default: continue
        }
        guard data.remaining == 0 else { throw HelloSyntaxError(reason: "bytes after an extension's body") }
    }
    return hello
}

private func parseServerName(_ data: inout ByteReader) throws(HelloSyntaxError) -> String? {
    var list = try data.vector(lengthBytes: 2)
    guard list.remaining > 0 else { throw HelloSyntaxError(reason: "empty server name list") }
    var name: String?
    while list.remaining > 0 {
        let nameType = try list.u8()
        let value = try list.vector(lengthBytes: 2).buf
        guard nameType == 0 else { continue }
        guard name == nil else { throw HelloSyntaxError(reason: "more than one host name in SNI") }
        guard value.count >= 1, value.count <= 255, value.last != UInt8(ascii: "."),
              value.allSatisfy(isHostNameByte) else {
            throw HelloSyntaxError(reason: "invalid host name in SNI")
        }
        name = String(decoding: value, as: UTF8.self).lowercased()
    }
    return name
}

private func isHostNameByte(_ b: UInt8) -> Bool {
    ByteClass.lower(b) &- 0x61 < 26 || ByteClass.isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
}

private func parseALPN(_ data: inout ByteReader) throws(HelloSyntaxError) -> [String] {
    var list = try data.vector(lengthBytes: 2)
    guard list.remaining > 0 else { throw HelloSyntaxError(reason: "empty ALPN list") }
    var protocols: [String] = []
    while list.remaining > 0 {
        let name = try list.vector(lengthBytes: 1).buf
        guard !name.isEmpty else { throw HelloSyntaxError(reason: "empty ALPN protocol name") }
        protocols.append(String(decoding: name, as: UTF8.self))
    }
    return protocols
}

private func parseSupportedVersions(_ data: inout ByteReader) throws(HelloSyntaxError) -> [UInt16] {
    var list = try data.vector(lengthBytes: 1)
    guard list.remaining >= 2, list.remaining % 2 == 0 else { throw HelloSyntaxError(reason: "invalid supported_versions") }
    var versions: [UInt16] = []
    while list.remaining > 0 { versions.append(UInt16(try list.u16())) }
    return versions
}
