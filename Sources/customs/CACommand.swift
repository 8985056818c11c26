import ArgumentParser

struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ca", abstract: "Manage the interception certificate authority.")
    func run() async throws { throw ValidationError("'ca' is not built yet") }
}
