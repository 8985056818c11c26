import CustomsCore

/// Gathers ranges from one or more input files, checks them, and produces a table.
/// Formats that are sorted by definition are checked row by row (`strictOrder`), so the error
/// names the first offending line; formats assembled from several files are sorted first and
/// then checked, and an overlap names both lines.
struct RangeCollector {
    struct Row {
        var start: UInt128
        var end: UInt128
        var value: UInt16
        var file: Int32
        var line: Int32
    }

    private(set) var v4: [Row] = []
    private(set) var v6: [Row] = []
    private(set) var files: [String] = []
    private var dropped: [String: (ranges: Int, addresses: UInt128, file: String, line: Int, code: String, v4: Bool)] = [:]
    let strictOrder: Bool

    init(strictOrder: Bool) { self.strictOrder = strictOrder }

    mutating func beginFile(_ path: String) { files.append(path) }

    private var currentFile: String { files.last ?? "input" }

    func error(_ line: Int, _ message: String) -> GeoError {
        GeoError(file: currentFile, line: line, message)
    }

    /// Adds one range. `code` is the country text as found in the file.
    mutating func add(v4 isV4: Bool, start: UInt128, end: UInt128, code: UnsafeBufferPointer<UInt8>,
                      line: Int, dropNonISO: Bool) throws(GeoError) {
        guard start <= end else {
            throw error(line, "range end \(AddressText.format(end, v4: isV4)) is before its start \(AddressText.format(start, v4: isV4))")
        }
        guard let cc = CountryCode(String(decoding: code, as: UTF8.self)), CountryCodes.isKnown(cc) else {
            let text = String(decoding: code, as: UTF8.self)
            if dropNonISO {
                drop(code: text, v4: isV4, addresses: end - start + 1, line: line)
                return
            }
            throw error(line, text.isEmpty ? "missing country code" : "unknown country code '\(text)' (not ISO 3166-1 alpha-2)")
        }
        try add(v4: isV4, start: start, end: end, country: cc, line: line)
    }

    mutating func add(v4 isV4: Bool, start: UInt128, end: UInt128, country: CountryCode, line: Int) throws(GeoError) {
        let row = Row(start: start, end: end, value: country.raw, file: Int32(files.count - 1), line: Int32(line))
        if strictOrder, let prev = isV4 ? v4.last : v6.last {
            if start <= prev.end {
                let what = start < prev.start ? "is out of order: it starts before" : "overlaps"
                throw error(line, "range \(describe(row, isV4)) \(what) the range on line \(prev.line) (\(describe(prev, isV4)))")
            }
        }
        if isV4 { v4.append(row) } else { v6.append(row) }
    }

    /// Records a range left out on purpose (a non-ISO code such as EU or AP), for one warning per code.
    mutating func drop(code: String, v4: Bool, addresses: UInt128, line: Int) {
        let name = code.isEmpty ? "(empty)" : code
        let key = name + (v4 ? " 4" : " 6")
        var d = dropped[key] ?? (0, 0, currentFile, line, name, v4)
        d.ranges += 1
        d.addresses &+= addresses
        dropped[key] = d
    }

    var warnings: [String] {
        dropped.keys.sorted().map { k in
            let d = dropped[k]!
            let family = d.v4 ? "IPv4" : "IPv6"
            return "\(d.file):\(d.line): dropped \(d.ranges) \(family) range\(d.ranges == 1 ? "" : "s") with code '\(d.code)', which is not an ISO 3166-1 country (\(d.addresses) addresses; the first is on this line)"
        }
    }

    private func describe(_ r: Row, _ isV4: Bool) -> String {
        "\(AddressText.format(r.start, v4: isV4))-\(AddressText.format(r.end, v4: isV4))"
    }

    private func location(_ r: Row) -> String { "\(files[Int(r.file)]):\(r.line)" }

    /// The checked table: sorted (unless strict), overlaps reported, neighbours of the same
    /// country merged.
    func finish(date: String?, source: String) throws(GeoError) -> TableData {
        var data = TableData(date: date, source: source)
        data.v4 = try merged(v4, v4: true, UInt32.self)
        data.v6 = try merged(v6, v4: false, UInt128.self)
        return data
    }

    private func merged<K>(_ input: [Row], v4 isV4: Bool, _: K.Type) throws(GeoError) -> RangeList<K> {
        var rows = input
        if !strictOrder { rows.sort { $0.start < $1.start || ($0.start == $1.start && $0.end < $1.end) } }
        var out = RangeList<K>()
        out.starts.reserveCapacity(rows.count); out.ends.reserveCapacity(rows.count); out.values.reserveCapacity(rows.count)
        var prev: Row? = nil
        for r in rows {
            if let p = prev {
                if r.start <= p.end {
                    throw GeoError(file: files[Int(r.file)], line: Int(r.line),
                                   "range \(describe(r, isV4)) overlaps \(describe(p, isV4)) from \(location(p))")
                }
                if p.end + 1 == r.start && p.value == r.value {
                    out.ends[out.count - 1] = K(truncatingIfNeeded: r.end)
                    prev = r
                    continue
                }
            }
            out.append(K(truncatingIfNeeded: r.start), K(truncatingIfNeeded: r.end), r.value)
            prev = r
        }
        return out
    }
}
