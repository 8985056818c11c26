import ArgumentParser

struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "review", abstract: "Read and verify the audit log.")
    func run() async throws { throw ValidationError("'review' is not built yet") }
}
