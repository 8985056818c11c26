/// One `name: value` line (RFC 9112 §5), CRLF already removed and bare CR already refused.
/// Returns the name and the value with surrounding whitespace trimmed.
func parseFieldLine(_ line: UnsafeRawBufferPointer) throws(WireError) -> (name: String, value: String) {
    guard let first = line.first else { throw .malformed("empty header field line") }
    if first == ByteClass.sp || first == ByteClass.htab { throw .malformed("obsolete line folding") }
    var i = 0
    while i < line.count, ByteClass.isToken(line[i]) { i += 1 }
    guard i < line.count, line[i] == ByteClass.colon else {
        if i < line.count, line[i] == ByteClass.sp || line[i] == ByteClass.htab {
            throw .malformed("whitespace before colon in header field")
        }
        throw .malformed("invalid header field name")
    }
    guard i > 0 else { throw .malformed("empty header field name") }
    let nameEnd = i
    i += 1
    var end = line.count
    while i < end, line[i] == ByteClass.sp || line[i] == ByteClass.htab { i += 1 }
    while end > i, line[end - 1] == ByteClass.sp || line[end - 1] == ByteClass.htab { end -= 1 }
    let value = UnsafeRawBufferPointer(rebasing: line[i..<end])
    let table = ByteClass.fieldValue
    for b in value where !table[Int(b)] { throw .malformed("control character in header field value") }
    return (String(wire: UnsafeRawBufferPointer(rebasing: line[0..<nameEnd])), String(wire: value))
}
