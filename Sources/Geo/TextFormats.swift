import CustomsCore

/// Readers for the line-based table formats. Each adds ranges to a collector and reports bad
/// rows as `file:line: what is wrong`.
enum TextFormats {
    /// `start,end,country` with textual addresses: the normalised CSV (optional header
    /// `start,end,country`) and DB-IP lite (`start,end,cc`, where ZZ marks unassigned space).
    static func readAddressCSV(_ file: InputFile, into c: inout RangeCollector, dbip: Bool) throws(GeoError) {
        var fields = Fields()
        var sawData = false
        try file.forEachLine { (n, line) throws(GeoError) in
            if line.isBlankOrComment { return }
            guard fields.split(line) else { throw c.error(n, "unbalanced double quote") }
            if !sawData && fields.count >= 1 && fields.field(0, line).equals("start") { sawData = true; return }
            sawData = true
            guard fields.count == 3 else {
                throw c.error(n, "expected 3 fields (start,end,\(dbip ? "cc" : "country")), found \(fields.count)")
            }
            let (v4, s, e) = try addresses(fields.field(0, line), fields.field(1, line), n, c)
            let code = fields.field(2, line)
            if dbip && code.equals("ZZ") { return }
            try c.add(v4: v4, start: s, end: e, code: code, line: n, dropNonISO: dbip)
        }
    }

    static func addresses(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, _ n: Int,
                          _ c: RangeCollector) throws(GeoError) -> (Bool, UInt128, UInt128) {
        if let s = AddressText.parseV4(a) {
            guard let e = AddressText.parseV4(b) else {
                throw c.error(n, AddressText.parseV6(b) != nil
                    ? "start is IPv4 but end '\(String(decoding: b, as: UTF8.self))' is IPv6"
                    : "'\(String(decoding: b, as: UTF8.self))' is not an IP address")
            }
            return (true, UInt128(s), UInt128(e))
        }
        if let s = AddressText.parseV6(a) {
            guard let e = AddressText.parseV6(b) else {
                throw c.error(n, AddressText.parseV4(b) != nil
                    ? "start is IPv6 but end '\(String(decoding: b, as: UTF8.self))' is IPv4"
                    : "'\(String(decoding: b, as: UTF8.self))' is not an IP address")
            }
            return (false, s, e)
        }
        throw c.error(n, "'\(String(decoding: a, as: UTF8.self))' is not an IP address")
    }

    /// IP2Location DB1 (`"from","to","CC","Country name"`, integers; `-` marks unassigned space).
    /// The IPv6 edition writes IPv4 as IPv4-mapped integers (::ffff:0:0/96); those become IPv4.
    static func readIP2Location(_ file: InputFile, into c: inout RangeCollector) throws(GeoError) {
        var fields = Fields()
        try file.forEachLine { (n, line) throws(GeoError) in
            if line.isBlankOrComment { return }
            guard fields.split(line) else { throw c.error(n, "unbalanced double quote") }
            guard fields.count == 4 else {
                throw c.error(n, "expected 4 fields (\"ip_from\",\"ip_to\",\"country_code\",\"country_name\"), found \(fields.count)")
            }
            guard let s = AddressText.parseDecimal(fields.field(0, line)) else {
                throw c.error(n, "ip_from '\(fields.string(0, line))' is not an integer address")
            }
            guard let e = AddressText.parseDecimal(fields.field(1, line)) else {
                throw c.error(n, "ip_to '\(fields.string(1, line))' is not an integer address")
            }
            let code = fields.field(2, line)
            if code.equals("-") { return }
            let mapped: ClosedRange<UInt128> = 0xFFFF_0000_0000...0xFFFF_FFFF_FFFF
            if e <= 0xFFFF_FFFF {
                try c.add(v4: true, start: s, end: e, code: code, line: n, dropNonISO: false)
            } else if mapped.contains(s) && mapped.contains(e) {
                try c.add(v4: true, start: s & 0xFFFF_FFFF, end: e & 0xFFFF_FFFF, code: code, line: n, dropNonISO: false)
            } else {
                try c.add(v4: false, start: s, end: e, code: code, line: n, dropNonISO: false)
            }
        }
    }

