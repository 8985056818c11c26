import COpenSSL

/// The SHA-256 chain: each line's `hash` covers the line's bytes before `,"hash":` — which
/// include `prev`, the hash of the line before it (across rotated files). Editing, deleting or
/// reordering any line breaks the chain at that line.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)
    static let hashMarker = Array(",\"hash\":\"".utf8)

    static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array(bytes)
        input.withUnsafeBufferPointer { p in _ = SHA256(p.baseAddress, p.count, &digest) }
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(64)
        for b in digest { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The full line (without newline) for a record body produced by AuditJSON.encode.
    static func seal(_ body: String) -> (line: String, hash: String) {
        let h = sha256Hex(Array(body.utf8))
        return (body + ",\"hash\":\"" + h + "\"}", h)
    }

    /// Splits a stored line into (covered bytes, claimed hash, prev), or nil if it is not sealed.
    static func unseal(_ line: [UInt8]) -> (covered: ArraySlice<UInt8>, hash: String, prev: String?)? {
        guard line.count > hashMarker.count + 66, line.last == UInt8(ascii: "}") else { return nil }
        let markerStart = line.count - 2 - 64 - hashMarker.count
        guard Array(line[markerStart..<(markerStart + hashMarker.count)]) == hashMarker,
              line[line.count - 2] == UInt8(ascii: "\"") else { return nil }
        let hash = String(decoding: line[(markerStart + hashMarker.count)..<(line.count - 2)], as: UTF8.self)
        let covered = line[0..<markerStart]
        // `prev` is the last field before the hash: ,"prev":"<64 hex>"
        let prevMarker = Array(",\"prev\":\"".utf8)
        var prev: String?
        let pStart = markerStart - 1 - 64 - prevMarker.count
        if pStart >= 0, Array(line[pStart..<(pStart + prevMarker.count)]) == prevMarker {
            prev = String(decoding: line[(pStart + prevMarker.count)..<(markerStart - 1)], as: UTF8.self)
        }
        return (covered, hash, prev)
    }
}
