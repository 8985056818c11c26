// Policy: regime and site files, validated with line numbers; immutable snapshots.
public enum PolicyModule { public static let name = "Policy" }
