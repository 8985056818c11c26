// Decision: one pure function from flow facts, policy and counts to a verdict.
public enum DecisionModule { public static let name = "Decision" }
