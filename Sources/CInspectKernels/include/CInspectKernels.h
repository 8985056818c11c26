#ifndef CUSTOMS_CINSPECTKERNELS_H
#define CUSTOMS_CINSPECTKERNELS_H
// Byte-class scans for the inspector (module Inspection), sixteen bytes a step with SSE2 (part of
// every x86-64 CPU, so no build flag is needed), with a byte-at-a-time fallback elsewhere. Swift's
// SIMD16<UInt8> comparisons compile to per-lane loops, so these live in C. They are static inline:
// Swift compiles and inlines them into the callers, so a short value pays no call.
//
// Every `ck_first_*` returns the index of the first byte in p[from, end) of its class, or `end`.
// Bytes outside [from, end) are never read.
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// One byte of the class: equal to one of the first `neq` of a, b, c; an ASCII digit (`digits`);
// 0x80 or above (`high`). The arguments are constants at every call, so the tests fold away.
static inline __attribute__((always_inline)) int ck__is(uint8_t v, int neq, uint8_t a, uint8_t b, uint8_t c,
                                                        int digits, int high) {
    return (neq > 0 && v == a) || (neq > 1 && v == b) || (neq > 2 && v == c) ||
           (digits && (uint8_t)(v - '0') < 10) || (high && v >= 0x80);
}

#if defined(__SSE2__)
// 0xFF in each byte of v that is of the class (`high`: a byte ≥ 0x80, signed < 0).
static inline __attribute__((always_inline)) __m128i ck__vmask16(__m128i v, int neq, uint8_t a, uint8_t b, uint8_t c,
                                                                 int digits, int high) {
    __m128i m = _mm_setzero_si128();
    if (neq > 0) m = _mm_cmpeq_epi8(v, _mm_set1_epi8((char)a));
    if (neq > 1) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)b)));
    if (neq > 2) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)c)));
    if (digits) {
        // v - '0' ≤ 9 unsigned: min(x, 9) == x.
        __m128i x = _mm_sub_epi8(v, _mm_set1_epi8('0'));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(9)), x));
    }
    if (high) m = _mm_or_si128(m, v);  // only the top bit of each byte is read
    return m;
}

static inline __attribute__((always_inline)) unsigned ck__mask16(__m128i v, int neq, uint8_t a, uint8_t b, uint8_t c,
                                                                 int digits, int high) {
    return (unsigned)_mm_movemask_epi8(ck__vmask16(v, neq, a, b, c, digits, high));
}

static inline __attribute__((always_inline)) __m128i ck__load8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return _mm_cvtsi64_si128((long long)w);
}

static inline __attribute__((always_inline)) __m128i ck__load4(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return _mm_cvtsi32_si128((int)w);
}
#endif

static inline __attribute__((always_inline)) long ck__first(const uint8_t *p, long i, long end, int neq, uint8_t a,
                                                            uint8_t b, uint8_t c, int digits, int high) {
    if (i >= end) return end;
#if defined(__SSE2__)
    long n = end - i;
    if (n >= 16) {
        unsigned m0 = ck__mask16(_mm_loadu_si128((const __m128i *)(p + i)), neq, a, b, c, digits, high);
        if (m0) return i + __builtin_ctz(m0);
        i += 16;
        // Past the first block (free text, a base64 blob, a body's ASCII prefix): 64 bytes a step
        // with one test, then the block that holds the byte is found sixteen bytes a step.
        for (; i + 64 <= end; i += 64) {
            __m128i m = _mm_or_si128(
                _mm_or_si128(ck__vmask16(_mm_loadu_si128((const __m128i *)(p + i)), neq, a, b, c, digits, high),
                             ck__vmask16(_mm_loadu_si128((const __m128i *)(p + i + 16)), neq, a, b, c, digits, high)),
                _mm_or_si128(ck__vmask16(_mm_loadu_si128((const __m128i *)(p + i + 32)), neq, a, b, c, digits, high),
                             ck__vmask16(_mm_loadu_si128((const __m128i *)(p + i + 48)), neq, a, b, c, digits, high)));
            if (_mm_movemask_epi8(m)) break;
        }
        for (; i + 16 <= end; i += 16) {
            unsigned m = ck__mask16(_mm_loadu_si128((const __m128i *)(p + i)), neq, a, b, c, digits, high);
            if (m) return i + __builtin_ctz(m);
        }
        if (i == end) return end;
        // The last partial block, loaded so that it ends at `end`; its first bytes were tested.
        long s = end - 16;
        unsigned m = ck__mask16(_mm_loadu_si128((const __m128i *)(p + s)), neq, a, b, c, digits, high) >> (i - s);
        return m ? i + __builtin_ctz(m) : end;
    }
    if (n >= 8) {
        // Two eight-byte loads, the second ending at `end` (they overlap when n < 16).
        unsigned m = ck__mask16(_mm_unpacklo_epi64(ck__load8(p + i), ck__load8(p + end - 8)), neq, a, b, c, digits, high);
        if (m & 0xFF) return i + __builtin_ctz(m & 0xFF);
        m >>= 8;
        return m ? end - 8 + __builtin_ctz(m) : end;
    }
    if (n >= 4) {
        unsigned m = ck__mask16(_mm_unpacklo_epi32(ck__load4(p + i), ck__load4(p + end - 4)), neq, a, b, c, digits, high);
        if (m & 0xF) return i + __builtin_ctz(m & 0xF);
        m = (m >> 4) & 0xF;
        return m ? end - 4 + __builtin_ctz(m) : end;
    }
#endif
    for (; i < end; i++)
        if (ck__is(p[i], neq, a, b, c, digits, high)) return i;
    return end;
}

