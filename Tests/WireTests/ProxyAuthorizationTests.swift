import Testing
import Wire

@Suite struct ProxyAuthorizationTests {
    @Test func decodesBasic() throws {
        // "alice:s3cret:with:colons"
        let r = try #require(ProxyAuthorization.basic("Basic YWxpY2U6czNjcmV0OndpdGg6Y29sb25z"))
        #expect(r.user == "alice")
        #expect(r.password == "s3cret:with:colons")
        let lower = try #require(ProxyAuthorization.basic("basic  dTpw "))
        #expect(lower.user == "u" && lower.password == "p")
        let empty = try #require(ProxyAuthorization.basic("Basic Og=="))
        #expect(empty.user == "" && empty.password == "")
    }

    @Test(arguments: ["user", "u", "ab", "a:b", "ünï:cødé", "x:" + String(repeating: "p", count: 100)])
    func roundTrip(_ text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let user = String(parts[0]), password = parts.count > 1 ? String(parts[1]) : ""
        let value = ProxyAuthorization.basicValue(user: user, password: password)
        let r = try #require(ProxyAuthorization.basic(value))
        #expect(r.user == user && r.password == password)
    }

    @Test func knownEncoding() {
        #expect(ProxyAuthorization.basicValue(user: "Aladdin", password: "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }

    @Test(arguments: ["", "Basic", "Basic ", "Bearer dTpw", "Basic dTpw=", "Basic dTp", "Basic d*pw",
                      "Basic dXNlcg==", "Basic =Tpw", "Basic dT=w", "Digest username=\"u\"", "Basic //79"])
    func rejects(_ value: String) {
        #expect(ProxyAuthorization.basic(value) == nil)
    }
}
