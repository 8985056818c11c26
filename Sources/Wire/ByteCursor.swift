#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes bytes through a raw pointer with no capacity or uniqueness check per write: the caller
/// reserves the worst case of what it writes once. Heads and access-log lines are a few dozen
/// small pieces each, and an `Array.append` paid both checks for every piece.
public struct ByteCursor {
    @usableFromInline var _position: UnsafeMutablePointer<UInt8>
    public var position: UnsafeMutablePointer<UInt8> { _position }

    @inlinable public init(_ start: UnsafeMutablePointer<UInt8>) { _position = start }

    @inlinable @inline(__always)
    public mutating func put(_ byte: UInt8) {
        _position.pointee = byte
        _position += 1
    }

    @inlinable @inline(__always)
    public mutating func put(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        Self.copy(_position, UnsafeRawPointer(text.utf8Start), n)
        _position += n
    }

    @inlinable @inline(__always)
    public mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        Self.copy(_position, base, bytes.count)
        _position += bytes.count
    }

    /// Nearly every piece is a few bytes (a key, a separator, a short value): those are moved with
    /// two overlapping word loads and stores instead of a call to memcpy each.
    @inlinable @inline(__always)
    static func copy(_ to: UnsafeMutablePointer<UInt8>, _ from: UnsafeRawPointer, _ n: Int) {
        let out = UnsafeMutableRawPointer(to)
        if n >= 8 {
            if n > 16 {
                memcpy(out, from, n)
                return
            }
            let head = from.loadUnaligned(as: UInt64.self), tail = from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            out.storeBytes(of: head, as: UInt64.self)
            out.storeBytes(of: tail, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            let head = from.loadUnaligned(as: UInt32.self), tail = from.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            out.storeBytes(of: head, as: UInt32.self)
            out.storeBytes(of: tail, toByteOffset: n - 4, as: UInt32.self)
        } else {
            for i in 0..<n { out.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
        }
    }

    /// A string's UTF-8 (`utf8.count` bytes); native strings are copied in one piece.
    @inlinable
    public mutating func put(utf8 text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { put(UnsafeRawBufferPointer($0)) }
        if done == nil {
            for b in text.utf8 { put(b) }
        }
    }

    /// Decimal digits of `value`, zero-padded to `width` (at most 20 + padding bytes).
    @inlinable
    public mutating func putDecimal(_ value: UInt64, width: Int = 1) {
        var digits = 1, x = value
        while x >= 10 { x /= 10; digits += 1 }
        let total = max(digits, width)
        var p = _position + total
        _position = p
        var y = value
        repeat {
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: y % 10) &+ 0x30
            y /= 10
        } while y > 0
        while p > _position - total {
            p -= 1
            p.pointee = 0x30
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends what `body` writes, at most `maxBytes`, with one capacity check; `extraCapacity`
    /// leaves room for what the caller appends next (a response head waits for its first body
    /// bytes). The bytes are written to temporary storage (the stack, for a head) and copied in
    /// once: `Array(unsafeUninitializedCapacity:)` looked up its generic metadata on every call.
    @inlinable
    public mutating func appendWriting(maxBytes: Int, extraCapacity: Int = 0, _ body: (inout ByteCursor) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Swift.max(maxBytes, 1)) { room in
            var cursor = ByteCursor(room.baseAddress!)
            body(&cursor)
            let written = room.baseAddress!.distance(to: cursor.position)
            // Checked after the fact (and kept in -Ounchecked builds): a wrong bound is a bug to catch in tests.
            if written > maxBytes { fatalError("ByteCursor wrote past its reservation") }
            reserveCapacity(count + written + extraCapacity)
            append(contentsOf: UnsafeBufferPointer(rebasing: room[..<written]))
        }
    }
}
