// Interception: CA, leaf minting, TLS over non-blocking sockets with OpenSSL.
public enum InterceptionModule { public static let name = "Interception" }
