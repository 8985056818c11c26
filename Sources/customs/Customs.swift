import ArgumentParser

@main
struct Customs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customs",
        abstract: "An egress gateway that counts the people whose personal data leaves the country.",
        discussion: """
        Customs is a forwarding proxy. It inspects outbound requests, finds the personal \
        information in them, works out which country and recipient each flow goes to, keeps an \
        exact durable count of distinct people per recipient, and blocks (HTTP 451) or logs flows \
        that would cross a legal threshold without an approval on file.
        """,
        subcommands: [
            ServeCommand.self, GeoCommand.self, InspectCommand.self, PolicyCommand.self,
            LedgerCommand.self, ReviewCommand.self, CACommand.self,
        ]
    )
}
