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
///
/// The bytes live in storage that only grows, with their own count: emptying the buffer per cell
/// or token is one store (not `removeAll`'s generic path), and an append or a read is a pointer
/// access (no uniqueness check, no retain of an array for the call). Not a value: a copy would
/// share the storage, so each buffer has one owner (a parser's private field).
struct ValueBuffer {
    private let store: ValueBufferStore
    /// How many bytes are held.
    private(set) var count = 0
    /// Whether the bytes held start at the value's first byte (nothing spilled since it was emptied).
    private(set) var whole = true
    let limit: Int
    static let overlap = 64

    init(limit: Int) { self.limit = limit; store = ValueBufferStore(capacity: 256) }

    var isEmpty: Bool { count == 0 }

    @inline(__always) mutating func append(_ c: UInt8, flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        if count >= limit { spill(flush) }
        appendUnlimited(c)
    }

    mutating func append(_ s: UnsafeBufferPointer<UInt8>, flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        if count + s.count > limit { spill(flush) }
        if s.count > limit {
            for c in s { append(c, flush: flush) }
        } else {
            appendUnlimited(s)
        }
    }

    /// Appends without the scan window's check (member names, whose length the caller caps, and
    /// runs the caller knows fit).
    @inline(__always) mutating func appendUnlimited(_ c: UInt8) {
        if count == store.capacity { store.grow(to: count + 1) }
        store.base[count] = c
        count += 1
    }

    mutating func appendUnlimited(_ s: UnsafeBufferPointer<UInt8>) {
        guard let from = s.baseAddress, !s.isEmpty else { return }
        if count + s.count > store.capacity { store.grow(to: count + s.count) }
        ByteSkip.copy(from, to: store.base + count, count: s.count)
        count += s.count
    }

    private mutating func spill(_ flush: (UnsafeBufferPointer<UInt8>) -> Void) {
        flush(bytes)
        whole = false
        let keep = min(count, Self.overlap)
        store.base.update(from: store.base + (count - keep), count: keep)
        count = keep
    }

    /// The bytes held, valid until the next append (the storage may move when it grows).
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: store.base, count: count) }

    /// The bytes held, to rewrite in place (decoding that never lengthens).
    var mutableBytes: UnsafeMutableBufferPointer<UInt8> { UnsafeMutableBufferPointer(start: store.base, count: count) }

    /// Hands the bytes to `body`, then empties the buffer.
    mutating func take(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        body(bytes)
        count = 0
        whole = true
    }

    /// Empty again; storage grown past `keepingUpTo` bytes (one huge value) is given back.
    mutating func removeAll(keepingUpTo: Int = .max) {
        count = 0
        whole = true
        if store.capacity > keepingUpTo { store.shrink(to: 256) }
    }
}

/// `ValueBuffer`'s storage: one allocation, owned by one buffer.
final class ValueBufferStore {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    /// Room for at least `needed` bytes, keeping the bytes held (the buffer's count of them is
    /// at most `capacity`).
    func grow(to needed: Int) {
        let bigger = max(needed, 2 * capacity)
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
        b.update(from: base, count: capacity)
        base.deallocate()
        base = b
        capacity = bigger
    }

    /// Back to `small` bytes; the bytes held are dropped.
    func shrink(to small: Int) {
        base.deallocate()
        base = .allocate(capacity: small)
        capacity = small
    }

    deinit { base.deallocate() }
}
