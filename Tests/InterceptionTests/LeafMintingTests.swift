import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

@Suite struct LeafMintingTests {
    @Test func namesAreNormalisedSortedAndValidated() throws {
        let names = try LeafNames(primary: "WWW.Example.COM.", additional: ["api.example.com", "www.example.com",
                                                                         "bad name", "*.cdn.example.com", "::1", "[2001:db8::1]"])
        #expect(names.primary == "www.example.com")
        #expect(names.all == ["*.cdn.example.com", "2001:db8::1", "::1", "api.example.com", "www.example.com"])
        #expect(throws: TLSError.invalidName("exa mple.com")) { try LeafNames(primary: "exa mple.com") }
        #expect(throws: TLSError.invalidName("")) { try LeafNames(primary: "") }
        #expect(throws: TLSError.invalidName("a.*.com")) { try LeafNames(primary: "a.*.com") }
        #expect(throws: TLSError.invalidName("evil.com,DNS:bank.com")) { try LeafNames(primary: "evil.com,DNS:bank.com") }
        let many = try LeafNames(primary: "z.example", additional: (0..<500).map { "h\($0).example" })
        #expect(many.all.count == LeafNames.maximumCount)
        #expect(many.all.contains("z.example"))
    }

    @Test func mintedLeafVerifiesAndCarriesTheNames() throws {
        try requireTool("openssl")
        let ca = try TestAuthority()
        let names = try LeafNames(primary: "api.example.com", additional: ["example.com", "127.0.0.1"])
        let leaf = try ca.minter.mint(names)
        let leafPath = ca.directory.appendingPathComponent("leaf.pem").path
        try leaf.certificate.pem.write(toFile: leafPath, atomically: true, encoding: .utf8)
        let verified = try runProcess("openssl", ["verify", "-CAfile", ca.certificateFile, "-purpose", "sslserver", leafPath])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let text = try opensslText(leaf.certificate.pem)
        #expect(text.contains("DNS:api.example.com"))
        #expect(text.contains("DNS:example.com"))
        #expect(text.contains("IP Address:127.0.0.1"))
        #expect(text.contains("TLS Web Server Authentication"))
        #expect(text.contains("X509v3 Authority Key Identifier"))
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("CA:FALSE"))
        #expect(text.contains("Subject: CN = api.example.com"))
        #expect(leaf.certificate.subjectAlternativeNames.sorted() == ["127.0.0.1", "api.example.com", "example.com"])

        // Short validity, backdated an hour, within the CA's lifetime.
        let now = Date()
        #expect(abs(leaf.certificate.notBefore.timeIntervalSince(now) + 3600) < 120)
        #expect(abs(leaf.certificate.notAfter.timeIntervalSince(now) - 7 * 86400) < 120)
    }

    @Test func oneLeafKeyRandomSerials() throws {
        let ca = try TestAuthority()
        let a = try ca.minter.mint(LeafNames(primary: "a.example"))
        let b = try ca.minter.mint(LeafNames(primary: "b.example"))
        #expect(ca.minter.leafKey.matches(a.certificate))
        #expect(ca.minter.leafKey.matches(b.certificate))
        #expect(a.certificate.serialHex != b.certificate.serialHex)
        #expect(a.certificate.isSigned(by: ca.authority.certificate))
        #expect(ca.minter.isUsable(a.certificate))
        let other = try TestAuthority()
        #expect(!other.minter.isUsable(a.certificate))
    }
}

@Suite struct LeafCacheTests {
    /// Waits for the cache's completion on its minting queue.
    private func fetch(_ cache: LeafCache, _ primary: String) throws -> LeafCertificate {
        let semaphore = DispatchSemaphore(value: 0)
        let box = ResultBox()
        cache.leaf(for: try LeafNames(primary: primary)) { result in
            box.set(result)
            semaphore.signal()
        }
        #expect(semaphore.wait(timeout: .now() + 20) == .success)
        return try #require(box.get()).get()
    }

    @Test func hitMissAndEviction() throws {
        let ca = try TestAuthority()
        let cache = try LeafCache(minter: ca.minter, capacity: 2)
        let first = try fetch(cache, "a.example")
        #expect(cache.statistics.misses == 1 && cache.statistics.mints == 1)
        #expect(try fetch(cache, "a.example") === first)
        #expect(cache.cached(try LeafNames(primary: "A.example.")) === first)
        #expect(cache.statistics.hits == 2)
        _ = try fetch(cache, "b.example")
        _ = try fetch(cache, "a.example")            // a is now the most recent
        _ = try fetch(cache, "c.example")            // evicts b
        let stats = cache.statistics
        #expect(stats.evictions == 1)
        #expect(stats.entries == 2)
        #expect(cache.cached(try LeafNames(primary: "b.example")) == nil)
        #expect(cache.cached(try LeafNames(primary: "a.example")) === first)
        #expect(stats.misses == 3 && stats.mints == 3)
    }

