import CustomsCore
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The input formats `customs geo import` understands.
public enum TableFormat: String, CaseIterable, Sendable {
    case csv, dbip, ip2location, geolite2, rir, tor, mmdb
    /// The project's own binary table (what `import` writes).
    case compiled
}

extension CountryTable {
    private static let logger = Logger(label: "customs.geo")

    /// Loads a table from the normalised CSV (plain or .gz), a compiled table, or an .mmdb file,
    /// telling them apart by content.
    public static func load(path: String) throws(GeoError) -> CountryTable {
        let file = try InputFile(path: path)
        let format: TableFormat
        if CompiledTable.isCompiled(file.bytes) { format = .compiled }
        else if path.hasSuffix(".mmdb") || MMDBReader.metadataStart(file.bytes) != nil { format = .mmdb }
        else { format = .csv }
        let (table, warnings) = try importing(format, files: [file], date: nil)
        for w in warnings { logger.warning("\(w)") }
        return table
    }

    /// Reads `paths` in `format` into a table, with warnings for rows left out on purpose
    /// (non-ISO codes such as EU or AP). `date` overrides the date found in the input.
    public static func importing(_ format: TableFormat, from paths: [String], date: String? = nil)
        throws(GeoError) -> (table: CountryTable, warnings: [String]) {
        guard !paths.isEmpty else { throw GeoError(file: nil, "no input files") }
        var files: [InputFile] = []
        for p in paths { files.append(try InputFile(path: p)) }
        return try importing(format, files: files, date: date)
    }

    private static func importing(_ format: TableFormat, files: [InputFile], date: String?)
        throws(GeoError) -> (table: CountryTable, warnings: [String]) {
        let names = files.map { basename($0.path) }.joined(separator: ", ")
        var found: String? = nil
        var c = RangeCollector(strictOrder: [.csv, .dbip, .ip2location, .tor].contains(format))
        switch format {
        case .compiled:
            guard files.count == 1 else { throw GeoError(file: files[1].path, "a compiled table is read alone") }
            let data = try CompiledTable.decode(files[0].bytes, path: files[0].path)
            var d = data
            if let date { d.date = date }
            return (CountryTable(data: d), [])
        case .csv, .dbip:
            for f in files { c.beginFile(f.path); try TextFormats.readAddressCSV(f, into: &c, dbip: format == .dbip) }
        case .ip2location:
            for f in files { c.beginFile(f.path); try TextFormats.readIP2Location(f, into: &c) }
        case .tor:
            for f in files { c.beginFile(f.path); try TextFormats.readTor(f, into: &c) }
        case .rir:
            for f in files { c.beginFile(f.path); try TextFormats.readRIR(f, into: &c, latestDate: &found) }
        case .geolite2:
            try TextFormats.readGeoLite2(files, into: &c)
        case .mmdb:
            for f in files {
                c.beginFile(f.path)
                let reader = try MMDBReader(bytes: f.bytes, path: f.path)
                try reader.read(into: &c)
                if let d = reader.date, found == nil || d > found! { found = d }
            }
        }
        let data = try c.finish(date: date ?? found, source: "\(format.rawValue): \(names)")
        // A file cut to nothing on its way (or a file of some other kind) would otherwise load as
        // a table that knows no country at all, and every destination would go unplaced.
        guard data.v4.count + data.v6.count > 0 else {
            throw GeoError(file: files.count == 1 ? files[0].path : nil,
                           "no address ranges found in \(names): the file is empty or not a country table")
        }
        return (CountryTable(data: data), c.warnings)
    }

    private static func basename(_ p: String) -> String {
        p.split(separator: "/").last.map(String.init) ?? p
    }

    /// The project's compiled binary form of this table (overrides are not included: they
    /// belong to the policy, not the data set).
    public func compiledBytes() -> [UInt8] { CompiledTable.encode(data) }

    public func writeCompiled(to path: String) throws(GeoError) {
        let bytes = compiledBytes()
        let tmp = path + ".tmp.\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw GeoError(file: path, "cannot write: \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0, rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw GeoError(file: path, "cannot write: \(why)")
        }
    }

    /// Where the default table is: `$CUSTOMS_COUNTRY_TABLE`; else `Policies/` of the package
    /// the running executable was built in (…/.build/<config>/customs); else `./Policies`;
    /// else /usr/share/customs, /etc/customs. In each folder the compiled
    /// `country-table.bin` is preferred to `country-table.csv.gz`.
    public static func defaultTablePath() -> String? {
        if let env = getenv("CUSTOMS_COUNTRY_TABLE"), env.pointee != 0 { return String(cString: env) }
        var dirs: [String] = []
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            var parts = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            while parts.count > 1 {
                parts.removeLast()
                let dir = parts.joined(separator: "/")
                if access(dir + "/Package.swift", F_OK) == 0 { dirs.append(dir + "/Policies"); break }
            }
        }
        dirs += ["Policies", "/usr/share/customs", "/etc/customs"]
        for d in dirs {
            for name in ["country-table.bin", "country-table.csv.gz", "country-table.csv"] {
                let p = d + "/" + name
                if access(p, R_OK) == 0 { return p }
            }
        }
        return nil
    }
}
