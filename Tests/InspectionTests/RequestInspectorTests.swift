import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

/// The request target and header fields: the same detectors and keys as bodies.
@Suite("Request line and headers")
struct RequestInspectorTests {
    let inspector = RequestInspector(configuration: configuration())
    static let id = "11010519491231002X"          // the standard's worked example
    static let otherID = "110101199003077774"

    func head(_ path: String = "/", query: String = "", headers: [(String, String)] = []) -> RequestInspector.Finding {
        inspector.inspect(path: path, query: query, headers: headers.map { (name: $0.0, value: $0.1) })
    }

    static func key(_ value: String, _ kind: DetectorKind) -> SubjectKey {
        SubjectKeys.key(for: value, kind: kind, secret: Array("test-secret".utf8))
    }

    @Test("query: IDs, phones and e-mails of one requester are one person, keyed by the strongest")
    func queryOnePerson() {
        let f = head("/v1/users", query: "id_card=\(Self.id)&phone=13812345678&email=zhang.san%40example.com")
        #expect(f.result.subjects.count == 1)
        #expect(f.result.subjects.first?.key == Self.key(Self.id, .idNumber))
        #expect(f.result[.idNumber] == 1 && f.result[.mobile] == 1 && f.result[.email] == 1)
        #expect(f.result.subjects.first?.kinds.isSuperset(of: [.idNumber, .mobile, .email]) == true)
        #expect(f.foundIn == ["query"])
    }

    @Test("query: two different ID numbers are two people")
    func queryTwoPeople() {
        let f = head(query: "ids=\(Self.id)&ids=\(Self.otherID)")
        #expect(f.result.subjects.count == 2)
        #expect(Set(f.result.subjects.map(\.key)) == [Self.key(Self.id, .idNumber), Self.key(Self.otherID, .idNumber)])
    }

    @Test("query: a parameter's name holding an identifier is read as one")
    func identifierNames() {
        let f = head(query: "\(Self.id)=1&contacts%5B13812345678%5D=x&v2=1")
        #expect(f.result[.idNumber] == 1 && f.result[.mobile] == 1, "\(f.result)")
        #expect(f.foundIn == ["query"])
        #expect(head(query: "page2=1&q=shoes").isEmpty)
    }

    @Test("percent-encoding and + as a space: %2B86, %20, %40, UTF-8 escapes")
    func percentEncoding() {
        let phoneKey = json(#"[{"phone":"13812345678"}]"#).subjects.first?.key
        #expect(phoneKey != nil)
        for q in ["tel=%2B86%20138%201234%205678", "tel=+86+138+1234+5678", "q=%2B8613812345678", "m=0086-138-1234-5678"] {
            let f = head(query: q)
            #expect(f.result.subjects.map(\.key) == [phoneKey!], "\(q)")
        }
        let name = head(query: "name=%E5%BC%A0%E4%B8%89&addr=%E5%8C%97%E4%BA%AC%E5%B8%82%E6%B5%B7%E6%B7%80%E5%8C%BA%E4%B8%AD%E5%85%B3%E6%9D%91%E5%A4%A7%E8%A1%971%E5%8F%B7")
        #expect(name.result.subjects.count == 1, "a name and an address in one request are one person")
        #expect(name.result[.name] == 1 && name.result[.address] == 1)
        #expect(head(query: "e=a%40b.cn")[.email] == 1)
        // Full-width digits, percent-encoded.
        let wide = "１３８１２３４５６７８".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(head(query: "x=\(wide)").result.subjects.map(\.key) == [phoneKey!])
    }

    @Test("path segments, percent-decoded; each segment its own part")
    func pathSegments() {
        let f = head("/users/\(Self.id)/orders")
        #expect(f.result.subjects.map(\.key) == [Self.key(Self.id, .idNumber)])
        #expect(f.foundIn == ["path"])
        #expect(head("/users/\(Self.id)/friends/\(Self.otherID)").result.subjects.count == 2)
        #expect(head("/contacts/zhang.san%40example.com/profile")[.email] == 1)
        #expect(head("/v1/orders/SO\(Self.id)").result.subjects.map(\.key) == [Self.key(Self.id, .idNumber)],
                "an order id holding a resident ID carries it")
        #expect(head("/v1/orders/SO2026112913812345678").isEmpty, "an order id")
    }

    @Test("header values: names act as field names; phones, e-mails, cookies, referers, credentials")
    func headerValues() {
        let phone = head(headers: [("X-User-Phone", "138 1234 5678")])
        #expect(phone.result[.mobile] == 1)
        #expect(phone.foundIn == ["header:x-user-phone"])
        #expect(head(headers: [("X-Id-Card", Self.id)]).result.subjects.map(\.key) == [Self.key(Self.id, .idNumber)])
        let name = head(headers: [("X-User-Name", "张三")])
        #expect(name.result[.name] == 1, "a name only by its field name")
        #expect(head(headers: [("X-Username", "jdoe")]).isEmpty, "a login name is not a person's name")
        #expect(head(headers: [("From", "Zhang.San@Example.com")])[.email] == 1)
        let cookie = head(headers: [("Cookie", "sid=9f8e7d6c5b4a; mobile=13812345678; theme=dark")])
        #expect(cookie.result[.mobile] == 1 && cookie.foundIn == ["header:cookie"])
        let referer = head(headers: [("Referer", "https://app.example.cn/search?id_card=\(Self.id)&page=2")])
        #expect(referer.result.subjects.map(\.key) == [Self.key(Self.id, .idNumber)])
        #expect(referer.foundIn == ["header:referer"])
        let basic = "Basic " + Data("13812345678:s3cret-666666".utf8).base64EncodedString()
        #expect(head(headers: [("Authorization", basic)])[.mobile] == 1)
        #expect(head(headers: [("Authorization", "Basic " + Data("svc:\(Self.id)".utf8).base64EncodedString())]).isEmpty,
                "a password is not a data subject's")
        let claims = #"{"sub":"u-1","email":"li.si@example.com","exp":1798000000}"#
        let jwt = "eyJhbGciOiJIUzI1NiJ9." + Data(claims.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            + ".c2ln"
        #expect(head(headers: [("Authorization", "Bearer " + jwt)])[.email] == 1, "JWT claims")
    }

