// Gateway: the libdispatch data plane. Filled in by the Gateway work.
public enum GatewayModule { public static let name = "Gateway" }
