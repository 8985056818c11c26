import ArgumentParser

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Check and explain policy files.")
    func run() async throws { throw ValidationError("'policy' is not built yet") }
}
