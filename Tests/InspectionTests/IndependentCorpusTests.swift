import CustomsCore
import Testing
@testable import Inspection

/// Bodies the independent corpus (Benchmarks/corpus/independent_corpus.py) found wrong, each cut
/// down to the smallest that failed.
@Suite("Independent corpus findings")
struct IndependentCorpusTests {
    @Test("a child registered under a parent's phone is a second person (two resident IDs)")
    func sharedPhoneTwoIDs() {
        let r = json(#"""
            {"registrations":[{"name":"张三","idNo":"11010519491231002X","mobile":"13812345678",
              "children":[{"name":"张小","idNo":"110105201501010025","guardianPhone":"13812345678"}]}]}
            """#)
        #expect(r.subjects.count == 2)
        #expect(r[.idNumber] == 2 && r[.mobile] == 1)
        #expect(r.minors == 1)
    }

    @Test("the same phone still joins records of one person, and an ID joins across phones")
    func sharedPhoneOnePerson() {
        #expect(json(#"[{"idNo":"11010519491231002X","mobile":"13812345678"},{"mobile":"+86 138 1234 5678","email":"a@b.cn"}]"#)
            .subjects.count == 1)
        #expect(json(#"[{"idNo":"11010519491231002X","mobile":"13812345678"},{"idNo":"11010519491231002x","mobile":"13912345678"}]"#)
            .subjects.count == 1)
    }

    @Test("a legacy 15-digit ID in an ID field is an ID even when it passes Luhn")
    func legacyIDPassingLuhn() {
        let r = json(#"[{"id_card":"360102920621313"}]"#)
        #expect(r[.idNumber] == 1)
        #expect(r[.bankCard] == 0)
    }

    @Test("an 18-digit number failing the ID check is not a card because it passes Luhn")
    func badIDPassingLuhn() {
        // Province, birth date and sequence of an ID, wrong check digit, Luhn-valid, issuer-like prefix.
        for v in ["620102194303286861", "350203196505053306"] {
            #expect(json(#"[{"refNo":"\#(v)"}]"#)[.bankCard] == 0, "\(v)")
            #expect(json(#"[{"idNo":"\#(v)"}]"#)[.bankCard] == 0, "\(v)")
            #expect(json(#"[{"idNo":"\#(v)"}]"#)[.idNumber] == 0, "\(v)")
        }
        // Named a card, it is one.
        #expect(json(#"[{"bankCardNo":"620102194303286861"}]"#)[.bankCard] == 1)
    }

    @Test("an order export row with buyer and receiver columns holds two people")
    func twoPeopleInARow() {
        let csv = """
            order_no,buyer_name,buyer_mobile,receiver_name,receiver_phone,receiver_address
            A1,张三,13812345678,王五,13712345678,北京市朝阳区建国路1号
            A2,张三,+86 138 1234 5678,赵六,13612345678,上海市徐汇区漕溪北路2号

            """
        let r = inspect(csv, type: "text/csv")
        #expect(r.records == 2)
        #expect(r.subjects.count == 3)
        let tsv = "姓名\t手机号\t身份证号\t紧急联系人\t紧急联系人电话\n张三\t13812345678\t11010519491231002X\t李四\t13912345678\n"
        #expect(inspect(tsv, type: "text/tab-separated-values").subjects.count == 2)
        let numbered = "姓名,手机号,紧急联系人1,紧急联系人1电话,紧急联系人2,紧急联系人2电话\n张三,13812345678,李四,13912345678,王五,13712345678\n"
        #expect(inspect(numbered, type: "text/csv").subjects.count == 3, "numbered contacts")
        let contacts = "name,mobile,contact1_name,contact1_phone,contact2_name,contact2_phone,contact_email\n张三,13812345678,李四,13912345678,王五,13712345678,z@x.cn\n"
        #expect(inspect(contacts, type: "text/csv").subjects.count == 3, "contact1_, contact2_")
        #expect(json(#"[{"name":"张三","mobile":"13812345678","contact1Name":"李四","contact1Phone":"13912345678"}]"#).subjects.count == 2)
        let hr = "name,mobile,emergency_phone,emergency_contact_name\n张三,13812345678,13912345678,李四\n"
        #expect(inspect(hr, type: "text/csv").subjects.count == 2, "emergency_phone and emergency_contact_name: one person")
    }

    @Test("one person's row stays one person whatever its columns' prefixes")
    func onePersonInARow() {
        let csv = "姓名,手机号,收货地址,收货人\n张三,13812345678,北京市朝阳区建国路1号,张三\n"
        #expect(inspect(csv, type: "text/csv").subjects.count == 1)
        let one = "receiver_name,receiver_phone,receiver_address\n王五,13712345678,北京市朝阳区建国路1号\n"
        #expect(inspect(one, type: "text/csv").subjects.count == 1)
    }

    @Test("a phone-number mailbox is an e-mail address, not also a mobile")
    func phoneNumberMailbox() {
        let r = json(#"[{"email":"13812345678@163.com"},{"note":"写信到 13912345678@qq.com 或打 13712345678"}]"#)
        #expect(r[.email] == 2)
        #expect(r[.mobile] == 1)
    }

    @Test("a Luhn-valid number on a card issuer's range named as an order number is not a card")
    func orderNumbersAreNotCards() {
        // 4111111111111111 passes Luhn on Visa's range.
        for key in ["order_id", "orderNo", "out_trade_no", "transactionId", "tracking_number", "订单号", "流水号"] {
            #expect(json(#"[{"\#(key)":"4111111111111111"}]"#)[.bankCard] == 0, "\(key)")
        }
        #expect(json(#"[{"orderNo":4111111111111111}]"#)[.bankCard] == 0, "as a JSON number")
        for note in ["订单号 4111111111111111 未发货", "Order #4111111111111111 delayed", "交易号：4111111111111111"] {
            #expect(inspect(note + "\n", type: "text/plain")[.bankCard] == 0, "\(note)")
        }
        // Where nothing names it otherwise, it is a card; so is a card field that mentions payment.
        #expect(json(#"[{"note":"卡号 4111111111111111"}]"#)[.bankCard] == 1)
        for key in ["payment_card_no", "refund_account_no", "payment_acct_no", "交易卡号", "退款账号"] {
            #expect(json(#"[{"\#(key)":"4111111111111111"}]"#)[.bankCard] == 1, "\(key)")
        }
        #expect(inspect("退款到银行卡 4111111111111111\n", type: "text/plain")[.bankCard] == 1)
    }

    @Test("a person's list of card objects is one person with several cards")
    func cardList() {
        let r = json(#"[{"name":"张三","idNo":"11010519491231002X","cards":[{"no":"4111111111111111","bank":"ICBC"},{"no":"5500000000000004","bank":"CMB"}]}]"#)
        #expect(r.subjects.count == 1)
        #expect(r[.bankCard] == 2)
        // A sub-object with another phone is still someone else (an unnamed emergency contact).
        #expect(json(#"[{"name":"张三","mobile":"13812345678","emergency":{"phone":"13912345678"}}]"#).subjects.count == 2)
    }

    @Test("a multipart body's parts keep their own charsets: a UTF-8 JSON part before a GBK CSV part")
    func multipartMixedCharsets() {
        var body = Array("--XB\r\nContent-Disposition: form-data; name=\"p\"; filename=\"u.json\"\r\nContent-Type: application/json\r\n\r\n".utf8)
        body += Array(#"[{"证件号码":"500103400724572","收货地址":"北京市朝阳区建国路1号"}]"#.utf8)
        body += Array("\r\n--XB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"e.csv\"\r\nContent-Type: text/csv; charset=GBK\r\n\r\n".utf8)
        body += Array("realName,id_card\r\n".utf8) + [0xBA, 0xFA, 0xD3, 0xF1, 0xD5, 0xE4] + Array(",360102200604172660\r\n".utf8)
        body += Array("\r\n--XB--\r\n".utf8)
        let r = inspect(body, type: "multipart/form-data; boundary=XB")
        #expect(r.uninspectable == nil)
        #expect(r[.idNumber] == 2, "the legacy ID under a Chinese key in the UTF-8 part")
        #expect(r[.address] == 1)
        #expect(r[.name] == 1)
        #expect(r.subjects.count == 2)
    }

    @Test("JCB's 15-digit ranges are cards wherever they stand (Faker's jcb15)")
    func jcb15() {
        #expect(inspect("退款到卡 213100000000001，备用 180000000000002\n", type: "text/plain")[.bankCard] == 2)
        #expect(json(#"[{"note":"213100000000002"}]"#)[.bankCard] == 0, "Luhn fails")
    }

    @Test("an identifier right after a date is read on its own (a log line: 2026-11-29 1101…)")
    func identifierAfterDate() {
        let r = inspect("2026-11-29 11010519491231002X 实名认证通过\n2026-11-28 6222021234567890128 扣款成功\n20261127 138 1234 5678\n",
                        type: "text/plain")
        #expect(r[.idNumber] == 1)
        #expect(r[.bankCard] == 1)
        #expect(r[.mobile] == 1)
        let after = inspect("6222021234567890128 2026-11-29 到账\n110105201501010025 2026-11-29\n", type: "text/plain")
        #expect(after[.bankCard] == 1 && after[.idNumber] == 1, "a date after the identifier")
        #expect(inspect("生日 1990-01-01\n2026-13-29 11010519491231002\n", type: "text/plain").subjects.isEmpty,
                "a date alone, and no date before a number that is nothing")
    }

    @Test("the findings read the same fed in small chunks")
    func chunked() {
        let csv = "order_no,buyer_name,buyer_mobile,receiver_name,receiver_phone\nA1,张三,13812345678,王五,13712345678\n"
        let note = "2026-11-29 11010519491231002X 实名认证通过\n订单号 4111111111111111 未发货，写信到 13912345678@qq.com\n"
        for chunks in [[1], [3], [7, 2], [64]] {
            #expect(inspect(csv, type: "text/csv", chunks: chunks).subjects.count == 2, "\(chunks)")
            let r = inspect(note, type: "text/plain", chunks: chunks)
            #expect(r[.idNumber] == 1 && r[.bankCard] == 0 && r[.mobile] == 0 && r[.email] == 1, "\(chunks)")
        }
    }

    @Test("a flat JSON object or form with buyer and receiver (or emergency-contact) fields holds two people")
    func twoPeopleInAFlatObject() {
        let order = #"[{"orderNo":"A1","buyer_name":"张三","buyer_mobile":"13812345678","receiver_name":"王五","receiver_phone":"13712345678","receiver_address":"北京市朝阳区建国路1号"}]"#
        #expect(json(order).subjects.count == 2)
        let hr = #"[{"name":"张三","mobile":"13812345678","emergencyContactName":"李四","emergencyContactPhone":"13912345678","dept":"IT"}]"#
        #expect(json(hr).subjects.count == 2)
        #expect(inspect(hr, type: "application/x-ndjson", chunks: [5]).subjects.count == 2)
        let form = "name=%E5%BC%A0%E4%B8%89&mobile=13812345678&emergency_contact_name=%E6%9D%8E%E5%9B%9B&emergency_contact_phone=13912345678&captcha=1234"
        #expect(inspect(form, type: "application/x-www-form-urlencoded").subjects.count == 2)
        // One person whatever the prefixes: all receiver_ fields, or the row's own person's fields around them.
        #expect(json(#"[{"receiver_name":"王五","receiver_phone":"13712345678","receiver_address":"北京市朝阳区建国路1号"}]"#).subjects.count == 1)
        #expect(json(#"[{"name":"张三","receiverAddress":"北京市朝阳区建国路1号","mobile":"13812345678"}]"#).subjects.count == 1)
    }

    @Test("numbered fields are named like the first: name1, contact1_name, emergency_contact2_name")
    func numberedNameFields() {
        let one = json(#"[{"name1":"张三","address1":"北京市朝阳区建国路88号","phone":"13812345678"}]"#)
        #expect(one[.name] == 1 && one[.address] == 1 && one.subjects.count == 1)
        // The record's own person, two numbered contacts (one with only a name): three people, four names.
        let contacts = json(#"[{"name":"张三","phone":"13812345678","contact_name":"赵六","contact1_name":"王五","contact2_name":"李四","contact2_phone":"13912345678"}]"#)
        #expect(contacts[.name] == 4 && contacts.subjects.count == 3)
        let emergency = json(#"[{"emergency_contact2_name":"王五","emergency_contact2_phone":"13812345679"},{"emergencyContactName":"李四"}]"#)
        #expect(emergency[.name] == 2 && emergency.subjects.count == 2)
        let form = inspect(Array("name=Zhang+San&phone=13812345678&contact2_name=Li+Si&contact2_phone=13912345678".utf8),
                           type: "application/x-www-form-urlencoded")
        #expect(form[.name] == 2 && form.subjects.count == 2)
        // Digits do not make a person's field of anything else.
        #expect(json(#"[{"order2_id":"4111111111111111","md5name":"abc"}]"#).subjects.isEmpty)
    }
}
