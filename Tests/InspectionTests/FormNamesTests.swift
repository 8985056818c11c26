import CustomsCore
import Foundation
import Testing
@testable import Inspection

/// Form field names, multipart part names and file names that hold identifiers: a name was only
/// ever a field's name, so a person in one (`contacts[13812345678]=…`, a bare `11010519491231002X`,
/// `身份证_110105….jpg`) went out uncounted.
@Suite("Form names")
struct FormNamesTests {
    static let id = "11010519491231002X"

    private func form(_ body: String) -> InspectionResult {
        let whole = inspect(body, type: "application/x-www-form-urlencoded")
        for size in [1, 3, 7] {
            let r = inspect(body, type: "application/x-www-form-urlencoded", chunks: [size])
            #expect(r.subjects.map(\.key) == whole.subjects.map(\.key), "chunks of \(size)")
        }
        return whole
    }

    @Test("names holding identifiers are read as values")
    func identifierNames() {
        #expect(form(Self.id)[.idNumber] == 1)
        #expect(form("a=1&\(Self.id)")[.idNumber] == 1)
        #expect(form("a=1&13812345678=x")[.mobile] == 1)
        let grouped = form("c%5B13812345678%5D%5Bname%5D=%E5%BC%A0%E4%B8%89&c%5B13912345678%5D%5Bname%5D=%E6%9D%8E%E5%9B%9B")
        #expect(grouped[.mobile] == 2)
        #expect(form("user%40example.com=1")[.email] == 1)
        // Ordinary names are still field names, not values.
        let plain = form("name=%E5%BC%A0%E4%B8%89&phone2=13812345678&q3_2026=1")
        #expect(plain[.name] == 1 && plain[.mobile] == 1)
        #expect(plain.subjects.count == 1)
    }

    @Test("a multipart part's name and file name are read")
    func partNames() {
        let body = "--B\r\nContent-Disposition: form-data; name=\"scan\"; filename=\"身份证_110105194912310003.jpg\"\r\n"
            + "Content-Type: image/jpeg\r\n\r\n\u{7f}JPEG\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"13812345678\"\r\n\r\nx\r\n--B--\r\n"
        let r = inspect(body, type: "multipart/form-data; boundary=B")
        #expect(r.uninspectable != nil, "the image itself is still not read")
        #expect(r[.idNumber] == 1 && r[.mobile] == 1, "\(r)")
        let plain = inspect("--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"report-2026.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--B--\r\n",
                            type: "multipart/form-data; boundary=B")
        #expect(plain.subjects.isEmpty && plain.uninspectable == nil)
    }

    @Test("a name longer than the scan window is read whole")
    func longNames() {
        let c = configuration()
        let pad = String(repeating: "a", count: c.maxValueBytes + 500)
        #expect(form("\(pad) \(Self.id)=1")[.idNumber] == 1)
        #expect(form("\(pad)=1&idNo=\(Self.id)").subjects.count == 1)
        // Longer than the part of a name its role is judged by, shorter than the window.
        #expect(form(String(repeating: "b", count: 2000) + " 13812345678=1")[.mobile] == 1)
    }
}
