import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where things are, for tests that drive the real binary or read shared data.
public enum TestPaths {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `../shared` beside the project (CI lays a copy there).
    public static let shared: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// The `customs` executable built alongside the running test bundle
    /// (override with CUSTOMS_BIN).
    public static let customsBinary: URL = {
        if let env = ProcessInfo.processInfo.environment["CUSTOMS_BIN"] { return URL(fileURLWithPath: env) }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("customs")
    }()

    /// A fresh temporary directory, removed by the caller (or left for post-mortems under /tmp).
    public static func temporaryDirectory(_ label: String = "customs-test") throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A loopback TCP port that was free a moment ago, chosen below the kernel's ephemeral range.
///
/// Asking the kernel for port 0 hands out an ephemeral port, and between closing the probe and the
/// child's bind the same port can become the local end of any outgoing connection (curl, the
/// gateway's own upstream connections): the child then fails to bind, as it did in one CI run.
/// Ports below `ip_local_port_range` are never picked for outgoing connections, and a port this
/// process has handed out once is never handed out again.
public func freeLoopbackPort() -> UInt16 {
    PortPicker.shared.next()
}

private final class PortPicker: @unchecked Sendable {
    static let shared = PortPicker()
    // Guarded by `lock`: tests in one process pick ports from many threads.
    private let lock = NSLock()
    private var handedOut = Set<UInt16>()
    private var generator = SystemRandomNumberGenerator()
    private let range: ClosedRange<UInt16>

    private init() {
        // "32768\t60999" on Debian; anything unreadable falls back to that default.
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { UInt16($0) } ?? 32768
        range = 10_000...max(10_001, low - 1)
    }

    func next() -> UInt16 {
        lock.lock(); defer { lock.unlock() }
        for _ in 0..<10_000 {
            let port = UInt16.random(in: range, using: &generator)
            if handedOut.contains(port) || !Self.bindable(port) { continue }
            handedOut.insert(port)
            return port
        }
        preconditionFailure("no free loopback port in \(range)")
    }

    /// Whether 127.0.0.1:`port` and [::1]:`port` can both be bound right now (no SO_REUSEADDR, so a
    /// port still in TIME_WAIT counts as taken).
    private static func bindable(_ port: UInt16) -> Bool {
        let v4 = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard v4 >= 0 else { return false }
        defer { close(v4) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok4 = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(v4, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
        guard ok4 else { return false }
        let v6 = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard v6 >= 0 else { return true }  // no IPv6 here: the IPv4 answer is all there is
        defer { close(v6) }
        var b = sockaddr_in6()
        b.sin6_family = sa_family_t(AF_INET6)
        b.sin6_port = port.bigEndian
        inet_pton(AF_INET6, "::1", &b.sin6_addr)
        let r = withUnsafePointer(to: &b) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(v6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        // EADDRNOTAVAIL: ::1 is not configured, which is not a conflict.
        return r == 0 || errno == EADDRNOTAVAIL
    }
}

/// The result of a finished child process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let stdoutData: Data
}

/// Runs a program to completion with a hard deadline (the child is killed when it passes).
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], stdin: Data? = nil,
                       environment: [String: String]? = nil, currentDirectory: URL? = nil,
                       timeout: TimeInterval = 60) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
    p.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    if let currentDirectory { p.currentDirectoryURL = currentDirectory }
    let dir = try TestPaths.temporaryDirectory("proc")
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    // Closed here, not left to the handles' deallocation: Foundation's Process keeps them open,
    // and the suite's processes leaked hundreds of descriptors, past the 1,024 where Foundation's
    // own `select` overflows (the test process crashed inside `Process.run`).
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    var inHandle: FileHandle?
    defer {
        try? outHandle.close()
        try? errHandle.close()
        try? inHandle?.close()
    }
    p.standardOutput = outHandle
    p.standardError = errHandle
    if let stdin {
        let inURL = dir.appendingPathComponent("in")
        try stdin.write(to: inURL)
        inHandle = try FileHandle(forReadingFrom: inURL)
        p.standardInput = inHandle
    } else {
        p.standardInput = FileHandle.nullDevice
    }
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
    let out = (try? Data(contentsOf: outURL)) ?? Data()
    let err = (try? Data(contentsOf: errURL)) ?? Data()
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                         stderr: String(decoding: err, as: UTF8.self), stdoutData: out)
}

