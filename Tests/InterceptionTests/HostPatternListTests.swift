import Testing
@testable import Interception

@Suite struct HostPatternListTests {
    @Test func wildcardsExactAndDotPrefix() throws {
        let list = try HostPatternList(["bank.example", "*.pinned.example", ".gov.example"])
        #expect(list.matches("bank.example"))
        #expect(list.matches("BANK.example."))
        #expect(!list.matches("www.bank.example"))
        #expect(list.matches("app.pinned.example"))
        #expect(list.matches("a.b.pinned.example"))
        #expect(!list.matches("pinned.example"))
        #expect(!list.matches("notpinned.example"))
        #expect(list.matches("gov.example"))
        #expect(list.matches("tax.gov.example"))
        #expect(!list.matches("example"))
        #expect(try HostPatternList(["*"]).matches("anything.example"))
        #expect(!(try HostPatternList([])).matches("anything.example"))
    }

    @Test func rejectsMalformedPatterns() {
        #expect(throws: TLSError.invalidName("a.*.example")) { try HostPatternList(["a.*.example"]) }
        #expect(throws: TLSError.invalidName("bad host")) { try HostPatternList(["bad host"]) }
    }
}
