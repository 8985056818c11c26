import Testing
import Geo

@Suite struct GeoModuleTests {
    @Test func moduleLinks() { #expect(GeoModule.name == "Geo") }
}
