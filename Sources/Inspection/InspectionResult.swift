import CustomsCore

/// One person found in a body.
public struct DetectedSubject: Sendable, Hashable {
    /// HMAC of the strongest identifier, truncated to 128 bits.
    public let key: SubjectKey
    /// Every kind seen in this subject's record(s), including `.minor`.
    public var kinds: Set<DetectorKind>
    /// Under the configured sensitivity mapping.
    public var isSensitive: Bool
    /// Last four characters of the strongest identifier, e.g. "****123X"; for logs.
    public let masked: String

    public init(key: SubjectKey, kinds: Set<DetectorKind>, isSensitive: Bool, masked: String) {
        self.key = key; self.kinds = kinds; self.isSensitive = isSensitive; self.masked = masked
    }
}

/// What one body holds. Counts are distinct within the body.
public struct InspectionResult: Sendable {
    public var records: Int
    /// Distinct by key within the body.
    public var subjects: [DetectedSubject]
    /// Distinct values per kind (`.minor`: distinct minors).
    public var kindCounts: [DetectorKind: Int]
    public var minors: Int
    /// Decoded bytes inspected.
    public var bytes: Int
    /// Why the body (or part of it) could not be understood; never nil-as-"no PI" for that.
    public var uninspectable: String?
    /// `.pi` and `.sensitive` distinct subjects.
    public var categoryCounts: [Category: Int]
    /// With `InspectionConfiguration.reportValueKeys`: `SubjectKeys.key(for: value, kind:)` of every
    /// distinct value per kind. Empty otherwise.
    public var valueKeys: [DetectorKind: Set<SubjectKey>] = [:]

    public init(records: Int = 0, subjects: [DetectedSubject] = [], kindCounts: [DetectorKind: Int] = [:],
                minors: Int = 0, bytes: Int = 0, uninspectable: String? = nil, categoryCounts: [Category: Int] = [:]) {
        self.records = records; self.subjects = subjects; self.kindCounts = kindCounts; self.minors = minors
        self.bytes = bytes; self.uninspectable = uninspectable; self.categoryCounts = categoryCounts
    }

    public var count: Int { subjects.count }
    public var sensitiveCount: Int { categoryCounts[.sensitive] ?? 0 }
}
