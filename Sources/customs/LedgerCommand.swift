import ArgumentParser

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Show distinct counts per recipient, category and window.")
    func run() async throws { throw ValidationError("'ledger' is not built yet") }
}
