import Testing
import Policy

@Suite struct PolicyModuleTests {
    @Test func moduleLinks() { #expect(PolicyModule.name == "Policy") }
}
