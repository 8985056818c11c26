import Testing
import Enforcement

@Suite struct EnforcementModuleTests {
    @Test func moduleLinks() { #expect(EnforcementModule.name == "Enforcement") }
}
