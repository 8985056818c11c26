import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// The whole content of an input file, gunzipped when it is gzip, and its lines.
struct InputFile {
    let path: String
    let bytes: [UInt8]

    init(path: String) throws(GeoError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw GeoError(file: path, "cannot read: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw GeoError(file: path, "not a regular file") }
        var head = [UInt8](repeating: 0, count: 2)
        if let f = fopen(path, "rb") {
            head.withUnsafeMutableBytes { _ = fread($0.baseAddress, 1, 2, f) }
            fclose(f)
        }
        if head != [0x1F, 0x8B] {
            bytes = try Self.readPlain(path, size: Int(st.st_size))
            return
        }
        guard let gz = gzopen(path, "rb") else {
            throw GeoError(file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(gz) }
        gzbuffer(gz, 1 << 17)
        var out = [UInt8]()
        out.reserveCapacity(Int(st.st_size) * 4 + 1024)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let msg = gzerror(gz, &code).map { String(cString: $0) } ?? "read error"
                throw GeoError(file: path, "cannot read: \(msg)")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        bytes = out
    }

    /// A plain file in one read into a buffer of its exact size.
    private static func readPlain(_ path: String, size: Int) throws(GeoError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GeoError(file: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var failure: Int32 = 0
        let out = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var got = 0
            while got < size {
                let n = read(fd, buf.baseAddress! + got, size - got)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = n < 0 ? errno : 0; break }
                got += n
            }
            count = got
        }
        guard out.count == size else {
            throw GeoError(file: path, failure != 0 ? "cannot read: \(String(cString: strerror(failure)))" : "file shrank while being read")
        }
        return out
    }

    /// Calls `body` with each line (1-based number, bytes without the line ending).
    func forEachLine<E: Error>(_ body: (Int, UnsafeBufferPointer<UInt8>) throws(E) -> Void) throws(E) {
        try bytes.withUnsafeBufferPointer { (all) throws(E) in
            var start = 0, line = 0
            let n = all.count
            while start < n {
                line += 1
                var end = start
                if let p = memchr(all.baseAddress! + start, 10, n - start) {
                    end = all.baseAddress!.distance(to: p.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = n
                }
                var stop = end
                if stop > start && all[stop - 1] == 13 { stop -= 1 }
                try body(line, UnsafeBufferPointer(rebasing: all[start..<stop]))
                start = end + 1
            }
        }
    }
}

/// Comma (or other separator) fields of one line, with optional double quotes removed.
struct Fields {
    private(set) var ranges: [Range<Int>] = []

    /// Splits `line` into at most `limit` fields; false if a quote is unbalanced.
    mutating func split(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8 = 44, limit: Int = 64) -> Bool {
        ranges.removeAll(keepingCapacity: true)
        var i = 0
        let n = line.count
        while true {
            if ranges.count == limit - 1 { ranges.append(i..<n); return true }
            if i < n && line[i] == 34 {
                var j = i + 1
                while j < n && line[j] != 34 { j += 1 }
                guard j < n else { return false }
                ranges.append((i + 1)..<j)
                j += 1
                if j == n { return true }
                guard line[j] == separator else { return false }
                i = j + 1
            } else {
                var j = i
                while j < n && line[j] != separator { j += 1 }
                ranges.append(i..<j)
                if j == n { return true }
                i = j + 1
            }
        }
    }

    var count: Int { ranges.count }

    func field(_ k: Int, _ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var r = ranges[k]
        while r.lowerBound < r.upperBound && (line[r.lowerBound] == 32 || line[r.lowerBound] == 9) { r = (r.lowerBound + 1)..<r.upperBound }
        while r.lowerBound < r.upperBound && (line[r.upperBound - 1] == 32 || line[r.upperBound - 1] == 9) { r = r.lowerBound..<(r.upperBound - 1) }
        return UnsafeBufferPointer(rebasing: line[r])
    }

    func string(_ k: Int, _ line: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: field(k, line), as: UTF8.self)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// True for empty lines and `#` comments.
    var isBlankOrComment: Bool {
        for c in self {
            if c == 32 || c == 9 { continue }
            return c == 35
        }
        return true
    }

    func equals(_ s: StaticString) -> Bool {
        guard count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<count where self[i] != p[i] { return false }
        return true
    }
}