    @Test("framing and negotiation fields are not inspected")
    func ignoredHeaders() {
        let f = head(headers: [("Content-Length", "13812345678"), ("If-None-Match", "\"13812345678\""),
                               ("Accept-Language", "zh-CN,zh;q=0.9"), ("Range", "bytes=13812345678-"),
                               ("Proxy-Authorization", "Basic " + Data("a@b.cn:x".utf8).base64EncodedString())])
        #expect(f.isEmpty)
    }

    @Test("masked values and checksum failures count no one")
    func notPeople() {
        #expect(head(query: "phone=138****5678&id=110101********123X&e=z***@qq.com").isEmpty)
        #expect(head(query: "id_card=110105194912310021").isEmpty, "wrong check character")
        #expect(head("/orders/1703524786671986546").isEmpty, "a snowflake id")
        #expect(head(query: "phone=15412345678").isEmpty, "154 is not allocated")
    }

    @Test("where people were found: every place, in request order")
    func foundIn() {
        let f = head("/u/\(Self.otherID)", query: "id_card=\(Self.id)&page=1",
                     headers: [("User-Agent", "curl/8.5.0"), ("X-User-Phone", "13912345678"), ("X-Trace", "abc")])
        #expect(f.foundIn == ["path", "query", "header:x-user-phone"])
        #expect(f.result.subjects.count == 2, "two ID numbers; the phone joins one of them")
    }

    @Test("a minor's ID in the query makes a sensitive subject")
    func minor() {
        let child = ResidentIDs.withCheck("110105" + "20200101" + "001")
        let f = head(query: "passenger=\(child)")
        #expect(f.result.minors == 1 && f.result.subjects.first?.isSensitive == true)
    }

    @Test("a person in the query and in the body is one subject")
    func mergedWithBody() {
        let f = head(query: "id_card=\(Self.id)")
        let body = json(#"[{"name":"张三","id_card":"\#(Self.id)"},{"id_card":"\#(Self.otherID)"}]"#)
        let merged = body.merging(f.result, sensitivity: .gbt45574_2025)
        #expect(merged.subjects.count == 2)
        #expect(merged.categoryCounts[.pi] == 2)
        #expect(merged.subjects.first { $0.key == Self.key(Self.id, .idNumber) }?.kinds.contains(.name) == true)
        let other = head(query: "phone=13812345678").result
        #expect(body.merging(other, sensitivity: .gbt45574_2025).subjects.count == 3)
        // With value keys on both sides the per-kind counts stay distinct.
        var c = configuration()
        c.reportValueKeys = true
        let exact = inspect(#"[{"id_card":"\#(Self.id)"}]"#, type: "application/json", configuration: c)
            .merging(RequestInspector(configuration: c).inspect(path: "/", query: "id=\(Self.id)", headers: []).result,
                     sensitivity: .gbt45574_2025)
        #expect(exact[.idNumber] == 1)
    }

    @Test("ordinary requests pass the pre-scan without an inspector")
    func preScan() {
        let clean = ["curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
                     "python-requests/2.31.0", "okhttp/4.12.0", "page=2&limit=50&sort=created_at", "Bearer abc.def",
                     "192.168.1.100", "138****5678", "v=1.0.12"]
        func may(_ v: String) -> Bool { var s = v; return s.withUTF8 { RequestInspector.mayHoldIdentifier($0, decode: true) } }
        for v in clean { #expect(!may(v), "\(v)") }
        let suspicious = ["13812345678", "138 1234 5678", "+86-138-1234-5678", "a%40b.cn", "a@b", "%E5%BC%A0", "张三", "A123456(3)"]
        for v in suspicious { #expect(may(v), "\(v)") }
        // Field names that say what a value is get past the pre-scan whatever the value looks like.
        func may(_ path: String, _ query: String, _ headers: [(String, String)]) -> Bool {
            inspector.mayHoldPersonalData(path: path, query: query, headers: headers.map { (name: $0.0, value: $0.1) })
        }
        #expect(!may("/v1/items", "page=2&limit=50", [("User-Agent", "curl/8.5.0"), ("Cookie", "theme=dark")]))
        #expect(may("/", "full_name=John+Smith", []))
        #expect(may("/", "", [("X-User-Name", "John Smith")]))
        #expect(may("/", "", [("Cookie", "theme=dark; realName=John")]))
        #expect(may("/", "", [("Referer", "https://app.example/p?name=John")]))
        #expect(may("/", "", [("authorization", "basic dXNlcjpwYXNz")]))
        #expect(head(query: "full_name=John+Smith&home_address=1+Main+Street")[.name] == 1)
        let f = head("/v1/items", query: "page=2&limit=50",
                     headers: [("Host", "api.example.com"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")])
        #expect(f.isEmpty && f.result.records == 0)
    }
}

extension RequestInspector.Finding {
    subscript(_ k: DetectorKind) -> Int { result[k] }
}
