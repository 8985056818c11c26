import Testing
import Wire

@Suite struct WireModuleTests {
    @Test func moduleLinks() { #expect(WireModule.name == "Wire") }
}
