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

    /// Per column, 0 for the row's own person or 1 + the index of the word its name starts with;
    /// empty when fewer than two people each have a name or identifier column (nothing to split).
    static func people(names: [[UInt8]], roles: [FieldRole]) -> [UInt8] {
        var people = [UInt8](repeating: 0, count: names.count)
        var identified = Set<UInt8>()
        for (i, raw) in names.enumerated() {
            let name = Array(FieldDictionary.normalize(Substring(String(decoding: raw, as: UTF8.self))).utf8)
            if let w = otherPeople.firstIndex(where: { name.starts(with: $0) }) { people[i] = UInt8(w + 1) }
            switch i < roles.count ? roles[i] : .none {
            case .name, .idNumber, .mobile, .email, .passport, .hkID, .twID: identified.insert(people[i])
            default: break
            }
        }
        return identified.count >= 2 ? people : []
    }
}
