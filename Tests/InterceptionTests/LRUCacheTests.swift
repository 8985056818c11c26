import Testing
@testable import Interception

@Suite struct LRUCacheTests {
    @Test func evictsLeastRecentlyUsed() {
        var cache = LRUCache<String, Int>(capacity: 3)
        #expect(cache.set("a", 1) == nil)
        #expect(cache.set("b", 2) == nil)
        #expect(cache.set("c", 3) == nil)
        #expect(cache.get("a") == 1)
        #expect(cache.set("d", 4) == "b")
        #expect(cache.keysByRecency == ["d", "a", "c"])
        #expect(cache.set("c", 30) == nil)
        #expect(cache.keysByRecency == ["c", "d", "a"])
        #expect(cache.set("e", 5) == "a")
        #expect(cache.get("a") == nil)
        #expect(cache.count == 3)
        #expect(cache.get("c") == 30)
    }

    @Test func capacityOne() {
        var cache = LRUCache<Int, Int>(capacity: 1)
        cache.set(1, 1)
        #expect(cache.set(2, 2) == 1)
        #expect(cache.get(2) == 2)
        #expect(cache.keysByRecency == [2])
    }
}
