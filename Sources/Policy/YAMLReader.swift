import Foundation
import Yams

/// Collects problems for one file so a loader can report all of them instead of the first.
final class ProblemSink {
    let file: String
    private(set) var problems: [PolicyProblem] = []

    init(file: String) { self.file = file }

    func add(_ node: Node?, _ message: String) {
        let mark = node?.mark
        add(line: mark?.line ?? 1, column: mark?.column ?? 1, message)
    }

    func add(line: Int, column: Int, _ message: String) {
        problems.append(PolicyProblem(file: file, line: line, column: column, message: message))
    }

    /// Parses `text`; YAML syntax errors become problems at the scanner's position.
    func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                 .composer(_, let problem, let mark, _):
                add(line: mark.line, column: mark.column, "YAML syntax: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                add(line: context.mark.line, column: context.mark.column,
                    "duplicate key(s) \(duplicates.joined(separator: ", "))")
            default:
                add(line: 1, column: 1, "YAML: \(error)")
            }
        } catch {
            add(line: 1, column: 1, "YAML: \(error)")
        }
        return nil
    }
}

/// Reads one YAML mapping, remembering which keys were asked for so the rest are reported unknown.
struct MapReader {
    let node: Node
    let sink: ProblemSink
    let what: String
    private var pairs: [(key: String, keyNode: Node, value: Node)] = []
    private var asked: Set<String> = []

    /// nil (and a problem) when `node` is not a mapping.
    init?(_ node: Node, _ sink: ProblemSink, what: String) {
        self.node = node; self.sink = sink; self.what = what
        guard case .mapping(let m) = node else {
            sink.add(node, "\(what) must be a mapping")
            return nil
        }
        for (k, v) in m {
            guard let key = k.scalarString else { sink.add(k, "keys must be plain strings"); continue }
            pairs.append((key, k, v))
        }
    }

    var keys: [String] { pairs.map(\.key) }

    mutating func value(_ key: String) -> Node? {
        asked.insert(key)
        return pairs.first { $0.key == key }?.value
    }

    func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    func keyNode(_ key: String) -> Node? { pairs.first { $0.key == key }?.keyNode }

    /// Reports every key nobody asked for.
    func finish() {
        for p in pairs where !asked.contains(p.key) {
            let known = asked.sorted().joined(separator: ", ")
            sink.add(p.keyNode, "unknown key '\(p.key)' in \(what) (known: \(known))")
        }
    }

    mutating func required(_ key: String) -> Node? {
        guard let v = value(key) else {
            sink.add(node, "\(what) is missing required key '\(key)'")
            return nil
        }
        return v
    }

    mutating func string(_ key: String, required req: Bool = false) -> String? {
        guard let v = req ? required(key) : value(key) else { return nil }
        return v.asString(sink, "'\(key)'")
    }

    mutating func int(_ key: String, required req: Bool = false) -> Int? {
        guard let v = req ? required(key) : value(key) else { return nil }
        return v.asInt(sink, "'\(key)'")
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        return v.asBool(sink, "'\(key)'")
    }

    mutating func strings(_ key: String, required req: Bool = false) -> [(String, Node)]? {
        guard let v = req ? required(key) : value(key) else { return nil }
        return v.asStrings(sink, "'\(key)'")
    }

    /// A value from a closed set of words, reported with the allowed ones when wrong.
    mutating func word<T: RawRepresentable>(_ key: String, _ type: T.Type, allowed: [T]) -> T? where T.RawValue == String {
        guard let v = value(key), let s = v.asString(sink, "'\(key)'") else { return nil }
        guard let t = T(rawValue: s) else {
            sink.add(v, "'\(key)' must be one of \(allowed.map(\.rawValue).joined(separator: ", ")), not '\(s)'")
            return nil
        }
        return t
    }

    mutating func date(_ key: String, required req: Bool = false) -> PolicyDate? {
        guard let v = req ? required(key) : value(key) else { return nil }
        return v.asDate(sink, "'\(key)'")
    }
}

extension Node {
    /// The text of a scalar as written (dates and numbers included), nil for collections.
    var scalarString: String? {
        if case .scalar(let s) = self { return s.string }
        return nil
    }

    var isNull: Bool {
        if case .scalar(let s) = self { return s.tag.description == "tag:yaml.org,2002:null" || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) }
        return false
    }

    func asString(_ sink: ProblemSink, _ what: String) -> String? {
        guard case .scalar(let s) = self, !isNull else {
            sink.add(self, "\(what) must be a string")
            return nil
        }
        return s.string
    }

    func asInt(_ sink: ProblemSink, _ what: String) -> Int? {
        guard case .scalar(let s) = self else { sink.add(self, "\(what) must be an integer"); return nil }
        let text = s.string.replacingOccurrences(of: "_", with: "")
        guard let i = Int(text) else { sink.add(self, "\(what) must be an integer, not '\(s.string)'"); return nil }
        return i
    }

    func asBool(_ sink: ProblemSink, _ what: String) -> Bool? {
        guard case .scalar(let s) = self else { sink.add(self, "\(what) must be true or false"); return nil }
        switch s.string {
        case "true", "True", "TRUE", "yes": return true
        case "false", "False", "FALSE", "no": return false
        default: sink.add(self, "\(what) must be true or false, not '\(s.string)'"); return nil
        }
    }

    /// A sequence of strings; a single string is accepted as a one-element list.
    func asStrings(_ sink: ProblemSink, _ what: String) -> [(String, Node)]? {
        switch self {
        case .scalar:
            guard let s = asString(sink, what) else { return nil }
            return [(s, self)]
        case .sequence(let seq):
            var out: [(String, Node)] = []
            for item in seq {
                if let s = item.asString(sink, "each item of \(what)") { out.append((s, item)) }
            }
            return out
        default:
            sink.add(self, "\(what) must be a list of strings")
            return nil
        }
    }

    func asSequence(_ sink: ProblemSink, _ what: String) -> [Node]? {
        if case .sequence(let seq) = self { return Array(seq) }
        sink.add(self, "\(what) must be a list")
        return nil
    }

    func asDate(_ sink: ProblemSink, _ what: String) -> PolicyDate? {
        guard let s = asString(sink, what) else { return nil }
        guard let d = PolicyDate(s) else {
            sink.add(self, "\(what) is not a date (YYYY-MM-DD): '\(s)'")
            return nil
        }
        return d
    }
}
