import CustomsCore

/// What a field name says about its value, for what values alone cannot tell.
enum FieldRole: UInt8, Sendable {
    case none, name, address, birthDate, health, biometric, religion, financial
    case idNumber, mobile, email, bankCard, passport, hkID, twID
    case geo, latitude, longitude
    /// Names of organisations, products, devices…: never a person's name.
    case notPerson
    /// An application's own user id (uid, customer_id): not PI by itself, but the same value
    /// twice in one body is the same person.
    case accountID

    var kind: DetectorKind? {
        switch self {
        case .name: return .name
        case .address: return .address
        case .birthDate: return .birthDate
        case .health: return .health
        case .biometric: return .biometric
        case .religion: return .religion
        case .financial: return .financial
        default: return nil
        }
    }
}

/// Field-name dictionaries (English, Chinese, pinyin; any case and separator convention).
struct FieldDictionary: Sendable {
    private var exact: [String: FieldRole] = [:]
    private var cache: [Substring: FieldRole] = [:]

    /// Lower-case, without `_ - . space` and array indexes, so `real_name`, `realName`, `Real-Name` agree.
    static func normalize(_ key: Substring) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(key.utf8.count)
        for c in key.utf8 {
            switch c {
            case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: " "), 0x09,
                 UInt8(ascii: "["), UInt8(ascii: "]"):
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): out.append(c | 0x20)
            default: out.append(c)  // Chinese has no case; other bytes pass through
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let builtIn: [(FieldRole, [String])] = [
        (.name, ["name", "fullname", "realname", "truename", "customername", "username_real", "firstname", "lastname",
                 "surname", "givenname", "familyname", "middlename", "xm", "xingming", "zsxm", "姓名", "真实姓名", "名字", "客户姓名",
                 "联系人", "联系人姓名", "收件人", "收货人", "寄件人", "持卡人", "乘客姓名", "患者姓名", "学生姓名", "家长姓名",
                 "consignee", "receivername", "recipientname", "buyername", "sendername", "contactname", "contact",
                 "holdername", "cardholder", "cardholdername", "accountname", "passengername", "patientname",
                 "studentname", "parentname", "guardianname", "membername", "personname", "legalname", "englishname",
                 "chinesename", "cnname", "enname", "khxm", "lxr", "sjr", "shr", "lianxiren", "shoujianren", "guestname", "ownername"]),
        (.address, ["address", "addr", "dz", "dizhi", "地址", "住址", "家庭住址", "收货地址", "详细地址", "联系地址", "通讯地址",
                    "户籍地址", "居住地址", "homeaddress", "contactaddress", "shippingaddress", "deliveryaddress",
                    "billingaddress", "receiveraddress", "detailaddress", "fulladdress", "street", "streetaddress",
                    "residence", "homeaddr", "shdz", "jtzz", "xxdz", "zz", "address1", "address2", "addressline1",
                    "addressline2", "postaladdress", "mailingaddress", "lxdz", "hjdz"]),
        (.birthDate, ["birthday", "birthdate", "dob", "dateofbirth", "birth", "bornon", "csrq", "chushengriqi", "shengri",
                      "出生日期", "生日", "出生年月", "出生年月日"]),
        (.health, ["health", "medical", "medicalrecord", "medicalhistory", "diagnosis", "disease", "illness", "symptom",
                   "symptoms", "allergy", "allergies", "medication", "prescription", "bloodtype", "healthstatus",
                   "condition", "病历", "诊断", "病史", "病情", "健康", "健康状况", "疾病", "过敏史", "处方", "血型", "症状",
                   "bingli", "zhenduan", "bingshi", "jiankang", "jibing", "icd10", "treatment"]),
        (.biometric, ["face", "faceimage", "facetoken", "facefeature", "facedata", "faceid", "facephoto", "fingerprint",
                      "voiceprint", "iris", "palmprint", "biometric", "biometrics", "人脸", "人脸图像", "指纹", "虹膜",
                      "声纹", "掌纹", "renlian", "zhiwen", "facetemplate", "livenessimage"]),
        (.religion, ["religion", "faith", "religiousbelief", "belief", "宗教", "宗教信仰", "信仰", "zongjiao", "xinyang"]),
        (.financial, ["bankaccount", "accountno", "accountnumber", "bankaccountno", "iban", "creditscore", "income",
                      "salary", "annualincome", "deposit", "loan", "debt", "creditlimit", "银行账户", "银行账号", "账号",
                      "收入", "月收入", "年收入", "工资", "存款", "征信", "信用分", "贷款", "yhzh", "zhanghao", "shouru"]),
        (.idNumber, ["idcard", "idno", "idnumber", "idcardno", "idcardnumber", "identityno", "identitynumber",
                     "identitycard", "identity", "nationalid", "residentid", "citizenid", "certno", "certnumber",
                     "sfz", "sfzh", "sfzhm", "shenfenzheng", "zjhm", "zhengjianhaoma", "身份证", "身份证号", "身份证号码",
                     "证件号", "证件号码", "公民身份号码", "id_card"]),
        (.mobile, ["phone", "mobile", "tel", "telephone", "phonenumber", "phoneno", "mobileno", "mobilephone",
                   "mobilenumber", "cellphone", "cell", "contactphone", "sjhm", "shouji", "sj", "dh", "dianhua",
                   "lxdh", "手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "移动电话", "receiverphone",
                   "buyerphone", "msisdn"]),
        (.email, ["email", "mail", "emailaddress", "邮箱", "电子邮箱", "电子邮件", "yx", "youxiang"]),
        (.bankCard, ["bankcard", "cardno", "cardnumber", "bankcardno", "bankcardnumber", "yhkh", "yinhangka",
                     "银行卡", "银行卡号", "卡号", "debitcard", "creditcard", "pan", "accountcard"]),
        (.passport, ["passport", "passportno", "passportnumber", "hzhm", "huzhao", "huzhaohao", "护照", "护照号",
                     "护照号码", "travelpermit"]),
        (.hkID, ["hkid", "hkidcard", "hkidno", "香港身份证", "香港身份证号"]),
        (.twID, ["twid", "twidno", "taiwanid", "台湾身份证", "台胞证号"]),
        (.latitude, ["lat", "latitude", "wd", "weidu", "纬度"]),
        (.longitude, ["lng", "lon", "long", "longitude", "jd", "jingdu", "经度"]),
        (.accountID, ["uid", "userid", "customerid", "cid", "memberid", "accountid", "openid", "unionid", "custid",
                       "buyerid", "passengerid", "patientid", "studentid", "yhid", "khid"]),
        (.geo, ["经纬度", "jingweidu", "latlong", "geo", "location", "position", "coordinates", "coordinate", "coords", "loc", "gps", "latlng",
                "lnglat", "latlon", "point", "geolocation", "坐标", "位置", "定位", "zuobiao", "dingwei"]),
    ]

