import CustomsCore

/// One person found in a body. A plain value (no references), so results are built, copied and
/// freed without reference counting per subject.
public struct DetectedSubject: Sendable, Hashable {
    /// HMAC of the strongest identifier, truncated to 128 bits.
    public let key: SubjectKey
    /// Every kind seen in this subject's record(s), including `.minor`.
    public var kinds: DetectorKinds
    /// Under the configured sensitivity mapping.
    public var isSensitive: Bool
    private let mask: MaskText

    /// Last four characters of the strongest identifier, e.g. "****123X"; for logs. Made when read.
    public var masked: String { mask.string }

    /// `masked` is kept up to its last 24 UTF-8 bytes (whole characters): "****" and four
    /// characters of up to five bytes each.
    public init(key: SubjectKey, kinds: DetectorKinds, isSensitive: Bool, masked: String) {
        self.init(key: key, kinds: kinds, isSensitive: isSensitive, mask: MaskText(masked))
    }

    init(key: SubjectKey, kinds: DetectorKinds, isSensitive: Bool, mask: MaskText) {
        self.key = key; self.kinds = kinds; self.isSensitive = isSensitive; self.mask = mask
    }
}

/// Up to 24 bytes of UTF-8 held inline: a subject's masked text without a `String` (whose
/// validation when made, and reference when copied, cost more than the rest of a subject).
struct MaskText: Hashable, Sendable {
    static let capacity = 24
    private var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private var count: UInt8 = 0

    /// `bytes` must be valid UTF-8 of at most `capacity` bytes.
    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        precondition(bytes.count <= Self.capacity)
        count = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &words) { w in
            for (i, b) in bytes.enumerated() { w[i] = b }
        }
    }

    /// Eight ASCII bytes as one native word: "****" and four more.
    @inline(__always) init(asterisksAndTail w: UInt64) {
        words.0 = w
        count = 8
    }

    /// The longest suffix of whole characters of `s` that fits.
    init(_ s: String) {
        var s = s
        while s.utf8.count > Self.capacity { s.removeFirst() }
        self = s.withUTF8 { MaskText(utf8: $0) }
    }

    var string: String {
        withUnsafeBytes(of: words) { w in
            String(decoding: UnsafeRawBufferPointer(rebasing: w[0..<Int(count)]), as: UTF8.self)
        }
    }

    static func == (a: MaskText, b: MaskText) -> Bool {
        a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
    }

    func hash(into h: inout Hasher) {
        h.combine(count); h.combine(words.0); h.combine(words.1); h.combine(words.2)
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
