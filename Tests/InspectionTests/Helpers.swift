import CustomsCore
import Foundation
@testable import Inspection

/// 2026-11-29 12:00 in UTC+8, the evaluation date of the labelled sets.
let evaluationDate = CivilCalendar.chinaStandardTime.startOfDay(year: 2026, month: 11, day: 29).addingTimeInterval(12 * 3600)

func configuration(_ mapping: SensitivityMapping = .gbt45574_2025) -> InspectionConfiguration {
    InspectionConfiguration(secret: Array("test-secret".utf8), sensitivity: mapping, now: evaluationDate)
}

/// Inspects `bytes` fed in the given chunk sizes (one chunk when nil).
func inspect(_ bytes: [UInt8], type: String?, encoding: String? = nil, chunks: [Int]? = nil,
             configuration c: InspectionConfiguration = configuration()) -> InspectionResult {
    let inspector = BodyInspector(contentType: type, contentEncoding: encoding, configuration: c)
    var offset = 0
    var k = 0
    while offset < bytes.count {
        let size = chunks.map { $0[k % $0.count] } ?? bytes.count
        let end = min(bytes.count, offset + max(1, size))
        bytes[offset..<end].withUnsafeBytes { inspector.feed($0) }
        offset = end; k += 1
    }
    return inspector.finish()
}

func inspect(_ text: String, type: String?, encoding: String? = nil, chunks: [Int]? = nil,
             configuration c: InspectionConfiguration = configuration()) -> InspectionResult {
    inspect(Array(text.utf8), type: type, encoding: encoding, chunks: chunks, configuration: c)
}

func json(_ s: String) -> InspectionResult { inspect(s, type: "application/json") }

extension InspectionResult {
    subscript(_ k: DetectorKind) -> Int { kindCounts[k] ?? 0 }
}
