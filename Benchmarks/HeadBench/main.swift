// HeadBench: cost of inspecting a request's target and header fields (RequestInspector), per request.
// usage: HeadBench MODE N   MODE: clean | browser | pi (the head inspection plan() now does per request)
//                           | baseline (the body check plan() did per request before, with Foundation's compare)
import CustomsCore
import Foundation
import Inspection

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "clean"
let n = args.count > 2 ? Int(args[2])! : 100_000
let inspector = RequestInspector(configuration: InspectionConfiguration(secret: Array("bench".utf8)))

let curl: [(name: String, value: String)] = [
    ("Host", "api.vendor.example"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*"),
    ("X-Request-Id", "req-7f3a9c2e"), ("Authorization", "Bearer 8fK2pQx7Lm3nZt6Vw9Yb"),
]
let browser: [(name: String, value: String)] = [
    ("Host", "api.vendor.example"),
    ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36"),
    ("Accept", "application/json"), ("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"), ("Accept-Encoding", "gzip, deflate, br"),
    ("Referer", "https://app.example.cn/orders?page=3"), ("Origin", "https://app.example.cn"),
    ("Cookie", "sid=9f8e7d6c5b4a3f2e; theme=dark; lang=zh"), ("Sec-Fetch-Mode", "cors"), ("Connection", "keep-alive"),
]

/// What plan() did per request before (EnforcementGovernor.mayCarryBody at main 6ecb75b^).
func mayCarryBody(_ headers: [(name: String, value: String)]) -> Bool {
    var length: String?
    for (name, value) in headers {
        if name.caseInsensitiveCompare("Transfer-Encoding") == .orderedSame { return true }
        if name.caseInsensitiveCompare("Content-Length") == .orderedSame { length = value }
    }
    guard let length else { return false }
    return length.trimmingCharacters(in: .whitespaces) != "0"
}

var found = 0
let start = DispatchTime.now().uptimeNanoseconds
for i in 0..<n {
    switch mode {
    case "baseline":
        if mayCarryBody(curl) { found += 1 }
    case "clean":
        if !inspector.inspect(path: "/v1/items/12345", query: "page=2&limit=50&sort=created_at", headers: curl).isEmpty { found += 1 }
    case "browser":
        if !inspector.inspect(path: "/v1/orders", query: "page=3&size=20", headers: browser).isEmpty { found += 1 }
    case "pi":
        let q = "id_card=11010519491231002X&phone=13812345678&i=\(i & 1023)"
        if !inspector.inspect(path: "/v1/users", query: q, headers: curl).isEmpty { found += 1 }
    default:
        fatalError("mode: clean | browser | pi | baseline")
    }
}
let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(max(n, 1))
print("\(mode): \(n) requests, \(String(format: "%.0f", ns)) ns/request, \(found) with people")
