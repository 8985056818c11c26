#include "CInspectKernels.h"

// The length of the sequence a lead byte starts (0: not a lead byte).
static inline int lead_length(uint8_t c) {
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0 && c <= 0xF4) return 4;
    return 0;
}

#if defined(__SSE2__)
// The test of a block of `width` bytes (16 or 32) from a sequence start, one bit per byte: which
// are ≥ 0x80, continuation bytes, and lead bytes of two, three and four. See `utf8_block`.
static inline __attribute__((always_inline)) int utf8_judge(uint32_t high, uint32_t cont, uint32_t l2, uint32_t l3,
                                                            uint32_t l4, int width) {
    // Lead bytes whose sequence runs past the block: judge only the bytes before the first of them.
    uint32_t top = 1u << (width - 1);
    uint32_t cut = (l2 & top) | (l3 & (top | top >> 1)) | (l4 & (top | top >> 1 | top >> 2));
    int step = cut ? __builtin_ctz(cut) : width;
    uint32_t region = cut ? (cut & (0u - cut)) - 1 : (uint32_t)((2ull << (width - 1)) - 1);
    l2 &= region; l3 &= region; l4 &= region;
    if ((high & region) != ((cont | l2 | l3 | l4) & region)) return 0;
    uint32_t wanted = (l2 << 1) | (l3 << 1) | (l3 << 2) | (l4 << 1) | (l4 << 2) | (l4 << 3);
    // A sequence running into the cut lead byte wants a continuation byte where there is none.
    if (wanted != (cont & region)) return 0;
    return step;
}

static inline unsigned masked_equal(__m128i v, uint8_t bits, uint8_t value) {
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)bits)), _mm_set1_epi8((char)value)));
}

// Sixteen bytes from a sequence start, judged by the same test as the byte loop with one bit per
// byte: every byte ≥ 0x80 is a continuation byte or a lead byte, and the continuation bytes are
// exactly the ones the lead bytes call for. Returns how many bytes were judged valid: 16, or fewer
// when a sequence starts near the end and is cut by the block (the next block starts at its lead);
// 0 when one is invalid, for the byte loop to find. Text in CJK scripts (three-byte sequences back
// to back, mixed with ASCII digits and punctuation) is read this way instead of a sequence a step.
static inline int utf8_block(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    unsigned high = (unsigned)_mm_movemask_epi8(b);
    if (high == 0) return 16;
    unsigned cont = masked_equal(b, 0xC0, 0x80);
    // C2–DF (not C0, C1), E0–EF, F0–F4 (not F5–F7); CJK text has only the middle kind.
    unsigned l3 = masked_equal(b, 0xF0, 0xE0), l2 = 0, l4 = 0;
    if ((cont | l3) != high) {
        l2 = masked_equal(b, 0xE0, 0xC0) & (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(b, _mm_set1_epi8((char)0xC2)), b));
        l4 = masked_equal(b, 0xF8, 0xF0) & (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(b, _mm_set1_epi8((char)0xF4)), b));
    }
    return utf8_judge(high, cont, l2, l3, l4, 16);
}
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_WIDE 1
#include <cpuid.h>
#include <immintrin.h>
#define CK_AVX2 __attribute__((target("avx2")))

static inline CK_AVX2 uint32_t masked_equal32(__m256i v, uint8_t bits, uint8_t value) {
    return (uint32_t)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(v, _mm256_set1_epi8((char)bits)), _mm256_set1_epi8((char)value)));
}

// `utf8_block` over thirty-two bytes (AVX2): the same test, one bit per byte in a 32-bit mask.
static CK_AVX2 int utf8_block32(const uint8_t *p) {
    __m256i b = _mm256_loadu_si256((const __m256i *)p);
    uint32_t high = (uint32_t)_mm256_movemask_epi8(b);
    if (high == 0) return 32;
    uint32_t cont = masked_equal32(b, 0xC0, 0x80);
    uint32_t l3 = masked_equal32(b, 0xF0, 0xE0), l2 = 0, l4 = 0;
    if ((cont | l3) != high) {
        l2 = masked_equal32(b, 0xE0, 0xC0) &
             (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(b, _mm256_set1_epi8((char)0xC2)), b));
        l4 = masked_equal32(b, 0xF8, 0xF0) &
             (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8((char)0xF4)), b));
    }
    return utf8_judge(high, cont, l2, l3, l4, 32);
}

