import Testing
import Interception

@Suite struct InterceptionModuleTests {
    @Test func moduleLinks() { #expect(InterceptionModule.name == "Interception") }
}
