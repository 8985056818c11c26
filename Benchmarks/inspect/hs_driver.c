/* Hyperscan baseline: the same identifier patterns as the Swift inspector, matched with
 * Hyperscan (block mode, SOM leftmost) and validated in C (MOD 11-2, mobile prefixes, Luhn).
 * usage: hs_driver SECONDS FILE...   prints MB/s and counts of validated matches. */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *patterns[] = {
    "(?:^|[^0-9A-Za-z])[1-8][0-9]{16}[0-9Xx](?:[^0-9A-Za-z]|$)",                 /* resident ID */
    "(?:^|[^0-9A-Za-z])(?:\\+?86[ -]?|0086[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?:[^0-9]|$)", /* mobile */
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",                       /* e-mail */
    "(?:^|[^0-9A-Za-z])[2-6][0-9]{3}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{1,7}(?:[^0-9]|$)", /* bank card */
    "(?:^|[^0-9A-Za-z])(?:E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8})(?:[^0-9]|$)",   /* passport */
};
#define NPAT 5
static long counts[NPAT];
static const unsigned char *cur;

static int digits(const unsigned char *s, size_t n, char *out, int max) {
    int k = 0;
    for (size_t i = 0; i < n; i++) if (s[i] >= '0' && s[i] <= '9') { if (k < max) out[k] = s[i]; k++; } else if (s[i] == 'X' || s[i] == 'x') { if (k < max) out[k] = 'X'; k++; }
    return k;
}

static int id_ok(const char *d) {
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 17; i++) { if (d[i] < '0' || d[i] > '9') return 0; s += (d[i] - '0') * w[i]; }
    int m = (d[10] - '0') * 10 + (d[11] - '0'), day = (d[12] - '0') * 10 + (d[13] - '0');
    if (m < 1 || m > 12 || day < 1 || day > 31) return 0;
    return "10X98765432"[s % 11] == d[17];
}

static int luhn(const char *d, int n) {
    int s = 0, dbl = 0;
    for (int i = n - 1; i >= 0; i--) { int v = d[i] - '0'; if (dbl) { v *= 2; if (v > 9) v -= 9; } s += v; dbl = !dbl; }
    return s % 10 == 0;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx) {
    (void)flags; (void)ctx;
    char d[32];
    int n = digits(cur + from, to - from, d, 32);
    switch (id) {
    case 0: if (n == 18 && id_ok(d)) counts[0]++; break;
    case 1: { const char *m = d + n - 11; if (n != 11 && n != 13 && n != 15) break; if (n >= 11 && m[0] == '1' && m[1] != '2' && !(m[1] == '5' && m[2] == '4')) counts[1]++; break; }
    case 2: counts[2]++; break;
    case 3: if (n >= 13 && n <= 19 && luhn(d, n) && !(n == 18 && id_ok(d))) counts[3]++; break;
    case 4: counts[4]++; break;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: hs_driver SECONDS FILE...\n"); return 2; }
    double seconds = atof(argv[1]);
    int nf = argc - 2;
    unsigned char **bufs = calloc(nf, sizeof *bufs);
    size_t *lens = calloc(nf, sizeof *lens), total = 0;
    for (int i = 0; i < nf; i++) {
        FILE *f = fopen(argv[i + 2], "rb");
        if (!f) { perror(argv[i + 2]); return 1; }
        fseek(f, 0, SEEK_END); lens[i] = ftell(f); fseek(f, 0, SEEK_SET);
        bufs[i] = malloc(lens[i] + 1);
        if (fread(bufs[i], 1, lens[i], f) != lens[i]) return 1;
        fclose(f); total += lens[i];
    }
    unsigned flags[NPAT], ids[NPAT];
    for (int i = 0; i < NPAT; i++) { flags[i] = HS_FLAG_SOM_LEFTMOST; ids[i] = i; }
    hs_database_t *db; hs_compile_error_t *err;
    if (hs_compile_multi(patterns, flags, ids, NPAT, HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS) {
        fprintf(stderr, "hs_compile: %s\n", err->message); return 1;
    }
    hs_scratch_t *scratch = NULL;
    hs_alloc_scratch(db, &scratch);
    struct timespec a, b;
    long rounds = 0; double el = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do {
        memset(counts, 0, sizeof counts);
        for (int i = 0; i < nf; i++) { cur = bufs[i]; hs_scan(db, (const char *)bufs[i], lens[i], 0, scratch, on_match, NULL); }
        rounds++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        el = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    } while (el < seconds);
    printf("hyperscan+checksums %9.1f MB/s  (%zu bytes x %ld rounds; id %ld mobile %ld email %ld card %ld passport %ld)\n",
           total * rounds / el / 1e6, total, rounds, counts[0], counts[1], counts[2], counts[3], counts[4]);
    return 0;
}
