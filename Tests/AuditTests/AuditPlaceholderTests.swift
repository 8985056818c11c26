import Testing
import Audit

@Suite struct AuditModuleTests {
    @Test func moduleLinks() { #expect(AuditModule.name == "Audit") }
}
