import ArgumentParser

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Find the people in request bodies, as the gateway does.")
    func run() async throws { throw ValidationError("'inspect' is not built yet") }
}