// AVX2 usable: the CPU has it and the OS saves the YMM registers.
static int ck__avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!((c >> 27) & 1) || !((c >> 28) & 1)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}
#else
#define CK_WIDE 0
#endif

// The test, thirty-two bytes a block where `wide` (AVX2), else sixteen (SSE2), else a byte loop.
static inline __attribute__((always_inline)) int utf8_valid(const uint8_t *p, long n, int final, int wide) {
    // The Swift test this replaces does not look at the bytes of a cut last sequence.
    long i = 0;
    (void)wide;
    while (i < n) {
        // Text in one script runs non-ASCII sequences back to back: skip only between them.
        if (p[i] < 0x80) {
            i = ck_first_non_ascii(p, i, n);
            if (i == n) return 1;
        }
#if defined(__SSE2__)
        // `i` starts a sequence, and each block ends where one starts.
        int step;
#if CK_WIDE
        if (wide)
            while (i + 32 <= n && (step = utf8_block32(p + i)) > 0) i += step;
#endif
        while (i + 16 <= n && (step = utf8_block(p + i)) > 0) i += step;
        if (i == n) return 1;
        if (p[i] < 0x80) { i++; continue; }
#endif
        int len = lead_length(p[i]);
        if (len == 0) return 0;
        if (i + len > n) return !final;
        for (int k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

int ck_utf8_valid_narrow(const uint8_t *p, long n, int final) { return utf8_valid(p, n, final, 0); }

#if CK_WIDE
static CK_AVX2 int utf8_valid_wide(const uint8_t *p, long n, int final) { return utf8_valid(p, n, final, 1); }
#endif

#if CK_WIDE
// `ck__avx2()`, asked once: -1 until asked; a race only asks twice.
static int ck__wide(void) {
    static int avx2 = -1;
    int w = __atomic_load_n(&avx2, __ATOMIC_RELAXED);
    if (w < 0) {
        w = ck__avx2();
        __atomic_store_n(&avx2, w, __ATOMIC_RELAXED);
    }
    return w;
}
#endif

int ck_utf8_valid(const uint8_t *p, long n, int final) {
#if CK_WIDE
    if (ck__wide()) return utf8_valid_wide(p, n, final);
#endif
    return utf8_valid(p, n, final, 0);
}

#if CK_WIDE
// 0xFF in each byte of v of `ck_first_value_class`'s class (bytes >= 0x80 only by their top bit).
static inline CK_AVX2 __m256i value_class32(__m256i v) {
    __m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')), _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')));
    m = _mm256_or_si256(m, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('@')));
    __m256i x = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
    m = _mm256_or_si256(m, _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(9)), x));
    return _mm256_or_si256(m, v);
}

// Sixty-four bytes a step (AVX2): the first byte of the class (`value_class32`'s, or with
// `value` 0 a byte >= 0x80) in the first block that holds one, else the start of the last
// (short) block, for the SSE2 scan to finish.
static inline __attribute__((always_inline)) CK_AVX2 long wide_first(const uint8_t *p, long i, long end, int value) {
    for (; i + 64 <= end; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i)), b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        if (value) { a = value_class32(a); b = value_class32(b); }
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) continue;
        uint64_t m = (uint32_t)_mm256_movemask_epi8(a) | (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
        return i + __builtin_ctzll(m);
    }
    return i;
}

static CK_AVX2 long value_class_wide(const uint8_t *p, long i, long end) { return wide_first(p, i, end, 1); }
static CK_AVX2 long non_ascii_wide(const uint8_t *p, long i, long end) { return wide_first(p, i, end, 0); }
#endif

// The wide scan where the CPU has AVX2 (its last short block, or without it the whole run, SSE2).
static inline __attribute__((always_inline)) long far_first(const uint8_t *p, long from, long end, int value) {
#if CK_WIDE
    if (ck__wide()) {
        long i = value ? value_class_wide(p, from, end) : non_ascii_wide(p, from, end);
        if (i + 64 <= end) return i;
        from = i;
    }
#endif
    return value ? ck__first(p, from, end, 3, '"', '\\', '@', 1, 1) : ck__first(p, from, end, 0, 0, 0, 0, 0, 1);
}

long ck_first_value_class(const uint8_t *p, long from, long end) { return far_first(p, from, end, 1); }

long ck_first_non_ascii_far(const uint8_t *p, long from, long end) { return far_first(p, from, end, 0); }