    /// Field names containing "name" that are not people's names.
    static let notPersonNames: Set<String> = [
        "username", "nickname", "filename", "merchantname", "companyname", "productname", "hostname", "appname",
        "skuname", "shopname", "storename", "bankname", "eventname", "devicename", "typename", "classname",
        "displayname", "screenname", "itemname", "goodsname", "brandname", "categoryname", "orgname", "servicename",
        "channelname", "domainname", "title", "loginname", "accountnamebank", "branchname", "cityname",
        "provincename", "countryname", "districtname", "streetname", "schoolname", "hospitalname", "deptname",
    ]

    /// Parents whose `name` is an organisation's or a thing's, not a person's.
    static let notPersonParents: Set<String> = [
        "merchant", "company", "shop", "store", "org", "organization", "organisation", "product", "products", "item",
        "items", "sku", "goods", "app", "application", "device", "bank", "brand", "category", "seller", "vendor",
        "service", "channel", "platform", "carrier", "logistics", "express", "school", "hospital", "department",
        "tags", "tag", "event", "page", "os", "browser", "file", "files", "attachment", "商户", "商家", "公司", "店铺",
    ]

    /// Built once per process: normalising the dictionaries is not free.
    static let builtInTable: [String: FieldRole] = {
        var t: [String: FieldRole] = [:]
        for (role, names) in builtIn { for n in names { t[normalize(Substring(n))] = role } }
        return t
    }()

