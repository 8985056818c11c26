/// A bounded map that forgets its least recently used entry when full. Nodes live in one array
/// and are linked by index, so steady-state use allocates nothing.
struct LRUCache<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var newer: Int   // towards the most recently used end; -1 at the head
        var older: Int   // -1 at the tail
    }

    let capacity: Int
    private var nodes: [Node] = []
    private var index: [Key: Int] = [:]
    private var newest = -1
    private var oldest = -1

    init(capacity: Int) {
        precondition(capacity > 0, "an LRU cache needs room for at least one entry")
        self.capacity = capacity
    }

    var count: Int { index.count }

    /// The value for `key`, marking it most recently used.
    mutating func get(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return nodes[slot].value
    }

    /// Inserts or replaces; returns the evicted key when the cache was full.
    @discardableResult
    mutating func set(_ key: Key, _ value: Value) -> Key? {
        if let slot = index[key] {
            nodes[slot].value = value
            moveToFront(slot)
            return nil
        }
        if nodes.count < capacity {
            nodes.append(Node(key: key, value: value, newer: -1, older: -1))
            let slot = nodes.count - 1
            index[key] = slot
            linkAtFront(slot)
            return nil
        }
        // Reuse the oldest node's slot for the new entry.
        let slot = oldest
        let evicted = nodes[slot].key
        unlink(slot)
        index[evicted] = nil
        nodes[slot] = Node(key: key, value: value, newer: -1, older: -1)
        index[key] = slot
        linkAtFront(slot)
        return evicted
    }

    /// Keys from most to least recently used.
    var keysByRecency: [Key] {
        var result: [Key] = []
        var slot = newest
        while slot >= 0 {
            result.append(nodes[slot].key)
            slot = nodes[slot].older
        }
        return result
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAtFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let newer = nodes[slot].newer, older = nodes[slot].older
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    private mutating func linkAtFront(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
