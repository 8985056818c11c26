import CustomsCore

/// A set of detector kinds as one word: what a `DetectedSubject` holds. A `Set<DetectorKind>` per
/// subject cost a retain when the result was built and a release when it died; this is a plain
/// value. Use it as any `SetAlgebra` (`contains`, `formUnion`, array literals), iterate it, or make a
/// `Set(kinds)` where one is needed.
public struct DetectorKinds: SetAlgebra, Sequence, Hashable, Sendable, CustomStringConvertible {
    public typealias Element = DetectorKind

    /// Bit `k.ordinal` is set for each member `k`.
    public private(set) var bits: UInt32

    @inline(__always) public init() { bits = 0 }
    @inline(__always) init(bits: UInt32) { self.bits = bits }

    public init(arrayLiteral elements: DetectorKind...) {
        bits = 0
        for k in elements { bits |= Self.bit(k) }
    }

    /// (Fewer than 32 kinds: the masking shift needs no range check.)
    @inline(__always) private static func bit(_ k: DetectorKind) -> UInt32 { 1 &<< UInt32(k.ordinal) }

    @inline(__always) public func contains(_ k: DetectorKind) -> Bool { bits & Self.bit(k) != 0 }
    public var isEmpty: Bool { bits == 0 }
    public var count: Int { bits.nonzeroBitCount }

    public func union(_ o: DetectorKinds) -> DetectorKinds { DetectorKinds(bits: bits | o.bits) }
    public func intersection(_ o: DetectorKinds) -> DetectorKinds { DetectorKinds(bits: bits & o.bits) }
    public func symmetricDifference(_ o: DetectorKinds) -> DetectorKinds { DetectorKinds(bits: bits ^ o.bits) }
    @inline(__always) public mutating func formUnion(_ o: DetectorKinds) { bits |= o.bits }
    public mutating func formIntersection(_ o: DetectorKinds) { bits &= o.bits }
    public mutating func formSymmetricDifference(_ o: DetectorKinds) { bits ^= o.bits }

    @discardableResult
    public mutating func insert(_ k: DetectorKind) -> (inserted: Bool, memberAfterInsert: DetectorKind) {
        let was = contains(k)
        bits |= Self.bit(k)
        return (!was, k)
    }

    @discardableResult
    public mutating func remove(_ k: DetectorKind) -> DetectorKind? {
        guard contains(k) else { return nil }
        bits &= ~Self.bit(k)
        return k
    }

    @discardableResult
    public mutating func update(with k: DetectorKind) -> DetectorKind? {
        let was = contains(k)
        bits |= Self.bit(k)
        return was ? k : nil
    }

    /// Members in ordinal order.
    public struct Iterator: IteratorProtocol {
        var rest: UInt32
        public mutating func next() -> DetectorKind? {
            guard rest != 0 else { return nil }
            let i = rest.trailingZeroBitCount
            rest &= rest - 1
            return DetectorKinds.byOrdinal[i]
        }
    }

    public func makeIterator() -> Iterator { Iterator(rest: bits) }
    public var underestimatedCount: Int { count }

    public var description: String { "[" + map { "." + $0.rawValue }.sorted().joined(separator: ", ") + "]" }

    /// `allCases` builds a new array on every call; ordinals are indices into it.
    static let byOrdinal = DetectorKind.allCases
}
