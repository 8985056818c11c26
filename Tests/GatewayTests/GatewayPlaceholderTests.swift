import Testing
import Gateway

@Suite struct GatewayModuleTests {
    @Test func moduleLinks() { #expect(GatewayModule.name == "Gateway") }
}
