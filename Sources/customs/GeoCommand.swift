import ArgumentParser
import CustomsCore
import Foundation
import Geo

struct GeoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geo",
        abstract: "Country table lookup, import and statistics.",
        discussion: """
        The default table is Policies/country-table.bin (or .csv.gz), or $CUSTOMS_COUNTRY_TABLE.
        IP-to-country data: derived from the delegated statistics of the Regional Internet \
        Registries (AFRINIC, APNIC, ARIN, LACNIC, RIPE NCC), as packaged by iptocc 3.3.170 \
        (https://github.com/roniemartinez/IPToCC), data of 2026-10-27. See NOTICE.
        """,
        subcommands: [GeoLookup.self, GeoImport.self, GeoStats.self])
}

struct TableOptions: ParsableArguments {
    @Option(name: .long, help: "Country table: normalised CSV (.csv/.csv.gz), compiled table, or .mmdb.")
    var table: String?

    @Option(name: .long, help: "Overrides CSV (cidr,country[,note]) applied on top of the table.")
    var overrides: String?

    func load() throws -> (CountryTable, String) {
        guard let path = table ?? CountryTable.defaultTablePath() else {
            throw ValidationError("no country table found: pass --table FILE or set CUSTOMS_COUNTRY_TABLE")
        }
        do {
            var t = try CountryTable.load(path: path)
            if let overrides { t = t.applying(overrides: try GeoOverrides.loadCSV(path: overrides)) }
            return (t, path)
        } catch {
            throw GeoFailure(message: error.description)
        }
    }
}

/// A Geo error shown as `customs: file:line: message` with exit status 1.
struct GeoFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

struct GeoLookup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Print IP<TAB>COUNTRY for each address (from arguments, or stdin line by line).",
        discussion: "Special ranges print their name (loopback, private, ...); addresses in no range print 'unknown'. Malformed input is reported on stderr and makes the exit status 1.")

    @OptionGroup var tableOptions: TableOptions

    @Flag(name: .long, help: "One JSON object per line: {\"ip\":…,\"answer\":…,\"country\":…|null,\"special\":…}.")
    var json = false

    @Argument(help: "Addresses to look up; stdin when none are given.")
    var addresses: [String] = []

    func run() throws {
        let (table, _) = try tableOptions.load()
        var out = OutputBuffer()
        var bad = 0
        if addresses.isEmpty {
            bad = LineInput.forEachLine(fd: 0) { n, line in
                if line.isEmpty { return true }
                guard let ip = GeoText.address(line) else {
                    out.flush()
                    FileHandle.standardError.write(Data("line \(n): '\(String(decoding: line, as: UTF8.self))' is not an IP address\n".utf8))
                    return false
                }
                emit(line, table.lookup(ip), &out)
                return true
            }
        } else {
            for a in addresses {
                var bytes = Array(a.utf8)
                let ok = bytes.withUnsafeMutableBufferPointer { b -> Bool in
                    let line = UnsafeBufferPointer(b)
                    guard let ip = GeoText.address(line) else { return false }
                    emit(line, table.lookup(ip), &out)
                    return true
                }
                if !ok {
                    bad += 1
                    out.flush()
                    FileHandle.standardError.write(Data("'\(a)' is not an IP address\n".utf8))
                }
            }
        }
        out.flush()
        if bad > 0 { throw ExitCode(1) }
    }

    private func emit(_ ip: UnsafeBufferPointer<UInt8>, _ a: GeoAnswer, _ out: inout OutputBuffer) {
        if json {
            out.append("{\"ip\":\"")
            out.append(ip)
            out.append("\",\"answer\":\"\(a)\",\"country\":")
            switch a {
            case .country(let c): out.append("\"\(c)\"}\n")
            case .special(let s): out.append("null,\"special\":\"\(s.rawValue)\"}\n")
            case .unknown: out.append("null}\n")
            }
        } else {
            out.append(ip)
            out.append(9)
            switch a {
            case .country(let c): out.append(UInt8(c.raw >> 8)); out.append(UInt8(c.raw & 0xFF))
            case .special(let s): out.append(s.rawValue)
            case .unknown: out.append("unknown")
            }
            out.append(10)
        }
    }
}

