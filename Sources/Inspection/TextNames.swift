/// Free text has no field names: people are found by who the text says they are. A name after
/// a role word (客户张三来电, 收件人李四, Customer Jane Doe called) starts that person's part of the
/// line; identifiers after it belong to them until the next name.
struct TextNames {
    static let triggers: [[UInt8]] = ["客户", "家长", "孩子", "回访", "收件人", "寄件人", "联系人", "乘客", "患者",
                                      "用户", "姓名：", "姓名:", "姓名", "持卡人", "申请人", "学生", "会员", "员工"].map { Array($0.utf8) }
    static let stops: [[UInt8]] = ["来电", "为", "申请", "电话", "手机", "要求", "的", "反馈", "已", "说", "在", "于",
                                   "和", "与", "等", "办理", "先生", "女士", "联系", "投诉", "咨询", "称", "表示", "购买",
                                   "预订", "身份证", "证件", "地址", "邮箱", "银行", "护照", "退款", "订单", "本人"].map { Array($0.utf8) }
    /// Stop words that never start a name, not even as a one-character surname (客户说之前…).
    static let neverFirst: [[UInt8]] = ["说", "的", "已", "在", "称", "要", "想"].map { Array($0.utf8) }
    static let birthTriggers: [[UInt8]] = ["出生日期：", "出生日期:", "出生日期", "生日：", "生日", "出生于", "date of birth ",
                                           "DOB ", "born "].map { Array($0.utf8) }
    static let addressTriggers: [[UInt8]] = ["地址：", "地址:", "地址为", "地址是", "住址：", "住址为"].map { Array($0.utf8) }
    static let english: [[UInt8]] = ["Customer ", "customer ", "Name: ", "name: ", "Patient ", "Passenger "].map { Array($0.utf8) }

    init() {}

    /// Scans one line: splits it into people and hands each part to the assembler.
    func people(in v: UnsafeBufferPointer<UInt8>, assembler: RecordAssembler) {
        var mentions: [(start: Int, nameStart: Int, nameEnd: Int)] = []
        var i = 0
        let n = v.count
        while i < n {
            let c = v[i]
            if c >= 0xE0 {
                if let t = Self.match(Self.triggers, v, i) {
                    let s = i + t
                    if let e = hanName(v, s) ?? latinName(v, s) { mentions.append((i, s, e)); i = e; continue }
                    i += t; continue
                }
            } else if c == UInt8(ascii: "C") || c == UInt8(ascii: "c") || c == UInt8(ascii: "N") || c == UInt8(ascii: "n")
                        || c == UInt8(ascii: "P") || c == UInt8(ascii: "M") {
                if let t = Self.match(Self.english, v, i), i == 0 || !isAlpha(v[i - 1]), let e = latinName(v, i + t) ?? hanName(v, i + t) {
                    mentions.append((i, i + t, e)); i = e; continue
                }
            }
            i += 1
        }
        // A line that starts with a name ("张三申请…", "李四（138…）要求…") after the ticket header.
        var cuts: [(Int, Int, Int)] = mentions.map { ($0.start, $0.nameStart, $0.nameEnd) }
        if let h = Self.headerEnd(v, limit: cuts.first?.0 ?? n), cuts.first?.0 != h,
           Self.match(Self.triggers, v, h) == nil, let e = hanName(v, h), Self.endsLikeName(v, e) {
            cuts.insert((h, h, e), at: 0)
        }
        // Each person gets the text after their name up to the next name; a name followed by a
        // parenthesis (家长A为孩子B（身份证…）…，联系电话…) gets only the parenthesis, and what follows
        // goes back to the person named before.
        var ranges: [[Range<Int>]] = Array(repeating: [], count: cuts.count)
        let open = Array("（".utf8), close = Array("）".utf8)
        for (k, m) in cuts.enumerated() {
            let segEnd = k + 1 < cuts.count ? cuts[k + 1].0 : n
            if k == 0 && m.0 > 0 { ranges[0].append(0..<m.0) }
            var own = m.2..<max(m.2, segEnd)
            if k > 0, Self.match([open], v, m.2) != nil {
                var j = m.2
                while j < segEnd && Self.match([close], v, j) == nil { j += 1 }
                if j < segEnd {
                    own = m.2..<(j + close.count)
                    ranges[k - 1].append((j + close.count)..<segEnd)
                }
            }
            ranges[k].append(own)
        }
        for (k, m) in cuts.enumerated() {
            assembler.openScope(key: nil)
            assembler.value(key: "name", UnsafeBufferPointer(rebasing: v[m.1..<m.2]))
            for r in ranges[k] { part(v, r.lowerBound, r.upperBound, assembler) }
            assembler.closeScope()
        }
        if cuts.isEmpty {
            assembler.openScope(key: nil)
            part(v, 0, n, assembler)
            assembler.closeScope()
        }
    }