    init(extra: [DetectorKind: [String]]) {
        exact = Self.builtInTable
        for (kind, names) in extra {
            let role: FieldRole? = switch kind {
            case .name: .name
            case .address: .address
            case .birthDate: .birthDate
            case .health: .health
            case .biometric: .biometric
            case .religion: .religion
            case .financial: .financial
            case .idNumber: .idNumber
            case .mobile: .mobile
            case .email: .email
            case .bankCard: .bankCard
            case .passport: .passport
            case .hkID: .hkID
            case .twID: .twID
            case .geo: .geo
            case .minor: nil
            }
            guard let role else { continue }
            for n in names { exact[Self.normalize(Substring(n))] = role }
        }
    }

    /// Role of `key` (the innermost field name) with `parent` (the enclosing field name, if any).
    mutating func role(key: Substring, parent: Substring?) -> FieldRole {
        if key.isEmpty { return .none }
        let r: FieldRole
        if let c = cache[key] { r = c } else {
            r = baseRole(key)
            if cache.count < 4096 { cache[key] = r }
        }
        return placed(r, parent: parent)
    }

    /// The role a name has wherever it sits (parsers that intern names cache this).
    func baseRole(_ key: Substring) -> FieldRole { key.isEmpty ? .none : classify(Self.normalize(key)) }

    /// Only a name's meaning depends on where it sits (merchant.name is a company's).
    mutating func placed(_ r: FieldRole, parent: Substring?) -> FieldRole {
        if r == .name, let parent {
            let excluded: Bool
            if let e = parentCache[parent] { excluded = e } else {
                excluded = Self.excludesNames(parent: parent)
                if parentCache.count < 1024 { parentCache[parent] = excluded }
            }
            if excluded { return .notPerson }
        }
        return r
    }

    private var parentCache: [Substring: Bool] = [:]

    /// Whether a person's name under the field `parent` is someone else's (`merchant.name`); what
    /// `placed` decides, for parsers that resolve it once per distinct name.
    static func excludesNames(parent: Substring) -> Bool { notPersonParents.contains(normalize(parent)) }

    static let compoundNeedles: [([UInt8], FieldRole)] = compoundRules.map { (Array($0.0.utf8), $0.1) }

    static let businessNumberWords: [[UInt8]] = [
        "order", "trade", "txn", "transaction", "waybill", "tracking", "invoice", "serial", "trace", "request",
        "payment", "refund", "shipment", "parcel", "ticket", "booking", "订单", "流水", "运单", "快递", "交易", "发票", "工单",
    ].map { Array($0.utf8) }
    /// Words that make a business number someone's account after all (`refund_account_no`, 交易卡号).
    static let accountWords: [[UInt8]] = ["card", "account", "acct", "卡", "账"].map { Array($0.utf8) }
    static let numberSuffixes: [[UInt8]] = ["id", "no", "number", "num", "sn", "code", "号", "编号", "号码"].map { Array($0.utf8) }

