/// Header names told apart by their bytes: Foundation's case-insensitive compare cost more than
/// the rest of planning a flow.
enum HeaderNames {
    /// Whether `name` is `lowercased` (ASCII letters compared without case). `lowercased` must be
    /// lower-case ASCII.
    @inline(__always)
    static func matches(_ name: String, _ lowercased: StaticString) -> Bool {
        guard name.utf8.count == lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { want in
            var i = 0
            for c in name.utf8 {
                let lower = c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c
                if lower != want[i] { return false }
                i += 1
            }
            return true
        }
    }
}
