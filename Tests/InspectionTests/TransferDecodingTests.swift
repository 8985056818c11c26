import CustomsCore
import Foundation
import Testing
@testable import Inspection

/// Multipart parts written with a Content-Transfer-Encoding: read as what they encode (a base64
/// field was read as its letters, and the person in it went out uncounted).
@Suite("Transfer codings")
struct TransferDecodingTests {
    /// Decodes `text` fed in pieces of `step` bytes.
    private func decoded(_ header: String, _ text: String, step: Int) throws -> [UInt8] {
        var d = try #require(try TransferDecoder(header: header))
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + step)
            try bytes[i..<end].withUnsafeBufferPointer { try d.decode($0, into: &out) }
            i = end
        }
        try d.finish(into: &out)
        return out
    }

    @Test("base64 and quoted-printable, in pieces of any size")
    func decoders() throws {
        let plain = Array("张三 11010519491231002X, tel 13812345678 ✓".utf8)
        let b64 = Data(plain).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        for step in 1...9 {
            #expect(try decoded("base64", b64, step: step) == plain, "base64 in pieces of \(step)")
            #expect(try decoded(" Base64 ", "MTM4MTIzNDU2Nzg=", step: step) == Array("13812345678".utf8))
            #expect(try decoded("quoted-printable", "tel =31381234=\r\n5678 =E2=9C=93 a=3Db=\nc", step: step)
                    == Array("tel 13812345678 ✓ a=bc".utf8), "quoted-printable in pieces of \(step)")
        }
        #expect(try TransferDecoder(header: "7bit") == nil)
        #expect(try TransferDecoder(header: "binary") == nil)
        #expect(throws: UninspectableError.self) { _ = try TransferDecoder(header: "x-uuencode") }
        #expect(throws: UninspectableError.self) { _ = try decoded("base64", "MTM4*", step: 3) }
        #expect(throws: UninspectableError.self) { _ = try decoded("base64", "MTM", step: 3) }
        #expect(throws: UninspectableError.self) { _ = try decoded("base64", "MQ==MQ==", step: 3) }
    }

    @Test("a form's base64 and quoted-printable parts hold their people")
    func parts() throws {
        let id = Data("11010519491231002X".utf8).base64EncodedString()
        let json = Data(#"[{"idNo":"110105194912310003"}]"#.utf8).base64EncodedString()
        let body = "--B\r\nContent-Disposition: form-data; name=\"idNo\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\(id)\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"tel\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=31381234=\r\n5678\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n\(json)\r\n--B--\r\n"
        for size in [1, 7, 64, 100_000] {
            let r = inspect(body, type: "multipart/form-data; boundary=B", chunks: [size])
            #expect(r.uninspectable == nil, "\(r.uninspectable ?? "")")
            #expect(r[.idNumber] == 2 && r[.mobile] == 1, "chunks of \(size)")
            #expect(r.subjects.count == 2)
        }
        let unknown = inspect("--B\r\nContent-Disposition: form-data; name=\"x\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nabc\r\n--B--\r\n",
                              type: "multipart/form-data; boundary=B")
        #expect(unknown.uninspectable?.contains("x-uuencode") == true)
    }
}