    /// Tor's `geoip` (`INTFROM,INTTO,CC`) and `geoip6` (`IPV6FROM,IPV6TO,CC`) files. Codes that
    /// are not countries (EU, AP, A1, ??) are dropped with a warning.
    static func readTor(_ file: InputFile, into c: inout RangeCollector) throws(GeoError) {
        var fields = Fields()
        try file.forEachLine { (n, line) throws(GeoError) in
            if line.isBlankOrComment { return }
            guard fields.split(line) else { throw c.error(n, "unbalanced double quote") }
            guard fields.count == 3 else { throw c.error(n, "expected 3 fields (from,to,country), found \(fields.count)") }
            let a = fields.field(0, line), b = fields.field(1, line)
            if a.contains(58) {
                let (v4, s, e) = try addresses(a, b, n, c)
                try c.add(v4: v4, start: s, end: e, code: fields.field(2, line), line: n, dropNonISO: true)
                return
            }
            guard let s = AddressText.parseDecimal(a), s <= 0xFFFF_FFFF else {
                throw c.error(n, "'\(fields.string(0, line))' is not an IPv4 address as an integer")
            }
            guard let e = AddressText.parseDecimal(b), e <= 0xFFFF_FFFF else {
                throw c.error(n, "'\(fields.string(1, line))' is not an IPv4 address as an integer")
            }
            try c.add(v4: true, start: s, end: e, code: fields.field(2, line), line: n, dropNonISO: true)
        }
    }

    /// RIR delegated(-extended) statistics: `registry|cc|type|start|value|date|status[|...]`.
    /// Only allocated/assigned address records count; the version line gives the date.
    static func readRIR(_ file: InputFile, into c: inout RangeCollector, latestDate: inout String?) throws(GeoError) {
        var fields = Fields()
        try file.forEachLine { (n, line) throws(GeoError) in
            if line.isBlankOrComment { return }
            guard fields.split(line, separator: 124) else { throw c.error(n, "unbalanced double quote") }
            if let first = fields.field(0, line).first, first >= 48 && first <= 57 {
                // version|registry|serial|records|startdate|enddate|UTCoffset
                guard fields.count >= 6 else { throw c.error(n, "version line has \(fields.count) fields, expected at least 6") }
                let end = fields.string(5, line)
                if end.count == 8, end.allSatisfy(\.isNumber) {
                    let d = "\(end.prefix(4))-\(end.dropFirst(4).prefix(2))-\(end.suffix(2))"
                    if latestDate == nil || d > latestDate! { latestDate = d }
                }
                return
            }
            guard fields.count >= 6 else {
                throw c.error(n, "expected registry|cc|type|start|value|date|status, found \(fields.count) fields")
            }
            let type = fields.field(2, line)
            if fields.count == 6 && fields.field(5, line).equals("summary") { return }
            if type.equals("asn") { return }
            let isV4 = type.equals("ipv4")
            guard isV4 || type.equals("ipv6") else { throw c.error(n, "unknown record type '\(fields.string(2, line))'") }
            guard fields.count >= 7 else { throw c.error(n, "expected at least 7 fields, found \(fields.count)") }
            let status = fields.field(6, line)
            guard status.equals("allocated") || status.equals("assigned") else { return }
            let cc = fields.field(1, line)
            if cc.isEmpty || cc.equals("ZZ") { return }
            let value = fields.field(4, line)
            if isV4 {
                guard let s = AddressText.parseV4(fields.field(3, line)) else {
                    throw c.error(n, "'\(fields.string(3, line))' is not an IPv4 address")
                }
                guard let count = AddressText.parseDecimal(value), count >= 1, UInt128(s) + count - 1 <= 0xFFFF_FFFF else {
                    throw c.error(n, "'\(fields.string(4, line))' is not a valid address count for \(fields.string(3, line))")
                }
                try c.add(v4: true, start: UInt128(s), end: UInt128(s) + count - 1, code: cc, line: n, dropNonISO: true)
            } else {
                guard let s = AddressText.parseV6(fields.field(3, line)) else {
                    throw c.error(n, "'\(fields.string(3, line))' is not an IPv6 address")
                }
                guard let len = AddressText.parseDecimal(value), len <= 128 else {
                    throw c.error(n, "'\(fields.string(4, line))' is not an IPv6 prefix length")
                }
                let host: UInt128 = len == 0 ? .max : (len == 128 ? 0 : (UInt128(1) << (128 - len)) - 1)
                guard s & host == 0 else { throw c.error(n, "\(fields.string(3, line))/\(len) has host bits set") }
                try c.add(v4: false, start: s, end: s | host, code: cc, line: n, dropNonISO: true)
            }
        }
    }

