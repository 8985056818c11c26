import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

@Suite struct CountsCommandTests {
    @Test func countsCommandPrintsEveryWindowFromTheFile() throws {
        let folder = try LedgerFolder()
        do {
            let ledger = try folder.open()
            try commit(ledger, makeBatch(instant("2025-12-31T23:59:00+08:00"), "acme", [1, 2], categories: [.pi, .sensitive]))
            try commit(ledger, makeBatch(instant("2026-02-01T10:00:00+08:00"), "globex", [2, 3]))
            ledger.close()
        }
        let binary = TestPaths.customsBinary.path
        let r = try runProcess(binary, ["ledger", "counts", "--db", folder.path, "--at", "2026-03-01T12:00:00+08:00", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect(json["at"] as? String == "2026-03-01T12:00:00+08:00")
        let rows = try #require(json["counts"] as? [[String: Any]])
        func count(_ scope: String, _ recipient: String?, _ category: String, _ window: String) -> Int? {
            rows.first {
                $0["scope"] as? String == scope && $0["recipient"] as? String == recipient
                    && $0["category"] as? String == category && $0["window"] as? String == window
            }?["count"] as? Int
        }
        #expect(count("company", nil, "pi", "calendar_year") == 2)        // 2 and 3 seen in 2026
        #expect(count("company", nil, "pi", "since_previous_year") == 3)
        #expect(count("company", nil, "sensitive", "calendar_year") == 0)
        #expect(count("company", nil, "sensitive", "unbounded") == 2)
        #expect(count("recipient", "acme", "pi", "calendar_year") == 0)
        #expect(count("recipient", "globex", "pi", "rolling_12_months") == 2)
        #expect(rows.allSatisfy { $0.keys.contains("recipient") })
        #expect(rows.count == 5 * 4)  // company pi/sensitive, acme pi/sensitive, globex pi; 4 windows each

        let table = try runProcess(binary, ["ledger", "counts", "--db", folder.path, "--at", "2026-03-01", "--utc-offset", "+08:00"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("recipient:globex"))
        #expect(table.stdout.contains("calendar_year"))

        let missing = try runProcess(binary, ["ledger", "counts", "--db", folder.url.appendingPathComponent("none.sqlite").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("none.sqlite"))
        let badDate = try runProcess(binary, ["ledger", "counts", "--db", folder.path, "--at", "March"])
        #expect(badDate.status != 0)
        #expect(badDate.stderr.contains("--at"))
    }
}