    static let compoundRules: [(String, FieldRole)] = [
        ("idcard", .idNumber), ("idno", .idNumber), ("identityno", .idNumber), ("identitynumber", .idNumber),
        ("身份证", .idNumber), ("证件号", .idNumber), ("sfzh", .idNumber),
        ("passport", .passport), ("护照", .passport),
        ("email", .email), ("邮箱", .email),
        ("bankcard", .bankCard), ("cardno", .bankCard), ("cardnumber", .bankCard), ("银行卡", .bankCard),
        ("mobile", .mobile), ("phone", .mobile), ("手机", .mobile), ("电话", .mobile), ("tel", .mobile),
        ("birth", .birthDate), ("生日", .birthDate), ("出生", .birthDate),
        ("ipaddr", .none), ("macaddr", .none), ("remoteaddr", .none), ("walletaddr", .none),
        ("address", .address), ("addr", .address), ("地址", .address), ("住址", .address),
        ("latitude", .latitude), ("longitude", .longitude),
        ("diagnos", .health), ("medical", .health), ("病", .health), ("health", .health),
        ("fingerprint", .biometric), ("face", .biometric), ("人脸", .biometric), ("指纹", .biometric),
        ("religio", .religion), ("宗教", .religion),
        ("姓名", .name), ("fullname", .name), ("realname", .name),
        ("location", .geo), ("coordinates", .geo), ("坐标", .geo),
    ]

    private func classify(_ k: String) -> FieldRole {
        let r = classifyAsWritten(k)
        // Numbered fields (`name1`, `contact2_name`, `emergency_contact1_phone`): an export's second
        // contact is named like the first. Read without their digits when as written they say
        // nothing or no person.
        if r == .none || r == .notPerson, k.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
            let plain = String(decoding: k.utf8.filter { !($0 >= 0x30 && $0 <= 0x39) }, as: UTF8.self)
            if !plain.isEmpty { return classifyAsWritten(plain) }
        }
        return r
    }

    private func classifyAsWritten(_ k: String) -> FieldRole {
        if let r = exact[k] { return r }
        if Self.notPersonNames.contains(k) { return .notPerson }
        // Compound names: receiver_phone, buyerIdCard, home_addr, 收件人手机…
        let bytes = Array(k.utf8)
        for (needle, role) in Self.compoundNeedles where bytes.containsBytes(needle) { return role }
        // order_id, out_trade_no, tracking_number, 订单号: a business's own numbers, not a person's
        // (a Luhn-valid one on a card issuer's range is still an order number).
        if Self.businessNumberWords.contains(where: { bytes.containsBytes($0) })
            && Self.numberSuffixes.contains(where: { bytes.suffix($0.count).elementsEqual($0) })
            && !Self.accountWords.contains(where: { bytes.containsBytes($0) }) { return .notPerson }
        if k.hasSuffix("name") && k.count <= 24 {
            let stem = k.dropLast(4)
            let people = ["customer", "receiver", "buyer", "sender", "contact", "holder", "passenger", "patient",
                          "student", "parent", "guardian", "member", "person", "guest", "owner", "user_real",
                          "recipient", "consignee", "employee", "staff", "applicant", "insured", "child", "spouse",
                          "emergency", "emergencycontact", "first", "last", "given", "family", "middle", "legal"]
            if people.contains(where: { stem.hasSuffix($0) }) { return .name }
            return .notPerson
        }
        return .none
    }
}

extension Array where Element == UInt8 {
    /// Byte substring search; Foundation's `contains` is locale-aware and far slower.
    func containsBytes(_ n: [UInt8]) -> Bool {
        withUnsafeBufferPointer { $0.containsBytes(n) }
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    func containsBytes(_ n: [UInt8]) -> Bool {
        n.withUnsafeBufferPointer { containsBytes($0) }
    }

    func containsBytes(_ n: UnsafeBufferPointer<UInt8>) -> Bool {
        guard n.count <= count, let first = n.first else { return n.isEmpty }
        var i = 0
        while i + n.count <= count {
            if self[i] == first {
                var k = 1
                while k < n.count && self[i + k] == n[k] { k += 1 }
                if k == n.count { return true }
            }
            i += 1
        }
        return false
    }
}