    /// MaxMind GeoLite2-Country CSV: the Locations file maps geoname_id to country_iso_code;
    /// each Blocks row takes its geoname_id's country, else its registered country's.
    static func readGeoLite2(_ files: [InputFile], into c: inout RangeCollector) throws(GeoError) {
        var countryOf: [UInt32: String] = [:]
        var blocks: [InputFile] = []
        var fields = Fields()
        for f in files {
            var header: [String] = []
            try f.forEachLine { (n, line) throws(GeoError) in
                if n > 1 { return }
                guard fields.split(line) else { throw GeoError(file: f.path, line: n, "unbalanced double quote") }
                header = (0..<fields.count).map { fields.string($0, line) }
            }
            if header.first == "geoname_id", let cci = header.firstIndex(of: "country_iso_code") {
                try f.forEachLine { (n, line) throws(GeoError) in
                    if n == 1 || line.isBlankOrComment { return }
                    guard fields.split(line), fields.count == header.count else {
                        throw GeoError(file: f.path, line: n, "expected \(header.count) fields as in the header, found \(fields.count)")
                    }
                    guard let id = UInt32(fields.string(0, line)) else {
                        throw GeoError(file: f.path, line: n, "geoname_id '\(fields.string(0, line))' is not a number")
                    }
                    countryOf[id] = fields.string(cci, line)
                }
            } else if header.first == "network", header.count >= 3, header[1] == "geoname_id",
                      header[2] == "registered_country_geoname_id" {
                blocks.append(f)
            } else {
                throw GeoError(file: f.path, line: 1, "not a GeoLite2 Country CSV file: header must start with 'network,geoname_id,registered_country_geoname_id' (blocks) or 'geoname_id,...,country_iso_code' (locations)")
            }
        }
        guard !blocks.isEmpty else { throw GeoError(file: files.first?.path, "no GeoLite2 Blocks file among the inputs") }
        guard !countryOf.isEmpty else {
            throw GeoError(file: blocks[0].path, "no GeoLite2 Locations file among the inputs (needed to map geoname_id to a country)")
        }
        for f in blocks {
            c.beginFile(f.path)
            try f.forEachLine { (n, line) throws(GeoError) in
                if n == 1 || line.isBlankOrComment { return }
                guard fields.split(line), fields.count >= 3 else {
                    throw c.error(n, "expected network,geoname_id,registered_country_geoname_id,..., found \(fields.count) fields")
                }
                let text = fields.string(0, line)
                guard let net = IPNetwork(text), text.contains("/") else { throw c.error(n, "'\(text)' is not a network in CIDR form") }
                guard net.address == IPAddress(text.split(separator: "/")[0]) else {
                    throw c.error(n, "\(text) has host bits set")
                }
                var code = ""
                for k in [1, 2] {
                    let idText = fields.string(k, line)
                    if idText.isEmpty { continue }
                    guard let id = UInt32(idText) else { throw c.error(n, "geoname_id '\(idText)' is not a number") }
                    guard let cc = countryOf[id] else { throw c.error(n, "geoname_id \(id) is not in the Locations file") }
                    if !cc.isEmpty { code = cc; break }
                }
                let r = IPAddressBridge.range(of: net)
                if code.isEmpty {
                    c.drop(code: "", v4: r.v4, addresses: r.end - r.start + 1, line: n)
                    return
                }
                var bytes = Array(code.utf8)
                try bytes.withUnsafeMutableBufferPointer { (b) throws(GeoError) in
                    try c.add(v4: r.v4, start: r.start, end: r.end, code: UnsafeBufferPointer(b), line: n, dropNonISO: true)
                }
            }
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    func contains(_ byte: UInt8) -> Bool {
        for c in self where c == byte { return true }
        return false
    }
}
