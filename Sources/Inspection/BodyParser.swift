/// Why a body cannot be understood; becomes `InspectionResult.uninspectable`.
public struct UninspectableError: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    /// Offset in the decoded body where the problem was seen, when known.
    public let offset: Int?
    public init(_ reason: String, offset: Int? = nil) { self.reason = reason; self.offset = offset }
    public var description: String { offset.map { "\(reason) (at byte \($0))" } ?? reason }
}

/// A streaming parser of one content type, feeding a `RecordAssembler`.
protocol BodyParser: AnyObject {
    func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(UninspectableError)
    func finish() throws(UninspectableError)
}

/// A value longer than the scan window is scanned in overlapping windows, so an identifier
/// straddling a window edge is still seen and memory stays bounded.
struct ValueBuffer {
    var bytes: [UInt8] = []
    let limit: Int
    static let overlap = 64

    init(limit: Int) { self.limit = limit; bytes.reserveCapacity(256) }

    @inline(__always) mutating func append(_ c: UInt8, flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        if bytes.count >= limit { spill(flush) }
        bytes.append(c)
    }

    mutating func append(_ s: UnsafeBufferPointer<UInt8>, flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        if bytes.count + s.count > limit { spill(flush) }
        if s.count > limit {
            for c in s { append(c, flush: flush) }
        } else {
            bytes.append(contentsOf: s)
        }
    }

    private mutating func spill(_ flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { flush($0) }
        let keep = Array(bytes.suffix(Self.overlap))
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: keep)
    }

    mutating func take(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { body($0) }
        bytes.removeAll(keepingCapacity: true)
    }

    var isEmpty: Bool { bytes.isEmpty }
}
