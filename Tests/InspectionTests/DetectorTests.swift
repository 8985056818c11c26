import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Inspection

@Suite("Detectors")
struct DetectorTests {
    @Test("resident ID: MOD 11-2 check character, province, birth date")
    func residentID() {
        // 11010519491231002X is the standard's worked example.
        #expect(json(#"[{"note":"11010519491231002X"}]"#)[.idNumber] == 1)
        #expect(json(#"[{"note":"11010519491231002x"}]"#)[.idNumber] == 1)
        #expect(json(#"[{"note":"110105194912310021"}]"#)[.idNumber] == 0, "wrong check character")
        #expect(json(#"[{"note":"990105194912310027"}]"#)[.idNumber] == 0, "no such province")
        #expect(json(#"[{"note":"110105194913310026"}]"#)[.idNumber] == 0, "month 13")
        #expect(json(#"[{"n":"ID 11010519491231002X."}]"#)[.idNumber] == 1, "inside text")
        #expect(json(#"[{"n":"911010519491231002X"}]"#)[.idNumber] == 0, "part of a longer number")
        #expect(json(#"[{"n":"SO110105194912310021"}]"#)[.idNumber] == 0, "an order id whose digits fail the check")
        #expect(json(#"[{"n":"110105 19491231 002X"}]"#)[.idNumber] == 1, "grouped with spaces")
    }

    /// A resident ID or a phone glued to the word before it is still the person's; a token that
    /// only looks like one (order ids, hashes, user names) is not.
    @Test("identifiers glued to letters: IDs always, mobiles after a word for a phone")
    func gluedToLetters() {
        #expect(json(#"[{"n":"ID11010519491231002X"}]"#)[.idNumber] == 1)
        #expect(json(#"[{"n":"id_11010519491231002x, thanks"}]"#)[.idNumber] == 1)
        #expect(json(#"[{"n":"SO11010519491231002X"}]"#)[.idNumber] == 1, "an order id holding a resident ID carries it")
        #expect(json(#"[{"n":"ref11010519491231002Xcn"}]"#)[.idNumber] == 1, "letters after it too")
        #expect(json(#"[{"n":"Tel13812345678"}]"#)[.mobile] == 1)
        #expect(json(#"[{"n":"MOBILE13812345678; call after 6"}]"#)[.mobile] == 1)
        #expect(json(#"[{"n":"phone_13812345678"}]"#)[.mobile] == 1)
        #expect(json(#"[{"n":"shouji13812345678"}]"#)[.mobile] == 1)
        // Not identifiers: no word for a phone, glued on the right, longer runs, masks, decimals.
        #expect(json(#"[{"n":"user13812345678"}]"#)[.mobile] == 0)
        #expect(json(#"[{"n":"SO13812345678"}]"#)[.mobile] == 0)
        #expect(json(#"[{"n":"a9b13812345678"}]"#)[.mobile] == 0, "a piece of a hex hash")
        #expect(json(#"[{"n":"Tel13812345678x"}]"#)[.mobile] == 0)
        #expect(json(#"[{"n":"Tel138123456789"}]"#)[.mobile] == 0)
        #expect(json(#"[{"n":"ID11010519491231002X1"}]"#)[.idNumber] == 0)
        #expect(json(#"[{"n":"ID11010519491231002X*"}]"#)[.idNumber] == 0)
        #expect(json(#"[{"n":"v110105194912310003"}]"#)[.idNumber] == 1, "the same check, all digits")
        #expect(json(#"[{"n":"v110105194912310003.5"}]"#)[.idNumber] == 0, "a decimal")
        #expect(json(#"[{"n":"ID110105194912310021"}]"#)[.idNumber] == 0, "wrong check character")
    }

    @Test("legacy 15-digit IDs only where the field says ID")
    func legacyID() {
        #expect(json(#"[{"idCard":"110105491231002"}]"#)[.idNumber] == 1)
        #expect(json(#"[{"ref":"110105491231002"}]"#)[.idNumber] == 0)
    }

