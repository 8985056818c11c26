#if canImport(Glibc)
import Glibc
#endif

/// The kernel's coarse monotonic clock, for connection deadlines and pool idle times: they are
/// seconds long and checked every 250 ms, so a few milliseconds of resolution is plenty, and it
/// is read without touching the clock source (several reads per request showed in profiles).
/// Whatever is set with it is compared with it.
enum CoarseClock {
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
