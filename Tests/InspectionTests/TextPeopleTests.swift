import CustomsCore
import Testing
@testable import Inspection

/// Free text has no field names: who is a person, and when two mentions are one person, comes
/// from role words and shared identifiers.
@Suite struct TextPeopleTests {
    private func text(_ notes: [String]) -> InspectionResult {
        inspect(notes.joined(separator: "\n\n") + "\n", type: "text/plain; charset=utf-8")
    }

    @Test func nounsAfterTheHeaderOrARoleWordAreNoNames() {
        let r = text([
            "【工单#1】2026-11-01 08:24 客服8035号：快递单号YT7968560413047，收件人贾晨电话14771395905。客户说之前留的号码196****4957已停用。",
            "【工单#2】2026-11-02 09:00 客服1号：王玉申请护照信息变更，邮箱wangyu@example.com。",
            "【工单#3】2026-11-03 10:00 客服2号：高俊（13960628011）要求修改收货地址，已处理。",
        ])
        // 贾晨, 王玉, 高俊; neither 快递单号 nor 说之前.
        #expect(r[.name] == 3)
        #expect(r.subjects.count == 3)
    }

    @Test func sameNameDifferentDocumentsAreTwoPeople() {
        let r = text([
            "客户王芳来电，身份证号110101199003074514，反映订单未收到退款。",
            "客户王芳来电，身份证号440305198807215616，反映订单未收到退款。",
        ])
        #expect(r[.idNumber] == 2)
        #expect(r.subjects.count == 2)
    }

    @Test func sameNameWithoutConflictIsOnePerson() {
        let r = text([
            "【工单#4】2026-11-04 11:00 客服3号：客户李杰来电，身份证号513330200011226341，反映订单未收到退款。",
            "【工单#5】2026-11-05 12:00 客服4号：李杰（15787987582）要求修改收货地址为广东省某县某路1号，已处理。",
        ])
        #expect(r.subjects.count == 1)
    }

    @Test func aNameOnlyMentionJoinsOneOfSeveralNamesakes() {
        let r = text([
            "客户王芳来电，身份证号110101199003074514，反映订单未收到退款。",
            "客户王芳来电，身份证号440305198807215616，反映订单未收到退款。",
            "回访王芳：手机号未留，满意度2分。",
        ])
        #expect(r.subjects.count == 2)
    }
}
