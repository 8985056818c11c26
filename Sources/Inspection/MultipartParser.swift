/// multipart/form-data: each part by its own type. Plain fields of the form together are one
/// record (like a urlencoded form); typed parts (JSON, CSV, …) are parsed by their own parser.
final class MultipartParser: BodyParser {
    private enum State { case preamble, headers, body, done }
    /// A part's header block longer than this is not a form's: the body is uninspectable.
    static let headerLimit = 16_384

    private let delimiter: [UInt8]
    private let assembler: RecordAssembler
    private let configuration: InspectionConfiguration
    private let partFailure: (String) -> Void
    private var state: State = .preamble
    private var pending: [UInt8] = [0x0D, 0x0A]  // the first delimiter has no CRLF before it
    private var headerBytes: [UInt8] = []
    private var fieldName: Substring?
    private var field: ValueBuffer
    private var sub: BodyParser?
    private var subCharset: CharsetDecoder?
    /// The part's transfer coding (nil: as written), and its output for the chunk at hand.
    private var transfer: TransferDecoder?
    private var transferred: [UInt8] = []
    private var skipping = false
    private var formOpen = false

    init(boundary: String, assembler: RecordAssembler, configuration: InspectionConfiguration, partFailure: @escaping (String) -> Void) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.assembler = assembler
        self.configuration = configuration
        self.partFailure = partFailure
        field = ValueBuffer(limit: configuration.maxValueBytes)
    }

    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        pending.append(contentsOf: bytes)
        var start = 0
        defer { pending.removeFirst(start) }
        while true {
            switch state {
            case .done: start = pending.count; return
            case .preamble, .body:
                if let at = find(delimiter, from: start) {
                    // Between parts (as in the preamble) until the delimiter's next two bytes come.
                    if state == .body { try partData(start, at); try endPart(); state = .preamble }
                    // Need the two bytes after the delimiter: "--" ends, CRLF starts a part.
                    guard at + delimiter.count + 2 <= pending.count else { start = at; return }
                    let a = pending[at + delimiter.count], b = pending[at + delimiter.count + 1]
                    if a == 0x2D && b == 0x2D { state = .done; start = pending.count; try endForm(); return }
                    start = at + delimiter.count
                    if a == 0x0D && b == 0x0A { start += 2 }
                    state = .headers
                    headerBytes.removeAll()
                } else {
                    let safe = max(start, pending.count - delimiter.count - 1)
                    if state == .body { try partData(start, safe) }
                    start = safe
                    return
                }
            case .headers:
                let end: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
                if let at = find(end, from: start) {
                    headerBytes.append(contentsOf: pending[start..<at])
                    // The same bound whether the blank line came in this chunk or a later one.
                    if headerBytes.count > Self.headerLimit { throw UninspectableError("multipart part headers too long") }
                    start = at + 4
                    try beginPart()
                    state = .body
                } else {
                    // Keep the last three bytes: the blank line may be split between chunks.
                    let safe = max(start, pending.count - 3)
                    headerBytes.append(contentsOf: pending[start..<safe])
                    if headerBytes.count > Self.headerLimit { throw UninspectableError("multipart part headers too long") }
                    start = safe
                    return
                }
            }
        }
    }

    func finish() throws(UninspectableError) {
        if state != .done { throw UninspectableError("multipart body ends before its closing boundary") }
        assembler.endDocument()
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        let n = pending.count, m = needle.count
        guard n - from >= m else { return nil }
        var i = from
        let first = needle[0]
        while i <= n - m {
            if pending[i] == first {
                var k = 1
                while k < m && pending[i + k] == needle[k] { k += 1 }
                if k == m { return i }
            }
            i += 1
        }
        return nil
    }

    private func beginPart() throws(UninspectableError) {
        let text = String(decoding: headerBytes, as: UTF8.self)
        var name: String?
        var contentType: String?
        var filename: String?
        var transferCoding: String?
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let h = line[..<colon].lowercased()
            let v = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            if h == "content-type" { contentType = v }
            if h == "content-transfer-encoding" { transferCoding = v }
            if h == "content-disposition" {
                let params = MediaType(v)?.parameters ?? [:]
                name = params["name"]; filename = params["filename"]
            }
        }
        skipping = false
        sub = nil
        subCharset = nil
        fieldName = name.map { Substring($0) }
        // A part's name and file name go out with it (`身份证_110105….jpg`): read as the form's values.
        for label in [name, filename] {
            guard var label else { continue }
            label.withUTF8 { if ValueScanner.mayHoldIdentifier($0) { fieldValue(nil, $0) } }
        }
        do throws(UninspectableError) {
            transfer = try TransferDecoder(header: transferCoding)
        } catch {
            partFailure("multipart part '\(name ?? "?")': \(error.reason)")
            skipping = true
            return
        }
        guard let contentType, let media = MediaType(contentType) else {
            if filename == nil { return }  // a plain form field
            partFailure("multipart part '\(name ?? "?")' (file \(filename!)) has no type")
            skipping = true
            return
        }
        if media.type == "text/plain" && filename == nil { return }
        guard let syntax = media.syntax else {
            partFailure("multipart part '\(name ?? "?")' of type \(media.type) is not inspectable")
            skipping = true
            return
        }
        if case .multipart = syntax {
            partFailure("nested multipart part '\(name ?? "?")' is not inspectable")
            skipping = true
            return
        }
        // A typed part holds its own records: the form's fields so far are one record.
        try endForm()
        subCharset = try CharsetDecoder(charset: media.parameters["charset"])
        sub = BodyInspector.makeParser(syntax, assembler: assembler, configuration: configuration, partFailure: partFailure)
    }

    private func partData(_ s: Int, _ e: Int) throws(UninspectableError) {
        guard e > s, !skipping else { return }
        try pending.withUnsafeBufferPointer { p throws(UninspectableError) in
            let chunk = UnsafeBufferPointer(rebasing: p[s..<e])
            guard transfer != nil else { try partBytes(chunk); return }
            transferred.removeAll(keepingCapacity: true)
            do throws(UninspectableError) {
                try transfer!.decode(chunk, into: &transferred)
            } catch {
                partFailure("multipart part '\(fieldName ?? "?")': \(error.reason)")
                skipping = true
                return
            }
            try transferred.withUnsafeBufferPointer { d throws(UninspectableError) in try partBytes(d) }
        }
    }

    /// A part's bytes with any transfer coding undone.
    private func partBytes(_ chunk: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        if let sub, let subCharset {
            try subCharset.feed(chunk) { u throws(UninspectableError) in try sub.feed(u) }
        } else {
            let key = fieldName
            field.append(chunk) { c in self.fieldValue(key, c) }
        }
    }

    private func fieldValue(_ key: Substring?, _ v: UnsafeBufferPointer<UInt8>) {
        if !formOpen { assembler.beginRecord(); assembler.openScope(key: nil); formOpen = true }
        assembler.value(key: key, v)
    }

    private func endPart() throws(UninspectableError) {
        if !skipping, transfer != nil {
            transferred.removeAll(keepingCapacity: true)
            do throws(UninspectableError) {
                try transfer!.finish(into: &transferred)
                try transferred.withUnsafeBufferPointer { d throws(UninspectableError) in if !d.isEmpty { try partBytes(d) } }
            } catch {
                partFailure("multipart part '\(fieldName ?? "?")': \(error.reason)")
                skipping = true
            }
        }
        transfer = nil
        if let sub, let subCharset {
            // A typed part whose transfer coding broke is not finished: its failure is reported.
            if !skipping {
                do throws(UninspectableError) {
                    try subCharset.finish { u throws(UninspectableError) in try sub.feed(u) }
                    try sub.finish()
                } catch {
                    partFailure("multipart part '\(fieldName ?? "?")': \(error)")
                }
            }
        } else if !skipping || !field.isEmpty {
            // A plain field, or what of it was decoded before its transfer coding broke.
            let key = fieldName
            field.take { v in fieldValue(key, v) }
        }
        sub = nil; subCharset = nil; skipping = false
    }

    private func endForm() throws(UninspectableError) {
        if formOpen { assembler.closeScope(); assembler.endRecord(); formOpen = false }
    }
}
