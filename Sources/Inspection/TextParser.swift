/// Plain text: every non-empty line is a record (a note, a ticket, a log line).
final class TextParser: BodyParser {
    private let assembler: RecordAssembler
    private var line: ValueBuffer
    private var names: TextNames

    init(assembler: RecordAssembler, maxValueBytes: Int) {
        self.assembler = assembler
        self.line = ValueBuffer(limit: maxValueBytes)
        self.names = TextNames()
        assembler.table.nameOnlyJoinsNamed = true
        assembler.table.nameLinks = true
    }

    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        var i = 0
        let n = bytes.count
        while i < n {
            var j = i
            while j < n && bytes[j] != 0x0A { j += 1 }
            line.append(UnsafeBufferPointer(rebasing: bytes[i..<j])) { chunk in assembler.value(baseRole: nil, chunk) }
            if j < n { endLine() }
            i = j + 1
        }
    }

    func finish() throws(UninspectableError) {
        endLine()
        assembler.endDocument()
    }

    private func endLine() {
        let blank = line.bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if blank { line.removeAll(); return }
        assembler.beginRecord()
        line.take { v in names.people(in: v, assembler: assembler) }
        assembler.endRecord()
    }
}