    @Test func concurrentRequestsForTheSameNamesMintOnce() throws {
        let ca = try TestAuthority()
        let cache = try LeafCache(minter: ca.minter, capacity: 8)
        let names = try LeafNames(primary: "same.example")
        let group = DispatchGroup()
        let results = ResultsBox()
        for _ in 0..<16 {
            group.enter()
            cache.leaf(for: names) { result in
                results.append(result)
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        let leaves = try results.all.map { try $0.get() }
        #expect(leaves.count == 16)
        #expect(leaves.allSatisfy { $0 === leaves[0] })
        let stats = cache.statistics
        #expect(stats.mints == 1)
        #expect(stats.misses + stats.hits + stats.coalesced == 16)
    }

    @Test func persistenceRoundTripAndCorruptedEntryRecovery() throws {
        let ca = try TestAuthority()
        let store = ca.directory.appendingPathComponent("leaves").path
        let key = try LeafCache.persistentLeafKey(directory: store)
        let keyMode = try FileManager.default.attributesOfItem(atPath: store + "/leaf.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let minter = try LeafMinter(authority: ca.authority, leafKey: key)
        let first = try LeafCache(minter: minter, directory: store)
        let minted = try fetch(first, "persist.example")
        _ = try fetch(first, "broken.example")
        #expect(first.statistics.mints == 2)

        // A restart: same CA, leaf key reloaded from disk, leaves loaded instead of minted.
        let reloadedKey = try LeafCache.persistentLeafKey(directory: store)
        #expect(reloadedKey.pem == key.pem)
        let second = try LeafCache(minter: LeafMinter(authority: ca.authority, leafKey: reloadedKey), directory: store)
        #expect(try fetch(second, "persist.example").certificate.sha256Fingerprint == minted.certificate.sha256Fingerprint)
        #expect(second.statistics.diskLoads == 1 && second.statistics.mints == 0)

        // Corrupt every entry but the key: the cache discards and re-mints without failing.
        let entries = try FileManager.default.contentsOfDirectory(atPath: store).filter { $0.hasSuffix(".pem") }
        #expect(entries.count == 2)
        for entry in entries {
            try "-----BEGIN CERTIFICATE-----\ngarbage\n".write(toFile: store + "/" + entry, atomically: false, encoding: .utf8)
        }
        let third = try LeafCache(minter: LeafMinter(authority: ca.authority, leafKey: reloadedKey), directory: store)
        let remade = try fetch(third, "broken.example")
        #expect(remade.certificate.subjectAlternativeNames == ["broken.example"])
        #expect(third.statistics.diskDiscards == 1 && third.statistics.mints == 1)
        // The re-minted entry was written back and is good for the next start.
        let fourth = try LeafCache(minter: LeafMinter(authority: ca.authority, leafKey: reloadedKey), directory: store)
        _ = try fetch(fourth, "broken.example")
        #expect(fourth.statistics.diskLoads == 1)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).allSatisfy { !$0.contains(".tmp-") })

        // Entries signed by another CA (the CA was replaced) are not served.
        let replaced = try TestAuthority()
        let fifth = try LeafCache(minter: LeafMinter(authority: replaced.authority, leafKey: reloadedKey), directory: store)
        let fresh = try fetch(fifth, "persist.example")
        #expect(fresh.certificate.isSigned(by: replaced.authority.certificate))
        #expect(fifth.statistics.diskDiscards == 1)
    }
}

final class ResultBox: @unchecked Sendable {
    // Guarded by the lock; written once from the minting queue.
    private let lock = NSLock()
    private var value: Result<LeafCertificate, TLSError>?
    func set(_ result: Result<LeafCertificate, TLSError>) { lock.withLock { value = result } }
    func get() -> Result<LeafCertificate, TLSError>? { lock.withLock { value } }
}

final class ResultsBox: @unchecked Sendable {
    // Guarded by the lock; appended from the minting queue.
    private let lock = NSLock()
    private var values: [Result<LeafCertificate, TLSError>] = []
    func append(_ result: Result<LeafCertificate, TLSError>) { lock.withLock { values.append(result) } }
    var all: [Result<LeafCertificate, TLSError>] { lock.withLock { values } }
}
