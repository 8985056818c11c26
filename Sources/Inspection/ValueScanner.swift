import CustomsCore

/// One identifier found in a value, already validated and normalised.
struct Identifier {
    var kind: DetectorKind
    /// Valid only during the `found` call that hands it over (it points into the value or a scratch buffer).
    var normalized: UnsafeBufferPointer<UInt8>
    /// yyyymmdd from a resident ID, for ages.
    var birth: Int?
}

/// Finds identifiers inside one value (a JSON string, a CSV cell, a line of text).
/// Only bytes that can start an identifier (digits, `+`, `@`) are looked at closely.
struct ValueScanner {
    /// yyyymmdd of the flow date (UTC+8): later birth dates are impossible.
    let today: Int

    /// Whether ASCII byte `c` is in the set whose bits are `low` (bytes 0x00–0x3F) and `high`
    /// (0x40–0x7F): a shift and a test instead of a comparison per member.
    @inline(__always) private static func inSet(_ c: UInt8, low: UInt64, high: UInt64) -> Bool {
        c < 0x80 && ((c < 0x40 ? low : high) &>> UInt64(c)) & 1 != 0
    }

    /// Letters, digits and `. _ % + -`.
    @inline(__always) static func isLocalPart(_ c: UInt8) -> Bool {
        inSet(c, low: 0x03FF_6820_0000_0000, high: 0x07FF_FFFE_87FF_FFFE)
    }

    /// Letters, digits and `. -`.
    @inline(__always) static func isDomain(_ c: UInt8) -> Bool {
        inSet(c, low: 0x03FF_6000_0000_0000, high: 0x07FF_FFFE_07FF_FFFE)
    }

    /// Bytes that glue onto a number and make it part of a longer token (`SO2026…`, `138****5678`):
    /// letters, digits and `* _ .`.
    @inline(__always) static func glues(_ c: UInt8) -> Bool {
        inSet(c, low: 0x03FF_4400_0000_0000, high: 0x07FF_FFFE_87FF_FFFE)
    }

    /// Whether a field name or a header cell may hold an identifier rather than name a field: every
    /// identifier has six digits in a row, eleven in all (a phone or card written in groups) or an
    /// `@`; full-width digits count. Names (`phone2`, `2026-11-29`, `line12345`) have fewer.
    /// (`RequestInspector.mayHoldIdentifier` asks of values, and takes any non-ASCII text: names
    /// are often Chinese, so here it does not count.)
    static func mayHoldIdentifier(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var run = 0, total = 0, i = 0
        while i < v.count {
            let c = v[i]
            var digit = isDigit(c)
            if c == 0xEF && i + 2 < v.count && v[i + 1] == 0xBC && v[i + 2] &- 0x90 < 10 { digit = true; i += 2 }
            if c == UInt8(ascii: "@") { return true }
            if digit {
                run += 1; total += 1
                if run >= 6 || total >= 11 { return true }
            } else {
                run = 0
            }
            i += 1
        }
        return false
    }

    /// Identifiers in `v`, looked for from `from` on (bytes before it, if any, must hold no digit
    /// and no `@`; they are still read as context: a `+` or letters before a number).
    func scan(_ v: UnsafeBufferPointer<UInt8>, from: Int = 0, role: FieldRole, found: (Identifier) -> Void) {
        let n = v.count
        var i = from
        while i < n {
            let c = v[i]
            if c == UInt8(ascii: "@") {
                i = email(v, at: i, found: found)
            } else if isDigit(c) {
                i = digits(v, at: i, role: role, found: found)
            } else {
                i = ByteSkip.identifierStart(in: v, from: i + 1, end: n)
            }
        }
    }

    // MARK: e-mail

