/// Reads back the lines `AuditJSON.encode` writes, without Foundation's JSON: `review` and
/// `--verify` read every record of a day, and through `JSONSerialization` (a dictionary of `Any`
/// per line, a dynamic cast per field) that was most of their time.
///
/// It understands the record's own shape only: the known keys, strings, integers, arrays of
/// strings and the two maps. Anything else (an unknown key, `null`, a fraction, a duplicate, a
/// field of the wrong type) makes it answer nil, and the caller reads the line with Foundation
/// instead, so every line still decodes as it did before; this is only the quick way through the
/// lines Customs writes.
struct AuditLineReader {
    private let u: UnsafeBufferPointer<UInt8>
    private var i = 0

    private init(_ u: UnsafeBufferPointer<UInt8>) { self.u = u }

    static func record(_ line: UnsafeBufferPointer<UInt8>) -> AuditRecord? {
        var reader = AuditLineReader(line)
        return reader.record()
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    /// The keys the record's fields are stored under; a field's index is its bit in `seen`.
    private static let keys: [[UInt8]] = [
        "time", "incident", "flow", "action", "rule", "regime", "required_instrument", "approval", "exemption",
        "reason", "client", "client_name", "user", "method", "host", "path", "destination", "country",
        "recipient", "recipient_name", "uninspectable", "prev", "hash",
        // not strings:
        "approval_findings", "masked", "found_in", "subjects_new", "counts", "bytes",
    ].map { Array($0.utf8) }
    private static let stringFields = 23

    private mutating func record() -> AuditRecord? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var strings = [String?](repeating: nil, count: Self.stringFields)
        var findings: [String]?, masked: [String]?, foundIn: [String]?
        var subjects: [String: Int]?, counts: [String: AuditRecord.CountPair]?, bytes: Int?
        var seen: UInt64 = 0
        repeat {
            guard let field = key(), seen & (1 << field) == 0, take(UInt8(ascii: ":")) else { return nil }
            seen |= 1 << field
            switch field {
            case 0..<Self.stringFields: guard let v = string() else { return nil }; strings[field] = v
            case 23: guard let v = stringArray() else { return nil }; findings = v
            case 24: guard let v = stringArray() else { return nil }; masked = v
            case 25: guard let v = stringArray() else { return nil }; foundIn = v
            case 26: guard let v = intMap() else { return nil }; subjects = v
            case 27: guard let v = countMap() else { return nil }; counts = v
            default: guard let v = int() else { return nil }; bytes = v
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        skipSpace()
        guard i == u.count, let timeText = strings[0], let time = AuditTime.parse(timeText),
              let incident = strings[1], let action = strings[3], let rule = strings[4] else { return nil }
        return AuditRecord(
            time: time, incident: incident, flow: strings[2] ?? "", action: action, rule: rule,
            regime: strings[5], requiredInstrument: strings[6], approval: strings[7],
            approvalFindings: findings ?? [], exemption: strings[8], reason: strings[9] ?? "",
            clientAddress: strings[10] ?? "", clientName: strings[11], user: strings[12],
            method: strings[13] ?? "", host: strings[14] ?? "", path: strings[15] ?? "",
            destination: strings[16], country: strings[17], recipient: strings[18] ?? "",
            recipientName: strings[19], subjectsNew: subjects ?? [:], counts: counts ?? [:],
            masked: masked ?? [], uninspectable: strings[20], bytes: bytes, foundIn: foundIn ?? [])
    }

    /// The next key's index in `keys`, compared as bytes (a key with an escape is not one of them).
    private mutating func key() -> Int? {
        guard take(Self.quote) else { return nil }
        let start = i
        while i < u.count, u[i] != Self.quote, u[i] != Self.backslash { i += 1 }
        guard i < u.count, u[i] == Self.quote else { return nil }
        let name = UnsafeBufferPointer(rebasing: u[start..<i])
        i += 1
        return Self.keys.firstIndex { $0.elementsEqual(name) }
    }

    private mutating func skipSpace() {
        while i < u.count, u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0A || u[i] == 0x0D { i += 1 }
    }

    /// Consumes `c` (after white space) if it is next.
    private mutating func take(_ c: UInt8) -> Bool {
        skipSpace()
        guard i < u.count, u[i] == c else { return false }
        i += 1
        return true
    }

    private mutating func string() -> String? {
        guard take(Self.quote) else { return nil }
        let start = i
        while i < u.count, u[i] != Self.quote, u[i] != Self.backslash, u[i] >= 0x20 { i += 1 }
        guard i < u.count else { return nil }
        if u[i] == Self.quote {
            defer { i += 1 }
            let run = UnsafeBufferPointer(rebasing: u[start..<i])
            // ASCII is valid UTF-8 as it stands; anything else is checked as Foundation would.
            if run.allSatisfy({ $0 < 0x80 }) { return String(decoding: run, as: UTF8.self) }
            return String(validating: run, as: UTF8.self)
        }
        var bytes = Array(u[start..<i])
        while i < u.count {
            let b = u[i]
            if b == Self.quote {
                i += 1
                return String(validating: bytes, as: UTF8.self)
            }
            guard b >= 0x20 else { return nil }
            guard b == Self.backslash else { bytes.append(b); i += 1; continue }
            i += 1
            guard i < u.count else { return nil }
            switch u[i] {
            case Self.quote, Self.backslash, UInt8(ascii: "/"): bytes.append(u[i])
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(at: i + 1) else { return nil }
                i += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by its low half.
                    guard i + 6 < u.count, u[i + 1] == Self.backslash, u[i + 2] == UInt8(ascii: "u"),
                          let low = hex4(at: i + 3), (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                guard let s = Unicode.Scalar(scalar) else { return nil }
                bytes.append(contentsOf: UTF8.encode(s)!)
            default: return nil
            }
            i += 1
        }
        return nil
    }

    private func hex4(at p: Int) -> UInt32? {
        guard p + 4 <= u.count else { return nil }
        var v: UInt32 = 0
        for k in p..<(p + 4) {
            let c = u[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// A JSON integer Foundation would also read as an Int: no fraction, exponent or leading zero.
    private mutating func int() -> Int? {
        skipSpace()
        let negative = i < u.count && u[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let start = i
        var v = 0
        while i < u.count, u[i] >= UInt8(ascii: "0"), u[i] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(u[i] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        guard i > start, !(u[start] == UInt8(ascii: "0") && i - start > 1) else { return nil }
        if i < u.count, u[i] == UInt8(ascii: ".") || u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") { return nil }
        return negative ? -v : v
    }

    private mutating func stringArray() -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var out: [String] = []
        if take(UInt8(ascii: "]")) { return out }
        repeat {
            guard let s = string() else { return nil }
            out.append(s)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? out : nil
    }

    /// `{ name: value, ... }` with `value` read by `read`; nil on a repeated name.
    private mutating func map<V>(_ read: (inout AuditLineReader) -> V?) -> [String: V]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var out: [String: V] = [:]
        if take(UInt8(ascii: "}")) { return out }
        repeat {
            guard let k = string(), take(UInt8(ascii: ":")), let v = read(&self), out.updateValue(v, forKey: k) == nil else { return nil }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? out : nil
    }

    private mutating func intMap() -> [String: Int]? { map { $0.int() } }

    private mutating func countMap() -> [String: AuditRecord.CountPair]? {
        map { r -> AuditRecord.CountPair? in
            guard let fields = r.intMap(), fields.count == 2, let before = fields["before"], let after = fields["after"] else { return nil }
            return AuditRecord.CountPair(before: before, after: after)
        }
    }
}
