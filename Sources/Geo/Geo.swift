// Geo: country table import and IPv4/IPv6 lookup. Filled in by the Geo work.
public enum GeoModule { public static let name = "Geo" }
