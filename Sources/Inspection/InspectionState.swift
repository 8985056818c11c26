import Foundation

/// The working state of one body: the assembler (value and subject tables, scopes, field-name
/// roles) and the JSON and form parsers (with their member-name tables). A gateway inspects many
/// small bodies, and building this state cost more than inspecting a form, so it is reset and
/// reused by the next body of the same configuration instead of rebuilt (`InspectionStatePool`).
final class InspectionState {
    struct Key: Equatable {
        var secret: [UInt8]
        var flowDate: Int
        var maxValueBytes: Int
    }

    let assembler: RecordAssembler
    /// nil: a configuration with its own field names, never reused.
    let key: Key?
    private var json: JSONParser?
    private var ndjson: JSONParser?
    private var form: FormParser?
    /// The last content types this state's bodies had, as read, the latest first: clients send a
    /// few types over and over (an API's JSON beside its CSV exports and forms), and parsing one
    /// (strings, a dictionary) costs more than a small body's tables.
    private var contentTypes: [(header: String, syntax: MediaType.Syntax, charset: String?)] = []
    static let contentTypesKept = 4

    /// The syntax and charset of content type `header` when one of the last few.
    func knownContentType(_ header: String) -> (syntax: MediaType.Syntax, charset: String?)? {
        for i in contentTypes.indices where contentTypes[i].header == header {
            return (contentTypes[i].syntax, contentTypes[i].charset)
        }
        return nil
    }

    func rememberContentType(_ header: String, syntax: MediaType.Syntax, charset: String?) {
        if contentTypes.count == Self.contentTypesKept { contentTypes.removeLast() }
        contentTypes.insert((header, syntax, charset), at: 0)
    }

    init(configuration: InspectionConfiguration, key: Key?) {
        assembler = RecordAssembler(configuration: configuration)
        self.key = key
    }

    /// The reusable parser for `syntax` (JSON, NDJSON, form), nil for the others (they are built per body).
    func parser(for syntax: MediaType.Syntax, maxValueBytes: Int) -> BodyParser? {
        switch syntax {
        case .json:
            if json == nil { json = JSONParser(assembler: assembler, lines: false, maxValueBytes: maxValueBytes) }
            return json
        case .ndjson:
            if ndjson == nil { ndjson = JSONParser(assembler: assembler, lines: true, maxValueBytes: maxValueBytes) }
            return ndjson
        case .form:
            if form == nil { form = FormParser(assembler: assembler, maxValueBytes: maxValueBytes) }
            return form
        default:
            return nil
        }
    }

    func reset() {
        assembler.reset()
        json?.reset()
        ndjson?.reset()
        form?.reset()
    }

    /// Bytes the value and subject tables hold: a state a huge body has grown is not kept.
    var footprint: Int { assembler.table.footprint + assembler.memoFootprint }
}

/// States of finished bodies, ready for the next ones. Bounded: at most `capacity` states, none
/// holding more than `maxFootprint` bytes of tables.
final class InspectionStatePool: @unchecked Sendable {  // `free` is only touched under `lock`
    static let shared = InspectionStatePool()
    private let lock = NSLock()
    private var free: [InspectionState] = []
    private let capacity = 16
    private let maxFootprint = 1 << 20

    /// A reset state for a body under `configuration` (a new one when none fits).
    func take(_ configuration: InspectionConfiguration) -> InspectionState {
        // Extra field names change roles, which the parsers' name tables keep: such states are not shared.
        guard configuration.extraFieldNames.isEmpty else { return InspectionState(configuration: configuration, key: nil) }
        let key = InspectionState.Key(secret: configuration.secret, flowDate: RecordAssembler.civilYMD(configuration.now),
                                      maxValueBytes: configuration.maxValueBytes)
        lock.lock()
        let i = free.lastIndex { $0.key == key }
        let state = i.map { free.remove(at: $0) }
        lock.unlock()
        return state ?? InspectionState(configuration: configuration, key: key)
    }

    /// Gives back the state of a body that is done with it.
    func give(_ state: InspectionState) {
        guard state.key != nil, state.footprint <= maxFootprint else { return }
        state.reset()
        lock.lock(); defer { lock.unlock() }
        if free.count == capacity { free.removeFirst() }
        free.append(state)
    }
}
