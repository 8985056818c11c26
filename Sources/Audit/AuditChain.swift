import COpenSSL

/// The SHA-256 chain: each line's `hash` covers the line's bytes before `,"hash":` — which
/// include `prev`, the hash of the line before it (across rotated files). Editing, deleting or
/// reordering any line breaks the chain at that line.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)
    static let hashMarker = Array(",\"hash\":\"".utf8)

    static func sha256Hex(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        return String(decoding: input.withUnsafeBufferPointer { hexDigest($0) }, as: UTF8.self)
    }

    private static func hexDigest(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(input.baseAddress, input.count, &digest)
        var out = [UInt8](); out.reserveCapacity(64)
        func digit(_ d: UInt8) -> UInt8 { d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10 }
        for b in digest { out.append(digit(b >> 4)); out.append(digit(b & 15)) }
        return out
    }

    /// Seals the record body that `AuditJSON.encode` appended to `bytes` at `start`: appends
    /// `,"hash":"<hex>"}` (no newline) and returns the hash, hashing the bytes where they lie.
    static func seal(_ bytes: inout [UInt8], bodyFrom start: Int) -> String {
        let hex = bytes.withUnsafeBufferPointer { hexDigest(UnsafeBufferPointer(rebasing: $0[start...])) }
        bytes.append(contentsOf: hashMarker)
        bytes.append(contentsOf: hex)
        bytes.append(contentsOf: "\"}".utf8)
        return String(decoding: hex, as: UTF8.self)
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
