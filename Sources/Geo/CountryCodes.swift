import CustomsCore

/// The ISO 3166-1 alpha-2 codes in current use (249 countries and territories, plus XK for
/// Kosovo, which the RIRs and MaxMind use). Codes such as EU, AP, A1 or ZZ are not countries.
public enum CountryCodes {
    public static func isKnown(_ c: CountryCode) -> Bool {
        let a = Int(c.raw >> 8) - 65, b = Int(c.raw & 0xFF) - 65
        guard (0..<26).contains(a), (0..<26).contains(b) else { return false }
        return known[a * 26 + b]
    }

    /// Every known code, sorted.
    public static var all: [CountryCode] {
        var out: [CountryCode] = []
        for i in 0..<(26 * 26) where known[i] {
            let first = UInt16(65 + i / 26), second = UInt16(65 + i % 26)
            out.append(CountryCode(raw: first << 8 | second))
        }
        return out
    }

    private static let list = """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
        BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE \
        EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM \
        HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
        LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
        NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
        SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
        TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
        """

    private static let known: [Bool] = {
        var bits = [Bool](repeating: false, count: 26 * 26)
        for code in list.split(separator: " ") {
            let u = Array(code.utf8)
            bits[Int(u[0] - 65) * 26 + Int(u[1] - 65)] = true
        }
        return bits
    }()
}
