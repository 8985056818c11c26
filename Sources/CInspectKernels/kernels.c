#include "CInspectKernels.h"

// The length of the sequence a lead byte starts (0: not a lead byte).
static inline int lead_length(uint8_t c) {
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0 && c <= 0xF4) return 4;
    return 0;
}

#if defined(__SSE2__)
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
    // Lead bytes whose sequence runs past the block: judge only the bytes before the first of them.
    unsigned cut = (l2 & 0x8000) | (l3 & 0xC000) | (l4 & 0xE000);
    int step = cut ? __builtin_ctz(cut) : 16;
    unsigned region = cut ? (cut & (0u - cut)) - 1 : 0xFFFF;
    l2 &= region; l3 &= region; l4 &= region;
    if ((high & region) != ((cont | l2 | l3 | l4) & region)) return 0;
    unsigned wanted = (l2 << 1) | (l3 << 1) | (l3 << 2) | (l4 << 1) | (l4 << 2) | (l4 << 3);
    // A sequence running into the cut lead byte wants a continuation byte where there is none.
    if (wanted != (cont & region)) return 0;
    return step;
}
#endif

int ck_utf8_valid(const uint8_t *p, long n, int final) {
    // The Swift test this replaces does not look at the bytes of a cut last sequence.
    long i = 0;
    while (i < n) {
        // Text in one script runs non-ASCII sequences back to back: skip only between them.
        if (p[i] < 0x80) {
            i = ck_first_non_ascii(p, i, n);
            if (i == n) return 1;
        }
#if defined(__SSE2__)
        // `i` starts a sequence, and each block ends where one starts.
        int step;
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
