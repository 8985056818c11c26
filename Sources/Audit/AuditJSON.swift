import CustomsCore
import Foundation

/// The on-disk form of a record: one JSON object per line with a fixed key order, so the same
/// record always yields the same bytes and the chain hash covers exactly what a reader sees.
enum AuditJSON {
    /// The record's line up to the chain's `hash` field (no closing brace), as a String.
    static func encode(_ r: AuditRecord, prev: String) -> String {
        var bytes: [UInt8] = []
        encode(r, prev: prev, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the record's line up to the chain's `hash` field (no closing brace) to `out`:
    /// written as bytes, since a record per flow in monitor mode made the String form a seventh of
    /// the gateway's CPU.
    static func encode(_ r: AuditRecord, prev: String, into out: inout [UInt8]) {
        var o = JSONObjectWriter(taking: &out)
        o.key("time")
        o.raw(AuditTime.quotedBytes(r.time))
        o.string("incident", r.incident)
        o.string("flow", r.flow)
        o.string("action", r.action)
        o.string("rule", r.rule)
        o.optional("regime", r.regime)
        o.optional("required_instrument", r.requiredInstrument)
        o.optional("approval", r.approval)
        o.strings("approval_findings", r.approvalFindings)
        o.optional("exemption", r.exemption)
        o.string("reason", r.reason)
        o.string("client", r.clientAddress)
        o.optional("client_name", r.clientName)
        o.optional("user", r.user)
        o.string("method", r.method)
        o.string("host", r.host)
        o.string("path", r.path)
        o.optional("destination", r.destination)
        o.optional("country", r.country)
        o.string("recipient", r.recipient)
        o.optional("recipient_name", r.recipientName)
        o.intMap("subjects_new", r.subjectsNew)
        if !r.counts.isEmpty {
            o.key("counts")
            var map: [UInt8] = [UInt8(ascii: "{")]
            for (n, name) in r.counts.keys.sorted().enumerated() {
                let pair = r.counts[name]!
                if n > 0 { map.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(name, to: &map)
                map.append(contentsOf: #":{"before":"#.utf8)
                JSONText.appendDecimal(pair.before, to: &map)
                map.append(contentsOf: #","after":"#.utf8)
                JSONText.appendDecimal(pair.after, to: &map)
                map.append(UInt8(ascii: "}"))
            }
            map.append(UInt8(ascii: "}"))
            o.raw(map)
        }
        o.strings("masked", r.masked)
        o.optional("uninspectable", r.uninspectable)
        if let b = r.bytes { o.int("bytes", b) }
        o.strings("found_in", r.foundIn)   // left out when empty: older records hash as they did
        o.string("prev", prev)
        o.finish(into: &out, close: false)
    }

    /// Reads a record back (for review). Unknown keys are ignored so older readers keep working.
    static func decode(_ line: Substring) -> AuditRecord? {
        var text = line
        if let record = text.withUTF8({ AuditLineReader.record($0) }) { return record }
        return decodeWithFoundation(line)
    }

    /// `decode` for any line `AuditLineReader` does not take: the reference reading.
    static func decodeWithFoundation(_ line: Substring) -> AuditRecord? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        func s(_ k: String) -> String? { obj[k] as? String }
        guard let timeText = s("time"), let time = AuditTime.parse(timeText),
              let incident = s("incident"), let action = s("action"), let rule = s("rule") else { return nil }
        var counts: [String: AuditRecord.CountPair] = [:]
        for (k, v) in (obj["counts"] as? [String: Any]) ?? [:] {
            if let pair = v as? [String: Any], let b = pair["before"] as? Int, let a = pair["after"] as? Int {
                counts[k] = .init(before: b, after: a)
            }
        }
        return AuditRecord(
            time: time, incident: incident, flow: s("flow") ?? "", action: action, rule: rule,
            regime: s("regime"), requiredInstrument: s("required_instrument"), approval: s("approval"),
            approvalFindings: obj["approval_findings"] as? [String] ?? [], exemption: s("exemption"),
            reason: s("reason") ?? "", clientAddress: s("client") ?? "", clientName: s("client_name"),
            user: s("user"), method: s("method") ?? "", host: s("host") ?? "", path: s("path") ?? "",
            destination: s("destination"), country: s("country"), recipient: s("recipient") ?? "",
            recipientName: s("recipient_name"),
            subjectsNew: obj["subjects_new"] as? [String: Int] ?? [:], counts: counts,
            masked: obj["masked"] as? [String] ?? [], uninspectable: s("uninspectable"),
            bytes: obj["bytes"] as? Int, foundIn: obj["found_in"] as? [String] ?? [])
    }
}