/// `ck__first` with the second sixteen bytes tested on their own before the 64-byte steps: for runs
/// that mostly end within 32 bytes (CSV cells: IDs, phones, short addresses), which would otherwise
/// pay a 64-byte step and then find the byte again sixteen bytes a step.
static inline __attribute__((always_inline)) long ck__first_near(const uint8_t *p, long i, long end, int neq, uint8_t a,
                                                                 uint8_t b, uint8_t c, int digits, int high) {
#if defined(__SSE2__)
    if (end - i >= 32) {
        unsigned m0 = ck__mask16(_mm_loadu_si128((const __m128i *)(p + i)), neq, a, b, c, digits, high);
        if (m0) return i + __builtin_ctz(m0);
        unsigned m1 = ck__mask16(_mm_loadu_si128((const __m128i *)(p + i + 16)), neq, a, b, c, digits, high);
        if (m1) return i + 16 + __builtin_ctz(m1);
        return ck__first(p, i + 32, end, neq, a, b, c, digits, high);
    }
#endif
    return ck__first(p, i, end, neq, a, b, c, digits, high);
}

/// A JSON string's plain run ends at `"` or `\`.
static inline long ck_first_string_end(const uint8_t *p, long from, long end) {
    return ck__first(p, from, end, 2, '"', '\\', 0, 0, 0);
}

/// The first `"`, `\`, `@`, ASCII digit or byte >= 0x80 in p[from, end), or `end`: the class
/// `ck_first_string_end_clear` looks for past a value's first sixteen bytes. Out of line, sixty-four
/// bytes a step with AVX2 where the CPU has it (checked once), else `ck__first`'s SSE2 scan.
long ck_first_value_class(const uint8_t *p, long from, long end);

/// Runs at least this long past a value's first sixteen bytes take `ck_first_value_class` (a call)
/// past their next 64 bytes.
#define CK_FAR_VALUE 128

/// `ck_first_string_end` past a value's first sixteen bytes, where most values end within 32 more.
static inline long ck_first_string_end_near(const uint8_t *p, long from, long end) {
    return ck__first_near(p, from, end, 2, '"', '\\', 0, 0, 0);
}

/// `ck_first_string_end` of a string value, and *clear: no byte of `ck_first_scan_start`'s class
/// lies in p[from, *clear). A run ended in its first sixteen bytes is only found (*clear = from:
/// short values are scanned cheaply again); past them the run's end and the first digit, `@` or
/// byte ≥ 0x80 are found in one pass, so a long note is read once, not twice.
static inline __attribute__((always_inline)) long ck_first_string_end_clear(const uint8_t *p, long from, long end,
                                                                            long *clear) {
    *clear = from;
#if defined(__SSE2__)
    if (end - from >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + from));
        unsigned e = ck__mask16(v, 2, '"', '\\', 0, 0, 0);
        if (e) return from + __builtin_ctz(e);
        unsigned s = ck__mask16(v, 1, '@', 0, 0, 1, 1);
        if (s) {
            *clear = from + __builtin_ctz(s);
            return ck_first_string_end_near(p, from + 16, end);
        }
        // Past the next 64 bytes (a note, a blob), thirty-two bytes a compare where the CPU has AVX2.
        long k;
        if (end - from >= 16 + CK_FAR_VALUE) {
            k = ck__first(p, from + 16, from + 80, 3, '"', '\\', '@', 1, 1);
            if (k == from + 80) k = ck_first_value_class(p, k, end);
        } else {
            k = ck__first(p, from + 16, end, 3, '"', '\\', '@', 1, 1);
        }
        *clear = k;
        if (k == end || p[k] == '"' || p[k] == '\\') return k;
        return ck_first_string_end_near(p, k, end);
    }