    private func email(_ v: UnsafeBufferPointer<UInt8>, at: Int, found: (Identifier) -> Void) -> Int {
        var s = at
        // At most 64 bytes of local part and 254 of domain: each bound made once, not tested a
        // byte at a time beside the buffer's ends.
        let lowest = max(0, at - 64)
        while s > lowest && Self.isLocalPart(v[s - 1]) { s -= 1 }
        while s < at && (v[s] == UInt8(ascii: ".") || v[s] == UInt8(ascii: "-") || v[s] == UInt8(ascii: "+")) { s += 1 }
        // A masked local part (`z***@qq.com`) identifies no one.
        if s == at || (s > 0 && v[s - 1] == UInt8(ascii: "*")) || v[at - 1] == UInt8(ascii: ".") { return at + 1 }
        var e = at + 1
        var lastDot = -1
        let limit = min(v.count, at + 255)
        while e < limit && Self.isDomain(v[e]) {
            if v[e] == UInt8(ascii: ".") { if v[e - 1] == UInt8(ascii: ".") { break }; lastDot = e }
            e += 1
        }
        while e > at + 1 && (v[e - 1] == UInt8(ascii: ".") || v[e - 1] == UInt8(ascii: "-")) { e -= 1 }
        if lastDot >= e { lastDot = -1; for k in (at + 1)..<e where v[k] == UInt8(ascii: ".") { lastDot = k } }
        guard lastDot > at + 1, e - lastDot - 1 >= 2 else { return at + 1 }
        if !Self.punycodeLabel(v, from: lastDot + 1, to: e) {
            for k in (lastDot + 1)..<e where !isAlpha(v[k]) { return at + 1 }
        }
        if e < v.count && v[e] == UInt8(ascii: "*") { return at + 1 }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: e - s) { bytes in
            for k in s..<e { bytes[k - s] = isUpper(v[k]) ? v[k] | 0x20 : v[k] }
            found(Identifier(kind: .email, normalized: UnsafeBufferPointer(bytes)))
        }
        return e
    }

    /// An internationalised top-level domain as DNS carries it (`xn--fiqs8s`, 中国): `xn--`, then
    /// letters, digits and hyphens.
    static func punycodeLabel(_ v: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Bool {
        guard to - from > 4, v[from] | 0x20 == UInt8(ascii: "x"), v[from + 1] | 0x20 == UInt8(ascii: "n"),
              v[from + 2] == UInt8(ascii: "-"), v[from + 3] == UInt8(ascii: "-") else { return false }
        for k in (from + 4)..<to where !(isAlpha(v[k]) || isDigit(v[k]) || v[k] == UInt8(ascii: "-")) { return false }
        return true
    }

    // MARK: numbers

    /// A run of digits, possibly grouped by single spaces or dashes (`138 1234 5678`,
    /// `+86-138-…`, `6222 0212 …`), judged as a whole, then piece by piece.
    @inline(__always) private func digits(_ v: UnsafeBufferPointer<UInt8>, at start: Int, role: FieldRole, found: (Identifier) -> Void) -> Int {
        let n = v.count
        let firstEnd = ByteSkip.digitRunEnd(in: v, from: start, end: n)
        // A run shorter than six digits that no group follows is nothing (see below), and most
        // runs are such (counters, prices, pieces of UUIDs and dates): done in line, before the
        // call that sets up the rest.
        if firstEnd - start < 6
            && !(firstEnd + 1 < n && (v[firstEnd] == UInt8(ascii: " ") || v[firstEnd] == UInt8(ascii: "-")) && isDigit(v[firstEnd + 1])) {
            return firstEnd
        }
        return number(v, at: start, firstEnd: firstEnd, role: role, found: found)
    }

    /// `digits` of a run that may be an identifier; `firstEnd` ends its first group.
    @inline(never) private func number(_ v: UnsafeBufferPointer<UInt8>, at start: Int, firstEnd: Int, role: FieldRole,
                                       found: (Identifier) -> Void) -> Int {
        let n = v.count
        var e = start
        var digitCount = 0
        var grouped = false
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 digits, stack only
        return withUnsafeMutableBytes(of: &buf) { raw -> Int in
            let d = raw.bindMemory(to: UInt8.self)
            // Each group of digits is found a word at a time and copied in one go (the first 24 digits).
            while e < n {
                let r = e == start ? firstEnd : ByteSkip.digitRunEnd(in: v, from: e, end: n)
                if digitCount < 24 {
                    let take = min(r - e, 24 - digitCount)
                    ByteSkip.copy(v.baseAddress! + e, to: d.baseAddress! + digitCount, count: take)
                }
                digitCount += r - e; e = r
                guard e < n, v[e] == UInt8(ascii: " ") || v[e] == UInt8(ascii: "-"), e + 1 < n, isDigit(v[e + 1]),
                      digitCount < 24 else { break }
                grouped = true; e += 1
            }
            // Every identifier holds at least six digits (a Hong Kong ID); most runs are shorter
            // (UUIDs, prices, counters), and nothing below needs to look at them.
            if digitCount < 6 { return e }
            var end = e
            // ID check character.
            var x = false
            if digitCount == 17 && end < n && (v[end] == UInt8(ascii: "X") || v[end] == UInt8(ascii: "x")) {
                x = true; d[17] = UInt8(ascii: "X"); end += 1
            }
            let plus = start > 0 && v[start - 1] == UInt8(ascii: "+")
            let leftGlue = start > (plus ? 1 : 0) && Self.glues(v[start - (plus ? 2 : 1)])
            // Digits right before `@` are an e-mail's local part (13812345678@163.com is an e-mail).
            let rightGlue = end < n && (Self.glues(v[end]) || v[end] == UInt8(ascii: "@"))
                && !(end + 1 >= n && v[end] == UInt8(ascii: "."))
                && !(v[end] == UInt8(ascii: ".") && end + 1 < n && !isDigit(v[end + 1]))
            // `glued` keeps its tests out of line: written here, they grew `number` until the
            // compiler stopped inlining `judge` into it.
            if leftGlue && digitCount >= 11 && !plus && !grouped
                && glued(v, start: start, end: end, d: UnsafeBufferPointer(d), count: digitCount, x: x, found: found) {
                return end
            }
            if start > 0 && isAlpha(v[start - 1]) && !grouped {
                letterPrefixed(v, start: start, end: e, d: d, count: digitCount, role: role, found: found)
                return end
            }
            if grouped && !leftGlue, let rest = Self.afterLeadingDate(v, start: start, firstEnd: firstEnd) {
                return number(v, at: rest, firstEnd: ByteSkip.digitRunEnd(in: v, from: rest, end: n), role: role, found: found)
            }
            if leftGlue || rightGlue { return end }
            let len = digitCount + (x ? 1 : 0)
            if digitCount <= 24, judge(UnsafeBufferPointer(rebasing: d[0..<len]), plus: plus, role: role,
                                       before: UnsafeBufferPointer(rebasing: v[max(0, start - 24)..<start]), found: found) { return end }
            guard grouped && !x else { return end }
            pieces(v, start: start, end: e, role: role, found: found)
            return end
        }
    }

    /// A grouped run that as a whole is nothing: its pieces are tried (a date next to a phone
    /// number, a card number before a date: `6222…128 2026-11-29` is too long to be anything
    /// whole). Out of line: rare, and `number` stays small enough to take `judge` in line.
    @inline(never) private func pieces(_ v: UnsafeBufferPointer<UInt8>, start: Int, end e: Int, role: FieldRole,
                                       found: (Identifier) -> Void) {
        var p = start
        while p < e {
            var q = p
            while q < e && isDigit(v[q]) { q += 1 }
            if q - p >= 11 {
                let piece = UnsafeBufferPointer(rebasing: v[p..<q])
                _ = judge(piece, plus: false, role: role, before: UnsafeBufferPointer(rebasing: v[p..<p]), found: found)
            }
            p = q + 1
        }
    }

    /// Where the rest of a grouped run starts when the run opens with a date (2026-11-29 …,
    /// 2026 11 29 …, 20261129 …): in a log line or a note the date is one number and what follows
    /// it another (an ID after a date made one 26-digit run, and was lost).
    static func afterLeadingDate(_ v: UnsafeBufferPointer<UInt8>, start: Int, firstEnd: Int) -> Int? {
        let n = v.count
        var i = firstEnd
        let month: Int, day: Int
        if firstEnd - start == 8 {
            month = Checksums.number(v, start + 4, 2); day = Checksums.number(v, start + 6, 2)
        } else if firstEnd - start == 4, firstEnd + 6 <= n, v[firstEnd] == UInt8(ascii: " ") || v[firstEnd] == UInt8(ascii: "-"),
                  isDigit(v[firstEnd + 1]), isDigit(v[firstEnd + 2]), v[firstEnd + 3] == v[firstEnd],
                  isDigit(v[firstEnd + 4]), isDigit(v[firstEnd + 5]) {
            month = Checksums.number(v, firstEnd + 1, 2); day = Checksums.number(v, firstEnd + 4, 2)
            i = firstEnd + 6
        } else {
            return nil
        }
        let year = Checksums.number(v, start, 4)
        guard year >= 1900, year <= 2100, month >= 1, month <= 12, day >= 1, day <= 31,
              i + 1 < n, v[i] == UInt8(ascii: " ") || v[i] == UInt8(ascii: "-"), isDigit(v[i + 1]) else { return nil }
        return i + 1
    }

    /// Decides what a bare number is. Returns true when it was an identifier.
    /// `before`: the bytes just before the number, for what the text calls it (订单号 4632…).
    private func judge(_ d: UnsafeBufferPointer<UInt8>, plus: Bool, role: FieldRole, before: UnsafeBufferPointer<UInt8>,
                       found: (Identifier) -> Void) -> Bool {
        let len = d.count
        if len == 18, let birth = Checksums.residentID18(d, today: today) {
            found(Identifier(kind: .idNumber, normalized: d, birth: birth))
            return true
        }
        guard d[len - 1] != UInt8(ascii: "X") else { return false }
        if len == 11 && Checksums.mobile11(d, 0) {
            Self.mobile(d, from: 0, found: found)
            return true
        }
        if len == 13 && d[0] == UInt8(ascii: "8") && d[1] == UInt8(ascii: "6") && Checksums.mobile11(d, 2) {
            Self.mobile(d, from: 2, found: found)
            return true
        }
        if len == 15 && !plus && d[0] == UInt8(ascii: "0") && d[1] == UInt8(ascii: "0") && d[2] == UInt8(ascii: "8")
            && d[3] == UInt8(ascii: "6") && Checksums.mobile11(d, 4) {
            Self.mobile(d, from: 4, found: found)
            return true
        }
        // Before the card test: one legacy ID in ten passes Luhn, and its field says what it is.
        if len == 15 && role == .idNumber, let birth = Checksums.residentID15(d, today: today) {
            found(Identifier(kind: .idNumber, normalized: d, birth: birth))
            return true
        }
        // By issuer range alone only outside fields named for something else (an order number).
        // The issuer (a few compares) before the Luhn sum: most such runs are order numbers,
        // outside every issuer's range.
        guard len >= 13 && len <= 19 && !plus else { return false }
        let cardField = role == .bankCard || role == .financial
        if (cardField || (role != .notPerson && Checksums.cardIssuer(d))) && Checksums.luhn(d)
            && (cardField || (!(len == 18 && Checksums.residentIDShaped(d, today: today)) && !Self.namedBusinessNumber(before))) {
            found(Identifier(kind: .bankCard, normalized: d))
            return true
        }
        return false
    }

    /// A number glued to the word before it (`ID11010519491231002X`, `Tel13812345678`,
    /// `phone_13812345678`). Most such tokens are order or customer ids (`SO2026…`), so only what no
    /// id is mistaken for counts: a resident ID (region, birth date and check character together pass
    /// a random run of digits about once in 10^11), and a mobile number right after a word for a
    /// phone. `d` holds the run's digits (and `X`), `count` of them; `end` is past the run.
    @inline(never) private func glued(_ v: UnsafeBufferPointer<UInt8>, start: Int, end: Int, d: UnsafeBufferPointer<UInt8>, count: Int,
                                      x: Bool, found: (Identifier) -> Void) -> Bool {
        guard count == 11 || count == 18 || (count == 17 && x) else { return false }
        let n = v.count
        let left = v[start - 1]
        guard isAlpha(left) || left == UInt8(ascii: "_") else { return false }
        // Next may come the token's next word; not more digits, a mask, an e-mail's `@` or decimals.
        if end < n {
            let r = v[end]
            if isDigit(r) || r == UInt8(ascii: "*") || r == UInt8(ascii: "@")
                || (r == UInt8(ascii: ".") && end + 1 < n && isDigit(v[end + 1])) { return false }
        }
        if count != 11 {
            let id = UnsafeBufferPointer(rebasing: d[0..<18])
            guard let birth = Checksums.residentID18(id, today: today) else { return false }
            found(Identifier(kind: .idNumber, normalized: id, birth: birth))
            return true
        }
        guard !x, end == n || !Self.glues(v[end]), Self.phoneWord(before: start, in: v), Checksums.mobile11(d, 0) else { return false }
        Self.mobile(d, from: 0, found: found)
        return true
    }

    /// Words for a phone a number can be glued to (`Tel138…`, `mobile_138…`), as a word ends with them.
    static let phoneWords: [[UInt8]] = ["tel", "phone", "mobile", "mob", "cell", "shouji", "dianhua"].map { Array($0.utf8) }

    /// Whether the letters before `start` (past one `_`) end with one of `phoneWords`, ASCII case ignored.
    static func phoneWord(before start: Int, in v: UnsafeBufferPointer<UInt8>) -> Bool {
        let e = start > 0 && v[start - 1] == UInt8(ascii: "_") ? start - 1 : start
        return phoneWords.contains { w in
            guard w.count <= e else { return false }
            for k in 0..<w.count where v[e - w.count + k] | 0x20 != w[k] { return false }
            return true
        }
    }

    private static func emit(_ kind: DetectorKind, _ bytes: [UInt8], _ found: (Identifier) -> Void) {
        bytes.withUnsafeBufferPointer { found(Identifier(kind: kind, normalized: $0)) }
    }

    /// Words a note puts before an order or transaction number, each as the text ends with it.
    static let businessNumberNames: [[UInt8]] = [
        "订单号", "订单", "单号", "流水号", "交易号", "运单号", "工单号", "发票号", "order", "order no.", "order no", "order #",
        "order number", "transaction", "txn", "tracking", "invoice", "ref", "ref.", "reference",
    ].map { Array($0.utf8) }

    /// Whether `before` ends with one of `businessNumberNames` (ASCII case ignored), then spaces, `:`, `：` or `#`.
    static func namedBusinessNumber(_ before: UnsafeBufferPointer<UInt8>) -> Bool {
        var e = before.count
        while e > 0 && (before[e - 1] == 0x20 || before[e - 1] == UInt8(ascii: ":") || before[e - 1] == UInt8(ascii: "#")) { e -= 1 }
        if e >= 3 && before[e - 3] == 0xEF && before[e - 2] == 0xBC && before[e - 1] == 0x9A { e -= 3 }  // ：
        while e > 0 && before[e - 1] == 0x20 { e -= 1 }
        return businessNumberNames.contains { w in
            guard w.count <= e else { return false }
            for k in 0..<w.count where before[e - w.count + k] | (isUpper(before[e - w.count + k]) ? 0x20 : 0) != w[k] { return false }
            return w.count == e || !isAlpha(before[e - w.count - 1]) || w[0] >= 0x80
        }
    }

    /// A mobile number normalised to "+86" and its 11 digits starting at `from`.
    private static func mobile(_ d: UnsafeBufferPointer<UInt8>, from: Int, found: (Identifier) -> Void) {
        var buf: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &buf) { raw in
            let out = raw.bindMemory(to: UInt8.self)
            out[0] = UInt8(ascii: "+"); out[1] = UInt8(ascii: "8"); out[2] = UInt8(ascii: "6")
            for k in 0..<11 { out[3 + k] = d[from + k] }
            found(Identifier(kind: .mobile, normalized: UnsafeBufferPointer(rebasing: out[0..<14])))
        }
    }

    /// Letters followed by digits: passports (E12345678, EA1234567, G12345678, DE1234567, K12345678,
    /// MA1234567), Hong Kong IDs (A123456(7)), Taiwan IDs (A123456789).
    private func letterPrefixed(_ v: UnsafeBufferPointer<UInt8>, start: Int, end: Int, d: UnsafeMutableBufferPointer<UInt8>,
                                count: Int, role: FieldRole, found: (Identifier) -> Void) {
        var ls = start
        while ls > 0 && start - ls < 3 && isAlpha(v[ls - 1]) { ls -= 1 }
        if ls > 0 && (Self.glues(v[ls - 1])) { return }
        // Most letter-prefixed numbers are order or customer ids: the letters are read in place, an
        // identifier is passed on as the bytes it lies in, and an array of the letters is made only
        // for the rare Hong Kong ID check.
        let letterCount = start - ls
        guard letterCount <= 2, isUpper(v[ls]), isUpper(v[start - 1]) else { return }
        var letters: [UInt8] { Array(v[ls..<start]) }
        let after: UInt8 = end < v.count ? v[end] : 0
        let digits = UnsafeBufferPointer(rebasing: d[0..<min(count, 24)])
        // Hong Kong: X123456(7) or, in an HKID field, X1234567 / X123456A.
        if count == 6 && after == UInt8(ascii: "(") && end + 2 < v.count && v[end + 2] == UInt8(ascii: ")") {
            let check = v[end + 1]
            if Checksums.hkID(letters: letters, digits: digits, check: check) {
                Self.emit(.hkID, letters + Array(digits) + [check], found)
            }
            return
        }
        if Self.glues(after) && !(role == .hkID && count == 6 && after == UInt8(ascii: "A")) { return }
        if role == .hkID && (count == 7 || (count == 6 && after == UInt8(ascii: "A"))) {
            let six = UnsafeBufferPointer(rebasing: digits[0..<6])
            let check = count == 7 ? digits[6] : after
            if Checksums.hkID(letters: letters, digits: six, check: check) {
                // Letters, six digits and the check are the run as written (`X1234567`, `X123456A`).
                found(Identifier(kind: .hkID, normalized: UnsafeBufferPointer(rebasing: v[ls..<(start + 7)])))
            }
            return
        }
        if letterCount == 1 && count == 9 && Checksums.twID(letter: v[ls], digits: digits) {
            found(Identifier(kind: .twID, normalized: UnsafeBufferPointer(rebasing: v[ls..<(start + count)])))
            return
        }
        let l0 = v[start - 1]
        let passport: Bool
        switch (letterCount, count) {
        case (1, 8): passport = l0 == UInt8(ascii: "E") || l0 == UInt8(ascii: "G") || l0 == UInt8(ascii: "K")
        case (2, 7):
            let a = v[ls], b = v[ls + 1]
            passport = (a == UInt8(ascii: "E") && b != UInt8(ascii: "I") && b != UInt8(ascii: "O"))
                || (b == UInt8(ascii: "E") && (a == UInt8(ascii: "D") || a == UInt8(ascii: "S") || a == UInt8(ascii: "P")))
                || (a == UInt8(ascii: "M") && b == UInt8(ascii: "A"))
        default: passport = role == .passport && count >= 7 && count <= 9
        }
        if passport {
            // Letters and digits as written: one group, so they lie together in the value.
            found(Identifier(kind: .passport, normalized: UnsafeBufferPointer(rebasing: v[ls..<(start + count)])))
        }
    }
}