struct GeoImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Compile a country table from another format into Customs' binary table.",
        discussion: """
        Formats: csv (start,end,country), dbip (DB-IP lite CSV), ip2location (DB1 CSV, IPv4 or \
        IPv6 edition), geolite2 (GeoLite2-Country Blocks-IPv4/IPv6 and Locations CSV files, all \
        as inputs), rir (delegated-extended statistics files), tor (geoip / geoip6), mmdb \
        (MaxMind DB). --out FILE.csv writes the normalised CSV instead of the binary table.
        """)

    @Option(name: .long, help: "Input format: \(TableFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String

    @Option(name: .long, help: "Output file: the compiled table, or normalised CSV when it ends in .csv.")
    var out: String

    @Option(name: .long, help: "Date of the data (YYYY-MM-DD) to record, when the input does not carry one.")
    var date: String?

    @Argument(help: "Input files.")
    var inputs: [String]

    func run() throws {
        guard let f = TableFormat(rawValue: format) else {
            throw ValidationError("unknown format '\(format)'; expected one of \(TableFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard !inputs.isEmpty else { throw ValidationError("no input files") }
        do {
            let (table, warnings) = try CountryTable.importing(f, from: inputs, date: date)
            for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
            if out.hasSuffix(".csv") {
                var buf = OutputBuffer(fd: try openForWriting(out))
                buf.append("start,end,country\n")
                table.forEachRange { s, e, c in buf.append("\(s),\(e),\(c)\n") }
                buf.close()
            } else {
                try table.writeCompiled(to: out)
            }
            let i = table.info
            print("wrote \(out): \(i.rangesV4) IPv4 ranges, \(i.rangesV6) IPv6 ranges, \(i.countries) countries, date \(i.date ?? "unknown")")
        } catch let e as GeoError {
            throw GeoFailure(message: e.description)
        }
    }

    private func openForWriting(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GeoFailure(message: "\(path): cannot write: \(String(cString: strerror(errno)))") }
        return fd
    }
}

struct GeoStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print ranges per family, countries, date and source of a table.")

    @OptionGroup var tableOptions: TableOptions

    func run() throws {
        let started = DispatchTime.now()
        let (table, path) = try tableOptions.load()
        let ms = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6
        let i = table.info
        var v4Addresses: UInt64 = 0
        table.forEachRange { s, e, _ in
            if case .v4(let a) = s, case .v4(let b) = e { v4Addresses += UInt64(b - a) + 1 }
        }
        print("""
            table\t\(path)
            source\t\(i.source)
            date\t\(i.date ?? "unknown")
            ipv4_ranges\t\(i.rangesV4)
            ipv4_addresses\t\(v4Addresses) (\(String(format: "%.2f", Double(v4Addresses) / 4_294_967_296 * 100))% of IPv4)
            ipv6_ranges\t\(i.rangesV6)
            countries\t\(i.countries)
            overrides\t\(i.overrides)
            memory_kib\t\(table.memoryBytes.lookup / 1024) lookup + \(table.memoryBytes.ranges / 1024) ranges
            load_ms\t\(String(format: "%.1f", ms))
            """)
    }
}

/// Buffered stdout (or a file): lookups of a million addresses must not make a write per line.
struct OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32

    init(fd: Int32 = 1) {
        self.fd = fd
        bytes.reserveCapacity(1 << 16)
    }

    mutating func append(_ b: UInt8) { bytes.append(b); if bytes.count >= 1 << 16 { flush() } }
    mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8); if bytes.count >= 1 << 16 { flush() } }
    mutating func append(_ b: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: b); if bytes.count >= 1 << 16 { flush() } }

    mutating func flush() {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { if errno == EINTR { continue }; break }
            off += n
        }
        bytes.removeAll(keepingCapacity: true)
    }

    mutating func close() {
        flush()
        if fd > 2 { _ = Foundation.close(fd) }
    }
}

/// Reads a file descriptor in large blocks and hands out its lines (without line endings,
/// surrounding spaces trimmed). Returns how many lines the handler rejected.
enum LineInput {
    static func forEachLine(fd: Int32, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Bool) -> Int {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var carry: [UInt8] = []
        var lineNo = 0, bad = 0
        func handle(_ line: UnsafeBufferPointer<UInt8>) {
            lineNo += 1
            var lo = 0, hi = line.count
            while lo < hi && (line[lo] == 32 || line[lo] == 9) { lo += 1 }
            while hi > lo && (line[hi - 1] == 32 || line[hi - 1] == 9 || line[hi - 1] == 13) { hi -= 1 }
            if !body(lineNo, UnsafeBufferPointer(rebasing: line[lo..<hi])) { bad += 1 }
        }
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            buf.withUnsafeBufferPointer { all in
                var start = 0
                for i in 0..<n where all[i] == 10 {
                    if carry.isEmpty {
                        handle(UnsafeBufferPointer(rebasing: all[start..<i]))
                    } else {
                        carry.append(contentsOf: all[start..<i])
                        carry.withUnsafeBufferPointer { handle($0) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = i + 1
                }
                carry.append(contentsOf: all[start..<n])
            }
        }
        if !carry.isEmpty { carry.withUnsafeBufferPointer { handle($0) } }
        return bad
    }
}
