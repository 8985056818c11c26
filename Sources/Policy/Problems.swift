/// One thing wrong in a policy file, located as `file:line:col` (1-based, columns in Unicode scalars).
public struct PolicyProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found while loading a policy; nothing is loaded if there is one.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    public let problems: [PolicyProblem]
    public init(problems: [PolicyProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
