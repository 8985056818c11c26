// Wire: HTTP/1.1 framing (RFC 9112) and TLS ClientHello parsing. Filled in by the Wire work.
public enum WireModule { public static let name = "Wire" }
