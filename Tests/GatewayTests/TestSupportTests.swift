import CustomsTestSupport
import Foundation
import Testing

/// The helpers every gateway test starts its servers with: a CI run once failed because a port
/// handed out from the ephemeral range was taken before the gateway could bind it.
@Suite struct TestSupportTests {
    @Test func portsComeFromBelowTheEphemeralRangeAndNeverTwice() throws {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let low = try #require(text.split(whereSeparator: \.isWhitespace).first.flatMap { UInt16($0) })
        let ports = (0..<200).map { _ in freeLoopbackPort() }
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { $0 >= 10_000 && $0 < low })
    }

    @Test func aChildThatExitsIsReportedAtOnceWithItsOutput() throws {
        let child = try BackgroundProcess("sh", ["-c", "echo cannot bind: address in use; exit 3"])
        let start = Date()
        #expect {
            try waitForListener(port: freeLoopbackPort(), timeout: 20, process: child)
        } throws: { error in
            let text = "\(error)"
            return text.contains("exited with status 3") && text.contains("cannot bind: address in use")
        }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
