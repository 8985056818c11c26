#include "CInspectKernels.h"

// Two HMAC-SHA256 messages of one block each, run side by side with the SHA extensions. A block's
// 32 `sha256rnds2` form one dependency chain, so one message at a time leaves the unit idle most of
// each instruction's latency; two independent chains fill it. The outer message is the inner
// digest and constant padding: its words are taken from the inner state directly, with no bytes
// in between.

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

int ck_sha_ni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ssse3 && sse41 && ((b >> 29) & 1);
}

#define CK_TARGET __attribute__((target("sha,ssse3,sse4.1")))

static const uint32_t ck_k256[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// State words h0..h7 (A..H) <-> the two registers the instructions work on (ABEF, CDGH).
static inline CK_TARGET void ck__to_lanes(const uint32_t h[8], __m128i *abef, __m128i *cdgh) {
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B);
    *abef = _mm_alignr_epi8(abcd, efgh, 8);
    *cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);
}

static inline CK_TARGET void ck__from_lanes(__m128i abef, __m128i cdgh, __m128i *abcd, __m128i *efgh) {
    __m128i t = _mm_shuffle_epi32(abef, 0x1B);
    __m128i u = _mm_shuffle_epi32(cdgh, 0xB1);
    *abcd = _mm_blend_epi16(t, u, 0xF0);
    *efgh = _mm_alignr_epi8(u, t, 8);
}

// Four rounds of both messages; group `g` of the schedule is in wa/wb.
#define CK_ROUNDS4(g, wa, wb)                                                       \
    do {                                                                            \
        __m128i k = _mm_load_si128((const __m128i *)(ck_k256 + 4 * (g)));           \
        __m128i ma = _mm_add_epi32(wa, k), mb = _mm_add_epi32(wb, k);               \
        s1a = _mm_sha256rnds2_epu32(s1a, s0a, ma);                                  \
        s1b = _mm_sha256rnds2_epu32(s1b, s0b, mb);                                  \
        ma = _mm_shuffle_epi32(ma, 0x0E); mb = _mm_shuffle_epi32(mb, 0x0E);         \
        s0a = _mm_sha256rnds2_epu32(s0a, s1a, ma);                                  \
        s0b = _mm_sha256rnds2_epu32(s0b, s1b, mb);                                  \
    } while (0)

// W[i..i+3] from W[i-16..i-13] (w0, replaced), W[i-12..], W[i-8..], W[i-4..].
#define CK_NEXT(w0, w1, w2, w3) \
    w0 = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3)

#define CK_GROUP(g, i0, i1, i2, i3)        \
    do {                                   \
        if ((g) >= 4) {                    \
            CK_NEXT(a##i0, a##i1, a##i2, a##i3); \
            CK_NEXT(b##i0, b##i1, b##i2, b##i3); \
        }                                  \
        CK_ROUNDS4(g, a##i0, b##i0);       \
    } while (0)

// One block of each message from the states (s0x, s1x), which are updated.
#define CK_BLOCK_PAIR()                                                                             \
    do {                                                                                            \
        __m128i s0a0 = s0a, s1a0 = s1a, s0b0 = s0b, s1b0 = s1b;                                     \
        CK_GROUP(0, 0, 1, 2, 3);  CK_GROUP(1, 1, 2, 3, 0);  CK_GROUP(2, 2, 3, 0, 1);  CK_GROUP(3, 3, 0, 1, 2);   \
        CK_GROUP(4, 0, 1, 2, 3);  CK_GROUP(5, 1, 2, 3, 0);  CK_GROUP(6, 2, 3, 0, 1);  CK_GROUP(7, 3, 0, 1, 2);   \
        CK_GROUP(8, 0, 1, 2, 3);  CK_GROUP(9, 1, 2, 3, 0);  CK_GROUP(10, 2, 3, 0, 1); CK_GROUP(11, 3, 0, 1, 2);  \
        CK_GROUP(12, 0, 1, 2, 3); CK_GROUP(13, 1, 2, 3, 0); CK_GROUP(14, 2, 3, 0, 1); CK_GROUP(15, 3, 0, 1, 2);  \
        s0a = _mm_add_epi32(s0a, s0a0); s1a = _mm_add_epi32(s1a, s1a0);                             \
        s0b = _mm_add_epi32(s0b, s0b0); s1b = _mm_add_epi32(s1b, s1b0);                             \
    } while (0)

CK_TARGET void ck_hmac_sha256_pair(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *blockA,
                                   const uint8_t *blockB, uint32_t outA[4], uint32_t outB[4]) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i s0a, s1a, s0b, s1b;
    ck__to_lanes(inner, &s0a, &s1a);
    s0b = s0a; s1b = s1a;
    __m128i a0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)blockA), swap);
    __m128i a1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockA + 16)), swap);
    __m128i a2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockA + 32)), swap);
    __m128i a3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockA + 48)), swap);
    __m128i b0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)blockB), swap);
    __m128i b1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockB + 16)), swap);
    __m128i b2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockB + 32)), swap);
    __m128i b3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blockB + 48)), swap);
    CK_BLOCK_PAIR();
    // The outer block: the inner digest's eight words, 0x80, zeros, and the bit length of the pad
    // block and the digest (96 bytes).
    ck__from_lanes(s0a, s1a, &a0, &a1);
    ck__from_lanes(s0b, s1b, &b0, &b1);
    a2 = b2 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    a3 = b3 = _mm_set_epi32(96 * 8, 0, 0, 0);
    ck__to_lanes(outer, &s0a, &s1a);
    s0b = s0a; s1b = s1a;
    CK_BLOCK_PAIR();
    __m128i abcd, efgh;
    ck__from_lanes(s0a, s1a, &abcd, &efgh);
    _mm_storeu_si128((__m128i *)outA, abcd);
    ck__from_lanes(s0b, s1b, &abcd, &efgh);
    _mm_storeu_si128((__m128i *)outB, abcd);
}

#else
int ck_sha_ni(void) { return 0; }

void ck_hmac_sha256_pair(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *blockA,
                         const uint8_t *blockB, uint32_t outA[4], uint32_t outB[4]) {
    (void)inner; (void)outer; (void)blockA; (void)blockB; (void)outA; (void)outB;
}
#endif
