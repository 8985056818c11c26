#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GB18030's two-byte codes (GBK: all of the Chinese text in practice) → UTF-8 by table, the table
/// filled once per process by iconv itself, so reading a code here gives exactly what iconv gives.
/// iconv reads GB18030 at some 20 instructions a byte (through UCS-4), ASCII included.
enum GB18030Pairs {
    /// Per code, at `index(lead, trail)`: its UTF-8 bytes packed low first, their count in the top
    /// byte; 0 where iconv does not read the two bytes as one character of at most three bytes
    /// (trail 0x7F or 0xFF, or a code iconv rejects), which the decoder leaves to iconv.
    static let table: [UInt32] = build()

    /// Leads 0x81–0xFE, trails 0x40–0xFF.
    @inline(__always) static func index(lead: UInt8, trail: UInt8) -> Int {
        (Int(lead) &- 0x81) &* 192 &+ (Int(trail) &- 0x40)
    }

    private static func build() -> [UInt32] {
        var table = [UInt32](repeating: 0, count: 126 * 192)
        let cd = iconv_open("UTF-8", "GB18030")
        guard cd != iconv_t(bitPattern: -1) else { return table }
        defer { iconv_close(cd) }
        let trails = (UInt8(0x40)...0xFE).filter { $0 != 0x7F }
        var codes: [UInt8] = []
        codes.reserveCapacity(126 * trails.count * 2)
        for lead in UInt8(0x81)...0xFE { for t in trails { codes.append(lead); codes.append(t) } }
        // All codes in one call; if that does not give one character per code, code by code.
        if let chars = characters(cd, codes), chars.count == codes.count / 2 {
            for (k, c) in chars.enumerated() { table[index(lead: codes[2 * k], trail: codes[2 * k + 1])] = c }
            return table
        }
        for k in stride(from: 0, to: codes.count, by: 2) {
            if let chars = characters(cd, [codes[k], codes[k + 1]]), chars.count == 1 {
                table[index(lead: codes[k], trail: codes[k + 1])] = chars[0]
            }
        }
        return table
    }

    /// `input` converted whole, as packed characters (0 for one longer than three bytes), or nil if
    /// iconv rejects any of it.
    private static func characters(_ cd: iconv_t?, _ input: [UInt8]) -> [UInt32]? {
        _ = iconv(cd, nil, nil, nil, nil)
        var output = [UInt8](repeating: 0, count: input.count * 4)
        let produced: Int? = input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: i.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var inLeft = i.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(o.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var outLeft = o.count
                let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                return rc == -1 || inLeft != 0 ? nil : o.count - outLeft
            }
        }
        guard let produced else { return nil }
        var chars: [UInt32] = []
        chars.reserveCapacity(input.count / 2)
        var k = 0
        while k < produced {
            let b = output[k]
            let count = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            guard k + count <= produced else { return nil }
            var packed = UInt32(count) << 24
            if count <= 3 { for m in 0..<count { packed |= UInt32(output[k + m]) << (8 * m) } } else { packed = 0 }
            chars.append(packed)
            k += count
        }
        return chars
    }
}