/// A long-running child (a gateway, an upstream server) that is killed when released or at `stop()`.
public final class BackgroundProcess: @unchecked Sendable {
    // Only touched from the test's own task; the lock guards stop() racing deinit.
    public let process = Process()
    public let logURL: URL
    /// The program's file name, for messages.
    public let name: String
    private let lock = NSLock()

    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: URL? = nil) throws {
        let dir = try TestPaths.temporaryDirectory("bg")
        logURL = dir.appendingPathComponent("output.log")
        name = URL(fileURLWithPath: executable).lastPathComponent
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let h = try FileHandle(forWritingTo: logURL)
        // The child writes through its own copy of the descriptor; ours is closed at once (see
        // `runProcess`: left open, such handles added up past Foundation's limit).
        defer { try? h.close() }
        process.standardOutput = h
        process.standardError = h
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
    public var pid: Int32 { process.processIdentifier }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Stops the child (SIGTERM, then SIGKILL after `grace`) and waits for it.
    @discardableResult
    public func stop(grace: TimeInterval = 5) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { _ = stop(grace: 1) }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port` (or ::1), or throws. Given the
/// child that should be listening, it throws at once, with the child's output, when the child exits;
/// the timeout is long because start-up on two cores with every test target running can be slow.
public func waitForListener(port: UInt16, host: String = "127.0.0.1", timeout: TimeInterval = 60,
                            process: BackgroundProcess? = nil) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if canConnect(host: host, port: port) { return }
        if let process, !process.process.isRunning {
            throw TestSupportError.exited("\(process.name) exited with status \(process.process.terminationStatus) "
                                          + "before listening on \(host):\(port); its output:\n\(process.output.suffix(2000))")
        }
        usleep(20_000)
    }
    let output = process.map { "; \($0.name) printed:\n\($0.output.suffix(2000))" } ?? ""
    throw TestSupportError.timeout("nothing listening on \(host):\(port) after \(timeout)s\(output)")
}

public func canConnect(host: String, port: UInt16) -> Bool {
    let v6 = host.contains(":")
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    if v6 {
        var a = sockaddr_in6()
        a.sin6_family = sa_family_t(AF_INET6)
        a.sin6_port = port.bigEndian
        inet_pton(AF_INET6, host, &a.sin6_addr)
        return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 } }
    }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = inet_addr(host)
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
}

public enum TestSupportError: Error, CustomStringConvertible {
    case timeout(String)
    case exited(String)
    case missingTool(String)
    public var description: String {
        switch self {
        case .timeout(let s): return "timeout: \(s)"
        case .exited(let s): return s
        case .missingTool(let s): return "missing tool: \(s) (the README's test command installs it)"
        }
    }
}

/// Fails loudly when a tool the test needs is absent, rather than skipping quietly.
public func requireTool(_ name: String) throws {
    let r = try runProcess("sh", ["-c", "command -v \(name)"], timeout: 10)
    if r.status != 0 { throw TestSupportError.missingTool(name) }
}

/// How much a mutation test runs. `CUSTOMS_FUZZ_SEED` and `CUSTOMS_FUZZ_ITERATIONS` override a
/// test's defaults, so a failure seen by hand can be replayed and a longer run asked for.
public enum FuzzSettings {
    public static func seed(default value: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["CUSTOMS_FUZZ_SEED"].flatMap { UInt64($0) } ?? value
    }

    public static func iterations(default value: Int) -> Int {
        ProcessInfo.processInfo.environment["CUSTOMS_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? value
    }
}