    private func part(_ v: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ assembler: RecordAssembler) {
        guard e > s else { return }
        let seg = UnsafeBufferPointer(rebasing: v[s..<e])
        assembler.value(baseRole: nil, seg)
        // An address after 地址：… up to the end of the clause.
        var i = 0
        while i < seg.count {
            if seg[i] == UInt8(ascii: "p") || seg[i] == UInt8(ascii: "P") || seg[i] == 0xE6,
               let t = Self.match(Self.passportTriggers, seg, i) {
                var a = i + t
                while a < seg.count && (seg[a] == 0x20 || seg[a] == UInt8(ascii: ":")) { a += 1 }
                if a + 3 <= seg.count && seg[a] == 0xEF && seg[a + 1] == 0xBC && seg[a + 2] == 0x9A { a += 3 }  // ：
                var j = a
                while j < seg.count && isAlnum(seg[j]) { j += 1 }
                if j > a { assembler.value(key: "passport", UnsafeBufferPointer(rebasing: seg[a..<j])) }
                i = max(j, i + 1)
            } else if let t = Self.match(Self.birthTriggers, seg, i) {
                let a = i + t
                var j = a
                while j < seg.count && j - a < 12 && (isDigit(seg[j]) || seg[j] == UInt8(ascii: "-") || seg[j] == UInt8(ascii: "/")
                                                      || seg[j] == UInt8(ascii: ".")) { j += 1 }
                if j > a { assembler.value(key: "birthday", UnsafeBufferPointer(rebasing: seg[a..<j])) }
                i = max(j, i + 1)
            } else if seg[i] >= 0xE0, let t = Self.match(Self.addressTriggers, seg, i) {
                let a = i + t
                var j = a
                while j < seg.count {
                    if Self.match(Self.clauseEnds, seg, j) != nil { break }
                    j += 1
                }
                if j > a { assembler.value(key: "address", UnsafeBufferPointer(rebasing: seg[a..<j])) }
                i = j
            } else { i += 1 }
        }
    }

    static let passportTriggers: [[UInt8]] = ["passport no. ", "passport no.", "passport no ", "passport number ",
                                              "Passport no. ", "Passport No. ", "passport ", "Passport ", "护照号码", "护照号",
                                              "护照"].map { Array($0.utf8) }

    static let clauseEnds: [[UInt8]] = ["。", "，", "；", ",", ";", "\n", "）"].map { Array($0.utf8) }

    /// End of a ticket header like `【工单#1】2026-11-01 08:09 客服5070号：`.
    private static func headerEnd(_ v: UnsafeBufferPointer<UInt8>, limit: Int) -> Int? {
        let colon = Array("号：".utf8)
        var i = 0
        while i + colon.count <= min(limit, v.count) {
            if match([colon], v, i) != nil { return i + colon.count }
            i += 1
        }
        return nil
    }

    /// A name that opens a ticket's text is followed by what people do or by their contact in
    /// parentheses (张三申请…, 李四（138…）); a noun like 快递单号 runs into letters or digits instead.
    private static func endsLikeName(_ v: UnsafeBufferPointer<UInt8>, _ e: Int) -> Bool {
        e < v.count && (match(stops, v, e) != nil || match(openers, v, e) != nil)
    }
    static let openers: [[UInt8]] = ["（", "(", "：", ":"].map { Array($0.utf8) }

    static func match(_ words: [[UInt8]], _ v: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        outer: for w in words where i + w.count <= v.count {
            for k in 0..<w.count where v[i + k] != w[k] { continue outer }
            return w.count
        }
        return nil
    }

    /// Two to four Han characters, stopping where a common following word starts.
    private func hanName(_ v: UnsafeBufferPointer<UInt8>, _ s: Int) -> Int? {
        var i = s
        var count = 0
        while i + 2 < v.count && count < 4 {
            let b = v[i]
            // CJK unified ideographs are E4 B8 80 … E9 BE A5 in UTF-8.
            guard b >= 0xE4 && b <= 0xE9 else { break }
            if count >= 2, Self.match(Self.stops, v, i) != nil { break }
            // A two-character word right after the role word (用户反馈) is no name; one character
            // may be a surname (于, 和).
            if count == 0, let len = Self.match(Self.stops, v, i), len >= 6 || Self.match(Self.neverFirst, v, i) != nil { return nil }
            i += 3; count += 1
        }
        guard count >= 2 else { return nil }
        if count == 4, Self.match(Self.stops, v, s + 9) != nil { return s + 9 }
        if count == 4 && i < v.count && v[i] >= 0xE4 && v[i] <= 0xE9 { return s + 9 }
        return i
    }

    /// Two to five capitalised words, titles and suffixes included ("Dr. Jill Jones MD").
    private func latinName(_ v: UnsafeBufferPointer<UInt8>, _ s: Int) -> Int? {
        var i = s
        var words = 0
        var end = s
        while i < v.count && words < 5 && isUpper(v[i]) {
            var j = i + 1
            while j < v.count && (isAlpha(v[j]) || v[j] == UInt8(ascii: "'") || v[j] == UInt8(ascii: "-")
                                  || v[j] == UInt8(ascii: ".")) { j += 1 }
            words += 1; end = j
            guard j < v.count && v[j] == 0x20 else { break }
            i = j + 1
        }
        while end > s && v[end - 1] == UInt8(ascii: ".") && !(end - s >= 3 && Self.isTitle(v, end)) { end -= 1 }
        return words >= 2 ? end : nil
    }

    /// "Dr." "Mr." "Jr." keep their dot.
    private static func isTitle(_ v: UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool {
        var k = end - 1
        while k > 0 && isAlpha(v[k - 1]) { k -= 1 }
        let word = String(decoding: UnsafeBufferPointer(rebasing: v[k..<end]), as: UTF8.self)
        return ["Dr.", "Mr.", "Mrs.", "Ms.", "Jr.", "Sr.", "Prof."].contains(word)
    }
}