    @Test("mobile numbers: prefixes, separators, country codes, E.164 normalisation")
    func mobiles() {
        let r = json(#"[{"a":"13812345678"},{"a":"+86 138 1234 5678"},{"a":"0086-138-1234-5678"},{"a":"86 13812345678"}]"#)
        #expect(r[.mobile] == 1, "all four are the same number")
        #expect(r.subjects.count == 1)
        #expect(json(#"[{"a":"15412345678"}]"#)[.mobile] == 0, "154 is not allocated")
        #expect(json(#"[{"a":"12012345678"}]"#)[.mobile] == 0)
        #expect(json(#"[{"a":"19412345678"}]"#)[.mobile] == 0)
        #expect(json(#"[{"a":"1381234567"}]"#)[.mobile] == 0, "10 digits")
        #expect(json(#"[{"ts":1794486748177}]"#)[.mobile] == 0, "13-digit timestamp")
        #expect(json(#"[{"phone":13812345678}]"#)[.mobile] == 1, "JSON number")
    }

    @Test("masked values identify no one")
    func masked() {
        let r = json(#"[{"m":"138****5678","id":"110101********123X","e":"z***@qq.com","c":"6222 **** **** 1234"}]"#)
        #expect(r.subjects.isEmpty)
        #expect(r[.mobile] == 0 && r[.idNumber] == 0 && r[.email] == 0 && r[.bankCard] == 0)
    }

    @Test("e-mail: case-folded, boundaries")
    func email() {
        let r = json(#"[{"e":"Zhang.San@Example.COM"},{"x":"mail zhang.san@example.com, thanks"}]"#)
        #expect(r[.email] == 1)
        #expect(json(#"[{"e":"not-an-email@localhost"}]"#)[.email] == 0)
        // An internationalised domain as DNS writes it (例子.中国).
        #expect(json(#"[{"e":"li@xn--fsqu00a.xn--fiqs8s"}]"#)[.email] == 1)
        #expect(json(#"[{"e":"li@example.c0m"}]"#)[.email] == 0)
    }

    @Test("bank cards: Luhn, issuer ranges, separators; not IDs, not order numbers")
    func bankCards() {
        #expect(json(#"[{"c":"6222021234567890128"}]"#)[.bankCard] == (Checksums.luhnString("6222021234567890128") ? 1 : 0))
        #expect(json(#"[{"c":"4111 1111 1111 1111"}]"#)[.bankCard] == 1)
        #expect(json(#"[{"c":"4111111111111112"}]"#)[.bankCard] == 0, "Luhn fails")
        #expect(json(#"[{"trade_no":"1703524786671986546"}]"#)[.bankCard] == 0, "snowflake id, no issuer")
        // A valid ID that happens to pass Luhn is an ID.
        let r = json(#"[{"x":"11010519491231002X"}]"#)
        #expect(r[.bankCard] == 0 && r[.idNumber] == 1)
    }

    @Test("passports, Hong Kong and Taiwan IDs")
    func documents() {
        #expect(json(#"[{"n":"护照E12345678"}]"#)[.passport] == 1)
        #expect(json(#"[{"n":"EA1234567"}]"#)[.passport] == 1)
        #expect(json(#"[{"n":"EI1234567"}]"#)[.passport] == 0, "no I after E")
        #expect(json(#"[{"passport_no":"527594954"}]"#)[.passport] == 1, "field-named")
        #expect(json(#"[{"n":"A123456(3)"}]"#)[.hkID] == 1)
        #expect(json(#"[{"n":"A123456(4)"}]"#)[.hkID] == 0)
        #expect(json(#"[{"n":"A123456789"}]"#)[.twID] == 1)
        #expect(json(#"[{"n":"A123456788"}]"#)[.twID] == 0)
    }

    @Test("precise geolocation in fields, pairs and GeoJSON; coarse ones are not")
    func geo() {
        #expect(json(#"[{"lat":31.230416,"lng":121.473701}]"#)[.geo] == 1)
        #expect(json(#"[{"position":"31.230416,121.473701"}]"#)[.geo] == 1)
        #expect(json(#"[{"geometry":{"type":"Point","coordinates":[121.473701,31.230416]}}]"#)[.geo] == 1)
        #expect(json(#"[{"lat":31.23,"lng":121.47}]"#)[.geo] == 0, "two decimals is a city")
        #expect(json(#"[{"经纬度":"37.729984,115.671268"}]"#)[.geo] == 1)
    }

    @Test("minors: under 14 on the flow date in UTC+8; the 14th birthday still counts (周岁 from the next day)")
    func minors() {
        func id(_ birth: String) -> String { ResidentIDs.withCheck("110105" + birth + "001") }
        #expect(json("[{\"id\":\"\(id("20121129"))\"}]").minors == 1, "14th birthday today")
        #expect(json("[{\"id\":\"\(id("20121128"))\"}]").minors == 0, "turned 14 yesterday")
        #expect(json("[{\"id\":\"\(id("20200101"))\"}]").minors == 1)
        #expect(json("[{\"id\":\"\(id("20261130"))\"}]")[.idNumber] == 0, "born tomorrow is impossible")
        let r = json("[{\"name\":\"小明\",\"birthday\":\"2015-03-06\"}]")
        #expect(r.minors == 1 && r.subjects.first?.isSensitive == true, "minors are sensitive")
    }

    @Test("field-name dictionaries: English, Chinese, pinyin, camelCase, snake_case; organisations are not names")
    func fieldNames() {
        let r = json(#"[{"姓名":"张三","dz":"北京市海淀区中关村大街1号"},{"realName":"李四","home_address":"上海市浦东新区世纪大道100号"},{"xm":"王五"}]"#)
        #expect(r[.name] == 3 && r[.address] == 2)
        let org = json(#"{"merchant":{"id":"M1","name":"易动力网络有限公司"},"orders":[{"buyer":{"name":"张三","phone":"13812345678"}}]}"#)
        #expect(org[.name] == 1)
        let s = json(#"[{"name":"赵六","diagnosis":"高血压","religion":"佛教","fingerprint":"AAEC"}]"#)
        #expect(s[.health] == 1 && s[.religion] == 1 && s[.biometric] == 1)
        var c = configuration()
        c.extraFieldNames = [.name: ["khmc"]]
        #expect(inspect(#"[{"khmc":"钱七"}]"#, type: "application/json", configuration: c)[.name] == 1)
    }

    @Test("sensitivity mappings differ on identity documents")
    func sensitivity() {
        let body = #"[{"name":"张三","idCard":"11010519491231002X"}]"#
        #expect(inspect(body, type: "application/json").categoryCounts[.sensitive] == 0)
        #expect(inspect(body, type: "application/json", configuration: configuration(.gbt35273_2020)).categoryCounts[.sensitive] == 1)
        #expect(SensitivityMapping.named("gb/t-35273-2020") == .gbt35273_2020)
        #expect(SensitivityMapping.named("GB/T-45574-2025") == .gbt45574_2025)
        #expect(SensitivityMapping.named("iso") == nil)
    }

    @Test("subject keys: HMAC of the strongest identifier, normalised; secret-dependent")
    func subjectKeys() {
        let r = json(#"[{"name":"张三","phone":"13812345678","idCard":"11010519491231002x","email":"A@B.CN"}]"#)
        let expected = SubjectKeys.key(for: "11010519491231002X", kind: .idNumber, secret: Array("test-secret".utf8))
        #expect(r.subjects.map(\.key) == [expected])
        #expect(r.subjects.first?.masked == "****002X")
        #expect(SubjectKeys.key(for: "x", kind: .email, secret: [1]) != SubjectKeys.key(for: "x", kind: .email, secret: [2]))
    }
}

@Suite("Civil dates")
struct CivilDateTests {
    @Test("UTC+8 civil date arithmetic agrees with Foundation's calendar")
    func civil() {
        let cal = CivilCalendar.chinaStandardTime
        for t in stride(from: -2_000_000_000.0, to: 4_000_000_000.0, by: 7_777_777.0) {
            let d = Date(timeIntervalSince1970: t)
            let c = cal.civilDate(d)
            #expect(RecordAssembler.civilYMD(d) == c.year * 10_000 + c.month * 100 + c.day)
        }
        // 2026-11-28 16:00 UTC is already the 29th in Beijing.
        #expect(RecordAssembler.civilYMD(Date(timeIntervalSince1970: 1_795_881_600)) == 20261129)
    }
}

/// Account-id fields link records; when their value is itself a self-validating identifier it is
/// also that person's identifier.
@Suite struct AccountFieldTests {
    @Test func residentIDsAndEmailsInAccountFieldsAreCounted() {
        let r = json(#"[{"passenger_id":"11010519491231002X"},{"uid":"li.lei@example.com"},{"passengerId":"11010519491231002x","seat":"3A"}]"#)
        #expect(r[.idNumber] == 1)
        #expect(r[.email] == 1)
        #expect(r.subjects.count == 2)
    }

    @Test func weakerPatternsInAccountFieldsAreAccountNumbers() {
        // An 11-digit uid on a mobile prefix, a Luhn-valid 16-digit member number.
        let r = json(#"[{"uid":"13812345678"},{"member_id":"4111111111111111"}]"#)
        #expect(r[.mobile] == 0)
        #expect(r[.bankCard] == 0)
        #expect(r.subjects.isEmpty)
    }
}
