import Testing
import Inspection

@Suite struct InspectionModuleTests {
    @Test func moduleLinks() { #expect(InspectionModule.name == "Inspection") }
}
