import Testing
import Ledger

@Suite struct LedgerModuleTests {
    @Test func moduleLinks() { #expect(LedgerModule.name == "Ledger") }
}
