extension UnsafeMutablePointer where Pointee: ~Copyable {
    /// Storage for twice `capacity` elements with the first `count` moved into it from this
    /// storage, which is freed: the growth step of the arrays this module keeps behind pointers
    /// (no uniqueness or capacity check per element written).
    func doubled(count: Int, capacity: inout Int) -> UnsafeMutablePointer<Pointee> {
        let grown = UnsafeMutablePointer<Pointee>.allocate(capacity: capacity * 2)
        grown.moveInitialize(from: self, count: count)
        deallocate()
        capacity *= 2
        return grown
    }
}
