/* A plain C binary search over the same sorted ranges GeoBench writes (ranges4.bin,
 * ranges6.bin): the baseline the Swift lookup is compared with. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* On-CPU time of this thread: lookups per second per core, not counting the time the shared
 * machine gives the core to other processes. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len);
    if (fread(b, 1, *len, f) != *len) { perror(path); exit(2); }
    fclose(f);
    return b;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

typedef unsigned __int128 u128;

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bsearch DIR [ROUNDS]\n"); return 2; }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    long rss0 = rss_kib();
    double t0 = now();
    size_t len;
    uint8_t *r4 = slurp(argv[1], "ranges4.bin", &len);
    uint32_t n4; memcpy(&n4, r4, 4);
    uint32_t *s4 = malloc(n4 * 4), *e4 = malloc(n4 * 4);
    uint16_t *c4 = malloc(n4 * 2);
    memcpy(s4, r4 + 4, n4 * 4); memcpy(e4, r4 + 4 + n4 * 4, n4 * 4); memcpy(c4, r4 + 4 + n4 * 8, n4 * 2);
    uint8_t *r6 = slurp(argv[1], "ranges6.bin", &len);
    uint32_t n6; memcpy(&n6, r6, 4);
    u128 *s6 = malloc(n6 * sizeof(u128)), *e6 = malloc(n6 * sizeof(u128));
    uint16_t *c6 = malloc(n6 * 2);
    for (uint32_t i = 0; i < n6; i++) {
        uint64_t hi, lo;
        memcpy(&hi, r6 + 4 + i * 16, 8); memcpy(&lo, r6 + 12 + i * 16, 8);
        s6[i] = (u128)hi << 64 | lo;
        memcpy(&hi, r6 + 4 + n6 * 16 + i * 16, 8); memcpy(&lo, r6 + 12 + n6 * 16 + i * 16, 8);
        e6[i] = (u128)hi << 64 | lo;
    }
    memcpy(c6, r6 + 4 + n6 * 32, n6 * 2);
    free(r4); free(r6);
    printf("c-bsearch load: %.1f ms, RSS +%ld KiB\n", (now() - t0) * 1e3, rss_kib() - rss0);

    size_t l4, l6;
    uint8_t *a4b = slurp(argv[1], "v4.addr", &l4), *a6b = slurp(argv[1], "v6.addr", &l6);
    size_t m4 = l4 / 4, m6 = l6 / 16;
    uint32_t *a4 = (uint32_t *)a4b;
    u128 *a6 = malloc(m6 * sizeof(u128));
    for (size_t i = 0; i < m6; i++) {
        u128 v = 0;
        for (int k = 0; k < 16; k++) v = v << 8 | a6b[i * 16 + k];
        a6[i] = v;
    }

    double best = 1e9; uint64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        double t = cpu_now(); sum = 0;
        for (size_t i = 0; i < m4; i++) {
            uint32_t ip = a4[i];
            size_t lo = 0, hi = n4;            /* first start > ip */
            while (lo < hi) { size_t mid = (lo + hi) / 2; if (s4[mid] <= ip) lo = mid + 1; else hi = mid; }
            if (lo > 0 && ip <= e4[lo - 1]) sum += c4[lo - 1];
        }
        t = cpu_now() - t; if (t < best) best = t;
    }
    printf("c-bsearch ipv4: %.2f M lookups/s per CPU-second (best of %d rounds of %zu), checksum %llu\n", m4 / best / 1e6, rounds, m4, (unsigned long long)sum);
    best = 1e9;
    for (int r = 0; r < rounds; r++) {
        double t = cpu_now(); sum = 0;
        for (size_t i = 0; i < m6; i++) {
            u128 ip = a6[i];
            size_t lo = 0, hi = n6;
            while (lo < hi) { size_t mid = (lo + hi) / 2; if (s6[mid] <= ip) lo = mid + 1; else hi = mid; }
            if (lo > 0 && ip <= e6[lo - 1]) sum += c6[lo - 1];
        }
        t = cpu_now() - t; if (t < best) best = t;
    }
    printf("c-bsearch ipv6: %.2f M lookups/s per CPU-second (best of %d rounds of %zu), checksum %llu\n", m6 / best / 1e6, rounds, m6, (unsigned long long)sum);
    return 0;
}
