import Testing
import Decision

@Suite struct DecisionModuleTests {
    @Test func moduleLinks() { #expect(DecisionModule.name == "Decision") }
}