#endif
    return ck_first_string_end(p, from, end);
}

/// `ck_first_non_ascii` out of line: sixty-four bytes a step with AVX2 where the CPU has it
/// (checked once), else `ck__first`'s SSE2 scan.
long ck_first_non_ascii_far(const uint8_t *p, long from, long end);

/// The first byte that is not ASCII (0x80 or above).
static inline long ck_first_non_ascii(const uint8_t *p, long from, long end) {
    return ck__first(p, from, end, 0, 0, 0, 0, 0, 1);
}

/// Runs at least this long take `ck_first_non_ascii_far` (a call) past their first 64 bytes.
#define CK_FAR_ASCII 256

/// `ck_first_non_ascii` for a body's ASCII prefix (often the whole body): past its first 64 bytes
/// thirty-two bytes a compare where the CPU has AVX2. (Short runs between the characters of a
/// script, `ck_first_non_ascii`'s other calls, stay in line and SSE2.)
static inline __attribute__((always_inline)) long ck_first_non_ascii_long(const uint8_t *p, long from, long end) {
    if (end - from < CK_FAR_ASCII) return ck__first(p, from, end, 0, 0, 0, 0, 0, 1);
    long k = ck__first(p, from, from + 64, 0, 0, 0, 0, 0, 1);
    return k < from + 64 ? k : ck_first_non_ascii_far(p, k, end);
}

/// Where an identifier can start: an ASCII digit or `@`.
static inline long ck_first_identifier_start(const uint8_t *p, long from, long end) {
    return ck__first(p, from, end, 1, '@', 0, 0, 1, 0);
}

/// Where a value can matter to the scan: an identifier start or 0xEF, the lead byte of the
/// full-width forms (`０`, `＠`, `Ｘ`: EF BC/BD …).
static inline __attribute__((always_inline)) long ck_first_scan_start(const uint8_t *p, long from, long end) {
    return ck__first(p, from, end, 2, '@', 0xEF, 0, 1, 0);
}

/// Where a plain person's name needs a closer look: a `*` (masked), or a byte that can start an
/// organisation word (`I`, `L`, or 0x80 and above: Inc, Ltd, LLC and the Chinese words).
static inline long ck_first_name_check(const uint8_t *p, long from, long end) {
    return ck__first(p, from, end, 3, '*', 'I', 'L', 0, 1);
}

/// An unquoted CSV/TSV cell ends at its delimiter, LF or CR.
static inline long ck_first_cell_end(const uint8_t *p, long from, long end, uint8_t delimiter) {
    return ck__first_near(p, from, end, 3, delimiter, '\n', '\r', 0, 0);
}

/// A quoted CSV/TSV cell's run ends at its next `"`.
static inline long ck_first_quote_near(const uint8_t *p, long from, long end) {
    return ck__first_near(p, from, end, 1, '"', 0, 0, 0, 0);
}

/// The first byte equal to `c`.
static inline long ck_first_byte(const uint8_t *p, long from, long end, uint8_t c) {
    return ck__first(p, from, end, 1, c, 0, 0, 0, 0);
}

/// Whether p[0, n) is UTF-8 by the inspector's test: every lead byte (C2–DF, E0–EF, F0–F4) is
/// followed by its continuation bytes (80–BF); other bytes ≥ 0x80 are invalid. A sequence cut by
/// the end counts as valid unless `final`. ASCII runs are skipped sixteen bytes at a time; text
/// is judged thirty-two bytes a block where the CPU has AVX2 (checked once), else sixteen.
int ck_utf8_valid(const uint8_t *p, long n, int final);
/// `ck_utf8_valid` without its AVX2 blocks (sixteen bytes a block), for tests of both paths.
int ck_utf8_valid_narrow(const uint8_t *p, long n, int final);

/// Whether `ck_hmac_sha256_pair` may be called: the CPU has the SHA extensions (and SSSE3, SSE4.1).
int ck_sha_ni(void);

/// HMAC-SHA256 of two messages that each fit one block with their padding: `inner`/`outer` are the
/// SHA-256 states (h0..h7) after the key's inner and outer pad blocks; `blockA`/`blockB` are the
/// messages' last (only) inner blocks, already padded with the bit length of pad block + message.
/// Writes the first four words (h0..h3) of each HMAC. Only when `ck_sha_ni()`.
void ck_hmac_sha256_pair(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *blockA,
                         const uint8_t *blockB, uint32_t outA[4], uint32_t outB[4]);

#endif
