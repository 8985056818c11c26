#include "CInspectKernels.h"

// The length of the sequence a lead byte starts (0: not a lead byte).
static inline int lead_length(uint8_t c) {
    if ((c & 0xE0) == 0xC0 && c >= 0xC2) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0 && c <= 0xF4) return 4;
    return 0;
}

int ck_utf8_valid(const uint8_t *p, long n, int final) {
    // The Swift test this replaces does not look at the bytes of a cut last sequence.
    long i = 0;
    while (i < n) {
        // Text in one script runs non-ASCII sequences back to back: skip only between them.
        if (p[i] < 0x80) {
            i = ck_first_non_ascii(p, i, n);
            if (i == n) return 1;
        }
        int len = lead_length(p[i]);
        if (len == 0) return 0;
        if (i + len > n) return !final;
        for (int k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}
