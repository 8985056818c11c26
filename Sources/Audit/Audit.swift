// Audit: append-only hash-chained decision log, rotation, verify, query.
public enum AuditModule { public static let name = "Audit" }
