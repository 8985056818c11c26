import CustomsCore
import Testing
@testable import Inspection

/// `SubjectTable.add` does not append a person who repeats one already held (every linking value
/// known, leading to one person who holds all their values); it must answer exactly as appending
/// and joining them does.
@Suite("Repeated people")
struct RepeatedPeopleTests {
    let secret = Array("repeated-people".utf8)

    /// A random person over a small set of values, so that most repeat (in part or whole) people
    /// made before: documents, contacts, names, addresses, birth dates, account ids, a minor, a
    /// document kind seen without its number, a sensitive kind.
    func person(_ t: inout SubjectTable, _ rng: inout SplitMix64) -> Fragment {
        var f = Fragment()
        let pool: [(DetectorKind, String, Int)] = [
            (.idNumber, "11010119900307", 3), (.passport, "E1234567", 2), (.mobile, "1380000", 4),
            (.email, "p@example.com", 3), (.name, "张三", 5), (.address, "北京市朝阳区", 3),
            (.birthDate, "1990030", 3), (.bankCard, "622202", 2),
        ]
        let order = pool.indices.shuffled(using: &rng)
        for i in order where rng.next() % 10 < 3 {
            let (kind, stem, variants) = pool[i]
            // Sometimes two values of one kind (two names, two addresses: a record of a couple).
            for _ in 0..<(rng.next() % 6 == 0 ? 2 : 1) {
                let text = stem + String(rng.next() % UInt64(variants))
                f.add(kind, id: t.values.intern(kind, text))
            }
        }
        if rng.next() % 4 == 0 {
            let account = Array("acct\(rng.next() % 3)".utf8)
            f.addLink(account.withUnsafeBufferPointer { t.values.intern(tag: ValueTable.accountTag, $0) })
        }
        if rng.next() % 10 == 0 { f.minor = true }
        if rng.next() % 12 == 0 { f.kinds.insert(.idNumber) }
        if rng.next() % 8 == 0 { f.kinds.insert(.health) }
        return f
    }

    struct Outcome: Equatable {
        var subjects: [String]
        var minors: Int
    }

    func outcome(_ t: inout SubjectTable) -> Outcome {
        let (subjects, minors) = t.snapshot(sensitivity: .gbt45574_2025)
        let lines = subjects.map { s in
            "\(s.key.hi):\(s.key.lo):\(s.kinds.map(\.rawValue).sorted()):\(s.isSensitive):\(s.masked)"
        }
        return Outcome(subjects: lines.sorted(), minors: minors)
    }

    @Test("the same people, kinds, keys, masks and minors whether repeated people are appended or not", arguments: [
        (false, false), (true, false), (false, true), (true, true),
    ])
    func sameAsAppending(nameLinks: Bool, nameOnlyJoinsNamed: Bool) {
        var skipped = 0
        for seed in 0..<300 {
            var direct = SubjectTable(secret: secret), appended = SubjectTable(secret: secret)
            appended.repeatsJoinDirectly = false
            direct.nameLinks = nameLinks; appended.nameLinks = nameLinks
            direct.nameOnlyJoinsNamed = nameOnlyJoinsNamed; appended.nameOnlyJoinsNamed = nameOnlyJoinsNamed
            // Both tables intern the same values in the same order, so ids agree.
            var r1 = SplitMix64(state: UInt64(seed)), r2 = SplitMix64(state: UInt64(seed))
            let people = 2 + seed % 40
            for _ in 0..<people {
                let a = person(&direct, &r1)
                direct.add(a)
                let b = person(&appended, &r2)
                appended.add(b)
            }
            #expect(outcome(&direct) == outcome(&appended), "seed \(seed)")
            skipped += appended.peopleAppended - direct.peopleAppended
        }
        // The fast path was taken, often.
        #expect(skipped > 1000)
    }
}
