/// Which person of a row a CSV/TSV column describes, from its name's prefix: an order export's
/// `buyer_mobile, receiver_name, receiver_phone` row holds two people (issue 4: "one order can hold
/// several people … each is a subject"), an HR export's `emergency_contact_phone` a second one.
enum PersonColumns {
    /// Words naming a person other than the row's own one, as normalised names start with them
    /// (`FieldDictionary.normalize`), one word per person: `emergency` also starts
    /// `emergency_contact_name`, so `emergency_phone` beside it is the same person. The row's own
    /// person (customer, buyer, patient, applicant…) has no word here: its columns stay together.
    static let otherPeople: [[UInt8]] = [
        "receiver", "recipient", "consignee", "sender", "shipper", "payee", "emergency",
        "guardian", "parent", "father", "mother", "spouse", "child", "insured", "beneficiary", "referrer",
        "收件人", "收货人", "寄件人", "发件人", "紧急联系人", "监护人", "家长", "父亲", "母亲", "配偶", "子女",
        "被保险人", "受益人", "收款人", "推荐人",
    ].map { Array($0.utf8) }

    /// `people` (per column, `person(of:)` its name) when at least two people each have a name or
    /// identifier column, else empty (one person: nothing to split).
    static func people(_ people: [UInt8], roles: [FieldRole]) -> [UInt8] {
        guard people.contains(where: { $0 != 0 }) else { return [] }
        var identified = Set<UInt8>()
        for i in people.indices {
            switch i < roles.count ? roles[i] : .none {
            case .name, .idNumber, .mobile, .email, .passport, .hkID, .twID: identified.insert(people[i])
            default: break
            }
        }
        return identified.count >= 2 ? people : []
    }

    /// Words that name another person only when numbered (`contact1_name`, `联系人2电话`): bare,
    /// they are usually the record's own person (`contact_phone`).
    static let numberedPeople: [[UInt8]] = ["contact", "联系人", "passenger", "乘客", "guest", "traveler", "member", "person"]
        .map { Array($0.utf8) }

    /// 0 for a field of the record's own person, else a number for the other person the name starts
    /// with (`receiver_phone`, `emergencyContactName`, `紧急联系人电话`); a digit after the word makes
    /// one person per number (`emergency1_phone`, `contact2_name`, `紧急联系人2`).
    static func person(of name: Substring) -> UInt8 {
        let n = Array(FieldDictionary.normalize(name).utf8)
        var word = otherPeople.firstIndex(where: { n.starts(with: $0) })
        var length = word.map { otherPeople[$0].count } ?? 0
        if word == nil, let k = numberedPeople.firstIndex(where: { n.starts(with: $0) && n.count > $0.count && isDigit(n[$0.count]) }) {
            word = otherPeople.count + k
            length = numberedPeople[k].count
        }
        guard let word else { return 0 }
        let words = otherPeople.count + numberedPeople.count
        // Numbers 1-5 apart (the ids stay below 256); a sixth contact shares the fifth's.
        let number = length < n.count && isDigit(n[length]) ? min(5, Int(n[length] - 0x30)) : 0
        return UInt8(1 + word + words * number)
    }
}
