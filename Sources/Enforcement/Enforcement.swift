// Enforcement: joins geo, inspection, policy, ledger, decision and audit on the request path.
public enum EnforcementModule { public static let name = "Enforcement" }
