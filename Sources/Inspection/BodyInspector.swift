import CustomsCore
import Foundation

/// Inspects one body, fed in arbitrary chunks. One per body; confined to one queue (not thread-safe).
///
/// Bytes go content-decoding → charset → the content type's parser → `RecordAssembler`. Parsing
/// memory is bounded by the scan window per value; the distinct normalised values found are held in
/// memory only while the inspector lives (for identity within the body), and only their HMAC keys
/// ever leave it.
public final class BodyInspector {
    private let configuration: InspectionConfiguration
    /// Taken from `InspectionStatePool` and given back when this inspector goes away.
    private let state: InspectionState
    private let assembler: RecordAssembler
    private var decoder: ContentDecoder?
    private var charset: CharsetDecoder?
    private var parser: BodyParser?
    private var failure: UninspectableError?
    private var partFailures: [String] = []
    private var finished = false
    private var decodedBytes = 0
    /// No content type: decided from the first bytes.
    private var sniffing = false
    private var sniffBuffer: [UInt8] = []

    public init(contentType: String?, contentEncoding: String?, configuration: InspectionConfiguration) {
        self.configuration = configuration
        state = InspectionStatePool.shared.take(configuration)
        assembler = state.assembler
        decoder = ContentDecoder(contentEncoding: contentEncoding, maxDecoded: configuration.maxDecodedBytes,
                                 maxRatio: configuration.maxInflateRatio)
        if decoder == nil {
            failure = UninspectableError("unsupported content-encoding '\(contentEncoding ?? "")'")
            return
        }
        // Blank means absent (checked by hand: Foundation's trimming costs more than a small body's inspection).
        guard let ct = contentType, ct.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) else {
            sniffing = true
            return
        }
        if let known = state.knownContentType(ct) {
            setUp(known.syntax, charset: known.charset)
            return
        }
        guard let media = MediaType(ct), let syntax = media.syntax else {
            failure = UninspectableError("content type '\(ct)' is not inspectable")
            return
        }
        state.rememberContentType(ct, syntax: syntax, charset: media.parameters["charset"])
        setUp(syntax, charset: media.parameters["charset"])
    }

    deinit { InspectionStatePool.shared.give(state) }

    private func setUp(_ syntax: MediaType.Syntax, charset name: String?) {
        do throws(UninspectableError) {
            if case .multipart = syntax { charset = CharsetDecoder(passingThrough: ()) } else { charset = try CharsetDecoder(charset: name) }
        } catch {
            failure = error
            return
        }
        // Only multipart bodies report failed parts; a weak reference to the inspector costs every
        // other body a side-table allocation.
        let partFailure: (String) -> Void
        if case .multipart = syntax {
            partFailure = { [weak self] reason in self?.partFailures.append(reason) }
        } else {
            partFailure = { _ in }
        }
        parser = state.parser(for: syntax, maxValueBytes: configuration.maxValueBytes)
            ?? Self.makeParser(syntax, assembler: assembler, configuration: configuration, partFailure: partFailure)
    }

    static func makeParser(_ syntax: MediaType.Syntax, assembler: RecordAssembler, configuration: InspectionConfiguration,
                           partFailure: @escaping (String) -> Void) -> BodyParser {
        let limit = configuration.maxValueBytes
        switch syntax {
        case .json: return JSONParser(assembler: assembler, lines: false, maxValueBytes: limit)
        case .ndjson: return JSONParser(assembler: assembler, lines: true, maxValueBytes: limit)
        // "text/csv" that is really tab-separated is common in exports: sniff the header line.
        case .csv: return DelimitedParser(assembler: assembler, delimiter: nil, maxValueBytes: limit)
        case .tsv: return DelimitedParser(assembler: assembler, delimiter: 0x09, maxValueBytes: limit)
        case .form: return FormParser(assembler: assembler, maxValueBytes: limit)
        case .text: return TextParser(assembler: assembler, maxValueBytes: limit)
        case .multipart(let boundary):
            return MultipartParser(boundary: boundary, assembler: assembler, configuration: configuration, partFailure: partFailure)
        }
    }

    public func feed(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !finished, bytes.count > 0 else { return }
        let input = bytes.bindMemory(to: UInt8.self)
        do throws(UninspectableError) {
            try decoder!.feed(input) { decoded throws(UninspectableError) in try afterDecoding(decoded) }
        } catch {
            fail(error)
        }
    }

    public func feed(_ bytes: [UInt8]) { bytes.withUnsafeBytes { feed($0) } }

    private func afterDecoding(_ decoded: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        decodedBytes += decoded.count
        if sniffing {
            sniffBuffer.append(contentsOf: decoded)
            if sniffBuffer.count < 512 { return }
            try endSniff()
            return
        }
        try charset!.feed(decoded) { utf8 throws(UninspectableError) in try parse(utf8) }
    }

    /// Decoded UTF-8 to the parser, telling the assembler whether the charset decoder checked it.
    private func parse(_ utf8: UnsafeBufferPointer<UInt8>) throws(UninspectableError) {
        assembler.inputValidated = charset!.outputValidated
        defer { assembler.inputValidated = false }
        try parser!.feed(utf8)
    }

    /// Without a content type: JSON if it looks like JSON (NDJSON if several lines do), else text.
    private func endSniff() throws(UninspectableError) {
        sniffing = false
        let first = sniffBuffer.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF })
        let syntax: MediaType.Syntax
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            let lines = sniffBuffer.split(separator: 0x0A).filter { $0.first == UInt8(ascii: "{") }
            syntax = lines.count > 1 ? .ndjson : .json
        } else {
            throw UninspectableError("no content type, and the body does not look like JSON")
        }
        setUp(syntax, charset: nil)
        if let failure { throw failure }
        let buffered = sniffBuffer
        sniffBuffer = []
        try buffered.withUnsafeBufferPointer { b throws(UninspectableError) in
            try charset!.feed(b) { utf8 throws(UninspectableError) in try parse(utf8) }
        }
    }

    private func fail(_ e: UninspectableError) {
        if failure == nil { failure = e }
    }

    public func finish() -> InspectionResult {
        if !finished {
            finished = true
            if failure == nil {
                do throws(UninspectableError) {
                    try decoder!.finish()
                    if sniffing {
                        if sniffBuffer.isEmpty { throw UninspectableError("empty body without a content type") }
                        try endSniff()
                    }
                    try charset!.finish { utf8 throws(UninspectableError) in try parse(utf8) }
                    try parser!.finish()
                } catch {
                    fail(error)
                }
            }
        }
        return partialResult()
    }

    /// Subjects found so far (for verdicts mid-body). Keys may still merge as more of the body arrives.
    private static let kindTags = Dictionary(uniqueKeysWithValues: KindSet.all.map { ($0, Int($0.tag)) })

    /// The two categories, numbered: a body's counts are mapped from it (`mapValues` keeps the
    /// table's layout), so no `Category` name is hashed per body.
    private static let categorySlots: [Category: Int] = [.pi: 0, .sensitive: 1]

    public func partialResult() -> InspectionResult {
        let (subjects, minors) = assembler.table.snapshot(sensitivity: configuration.sensitivity)
        // Every kind, mapped from a table of kind → tag: `mapValues` keeps the table's layout, so no
        // kind (a String-backed enum) is hashed per body.
        let counted = assembler.table.values.countedPerKind
        let kinds = Self.kindTags.mapValues { tag in tag == Int(DetectorKind.minor.tag) ? minors : counted[tag] }
        // Counted, not filtered: a filtered copy would retain every sensitive subject's kind set.
        let sensitive = subjects.reduce(0) { $0 + ($1.isSensitive ? 1 : 0) }
        var reason = failure?.description
        if reason == nil && !partFailures.isEmpty { reason = partFailures.joined(separator: "; ") }
        var result = InspectionResult(
            records: assembler.records, subjects: subjects, kindCounts: kinds, minors: minors, bytes: decodedBytes,
            uninspectable: reason,
            categoryCounts: Self.categorySlots.mapValues { $0 == 0 ? subjects.count : sensitive })
        if configuration.reportValueKeys { result.valueKeys = assembler.table.values.countedSubjectKeys() }
        return result
    }
}
