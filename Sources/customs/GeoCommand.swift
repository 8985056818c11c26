import ArgumentParser

struct GeoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "geo", abstract: "Country table lookup and import.")
    func run() async throws { throw ValidationError("'geo' is not built yet") }
}
