// GeoBench: lookups per second, load time and resident memory of the Geo country table.
//
//   GeoBench prepare TABLE DIR COUNT   writes DIR/v4.addr, DIR/v6.addr (the random address sets),
//                                      DIR/ranges4.bin, DIR/ranges6.bin (the same ranges for the
//                                      C binary search) and DIR/table.mmdb (for libmaxminddb)
//   GeoBench run TABLE DIR [ROUNDS]    measures the Swift lookup on those address sets
//
// Every driver prints a checksum (sum of the raw country codes found) so the run shows that all
// three answered the same thing for the same addresses.
import CustomsCore
import Foundation
import Geo

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// On-CPU time of this thread: lookups per second per core, not counting the time the shared
/// machine gives the core to other processes.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func rssKiB() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

func write(_ bytes: [UInt8], _ path: String) {
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func le<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

func fail(_ m: String) -> Never {
    FileHandle.standardError.write(Data("GeoBench: \(m)\n".utf8))
    exit(2)
}

func load(_ path: String) -> CountryTable {
    do { return try CountryTable.load(path: path) } catch { fail(error.description) }
}

func prepare(table path: String, dir: String, count: Int) {
    let t = load(path)
    var v4s: [UInt32] = [], v4e: [UInt32] = [], v4c: [UInt16] = []
    var v6s: [(UInt64, UInt64)] = [], v6e: [(UInt64, UInt64)] = [], v6c: [UInt16] = []
    t.forEachRange { s, e, c in
        switch (s, e) {
        case (.v4(let a), .v4(let b)): v4s.append(a); v4e.append(b); v4c.append(c.raw)
        case (.v6(let ah, let al), .v6(let bh, let bl)): v6s.append((ah, al)); v6e.append((bh, bl)); v6c.append(c.raw)
        default: fail("mixed families")
        }
    }
    var r4: [UInt8] = [], r6: [UInt8] = []
    le(&r4, UInt32(v4s.count))
    for v in v4s { le(&r4, v) }
    for v in v4e { le(&r4, v) }
    for v in v4c { le(&r4, v) }
    le(&r6, UInt32(v6s.count))
    for v in v6s { le(&r6, v.0); le(&r6, v.1) }
    for v in v6e { le(&r6, v.0); le(&r6, v.1) }
    for v in v6c { le(&r6, v) }
    write(r4, dir + "/ranges4.bin")
    write(r6, dir + "/ranges6.bin")

    // IPv4: uniform over the whole space (allocated, unallocated and special alike).
    // IPv6: a random address inside a random range of the table, so every lookup walks the
    // allocated part of the tree; uniform IPv6 would almost always stop at an empty top level.
    var rng = SplitMix64(state: 20_261_027)
    var a4: [UInt8] = [], a6: [UInt8] = []
    for _ in 0..<count { le(&a4, UInt32(truncatingIfNeeded: rng.next())) }
    for _ in 0..<count {
        let i = Int(rng.next() % UInt64(v6s.count))
        let s = UInt128(v6s[i].0) << 64 | UInt128(v6s[i].1)
        let e = UInt128(v6e[i].0) << 64 | UInt128(v6e[i].1)
        let span = e - s
        let r = UInt128(rng.next()) << 64 | UInt128(rng.next())
        let a = span == .max ? r : s + r % (span + 1)
        for k in 0..<16 { a6.append(UInt8(truncatingIfNeeded: a >> (120 - 8 * k))) }   // network order
    }
    write(a4, dir + "/v4.addr")
    write(a6, dir + "/v6.addr")
    write(t.mmdbBytes(description: "Customs benchmark table"), dir + "/table.mmdb")
    print("prepared \(count) IPv4 and \(count) IPv6 addresses, \(v4s.count)+\(v6s.count) ranges, table.mmdb in \(dir)")
}

func run(table path: String, dir: String, rounds: Int) {
    // RSS is taken around the first load only: later loads reuse memory the allocator kept.
    let rss0 = rssKiB()
    var t0 = now()
    let table = load(path)
    var loads = [now() - t0]
    let rss1 = rssKiB()
    for _ in 0..<4 {
        t0 = now()
        _ = load(path)
        loads.append(now() - t0)
    }
    loads.sort()
    let mem = table.memoryBytes
    print(String(format: "swift load %@: median %.1f ms (min %.1f), RSS +%d KiB (total %d KiB); lookup structures %d KiB, ranges %d KiB",
                 (path as NSString).lastPathComponent, loads[2] * 1e3, loads[0] * 1e3, rss1 - rss0, rss1, mem.lookup / 1024, mem.ranges / 1024))

    guard let d4 = FileManager.default.contents(atPath: dir + "/v4.addr"),
          let d6 = FileManager.default.contents(atPath: dir + "/v6.addr") else { fail("run 'prepare' first") }
    let v4: [UInt32] = d4.withUnsafeBytes { raw in (0..<(d4.count / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) } }
    let v6: [IPAddress] = d6.withUnsafeBytes { raw in
        (0..<(d6.count / 16)).map { i in
            .v6(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self)))
        }
    }
    func measure(_ name: String, _ n: Int, _ body: () -> UInt64) {
        var best = Double.infinity
        var sum: UInt64 = 0
        for _ in 0..<rounds {
            let t0 = cpuNow()
            sum = body()
            best = min(best, cpuNow() - t0)
        }
        print(String(format: "swift %@: %.2f M lookups/s per CPU-second (best of %d rounds of %d), checksum %llu", name, Double(n) / best / 1e6, rounds, n, sum))
    }
    measure("ipv4", v4.count) {
        var sum: UInt64 = 0
        for a in v4 { if case .country(let c) = table.lookup(.v4(a)) { sum &+= UInt64(c.raw) } }
        return sum
    }
    measure("ipv6", v6.count) {
        var sum: UInt64 = 0
        for a in v6 { if case .country(let c) = table.lookup(a) { sum &+= UInt64(c.raw) } }
        return sum
    }
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "prepare" where args.count == 5: prepare(table: args[2], dir: args[3], count: Int(args[4]) ?? 1_000_000)
case "run" where args.count >= 4: run(table: args[2], dir: args[3], rounds: args.count > 4 ? Int(args[4]) ?? 5 : 5)
default: fail("usage: GeoBench prepare TABLE DIR COUNT | run TABLE DIR [ROUNDS]")
}
