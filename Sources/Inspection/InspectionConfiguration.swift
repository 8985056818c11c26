import CustomsCore
import Foundation

/// Everything a `BodyInspector` needs besides the body.
public struct InspectionConfiguration: Sendable {
    /// HMAC-SHA256 key for subject keys.
    public var secret: [UInt8]
    public var sensitivity: SensitivityMapping
    /// Policy-supplied field names, added to the built-in dictionaries (matched case- and
    /// separator-insensitively, like the built-in ones).
    public var extraFieldNames: [DetectorKind: [String]]
    /// Largest decoded body inspected; beyond it the body is uninspectable (zip-bomb guard).
    public var maxDecodedBytes: Int
    /// Largest ratio decoded/encoded tolerated for gzip/deflate bodies.
    public var maxInflateRatio: Int
    /// The flow's date: ages (minors under 14) are computed on this date in UTC+8.
    public var now: Date
    /// Longest single value (string, CSV cell, text line) scanned as a whole; longer ones are
    /// scanned in overlapping windows so memory stays bounded.
    public var maxValueBytes: Int
    /// Report the keyed hashes of every distinct value per kind (`InspectionResult.valueKeys`),
    /// for measuring accuracy against labelled data without ever printing a value.
    public var reportValueKeys = false

    public init(
        secret: [UInt8],
        sensitivity: SensitivityMapping = .gbt45574_2025,
        extraFieldNames: [DetectorKind: [String]] = [:],
        maxDecodedBytes: Int = 256 << 20,
        maxInflateRatio: Int = 200,
        now: Date = Date(),
        maxValueBytes: Int = 1 << 20
    ) {
        self.secret = secret
        self.sensitivity = sensitivity
        self.extraFieldNames = extraFieldNames
        self.maxDecodedBytes = maxDecodedBytes
        self.maxInflateRatio = maxInflateRatio
        self.now = now
        self.maxValueBytes = max(4096, maxValueBytes)
    }
}
