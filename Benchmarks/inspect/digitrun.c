/* The floor any detector must beat: a plain C loop counting runs of >= 11 ASCII digits.
 * usage: digitrun SECONDS FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long runs(const unsigned char *s, size_t n) {
    long c = 0; size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)(s[i] - '0') < 10) len++;
        else { if (len >= 11) c++; len = 0; }
    }
    return c + (len >= 11);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: digitrun SECONDS FILE...\n"); return 2; }
    double seconds = atof(argv[1]);
    int nf = argc - 2;
    unsigned char **bufs = calloc(nf, sizeof *bufs);
    size_t *lens = calloc(nf, sizeof *lens), total = 0;
    for (int i = 0; i < nf; i++) {
        FILE *f = fopen(argv[i + 2], "rb");
        if (!f) { perror(argv[i + 2]); return 1; }
        fseek(f, 0, SEEK_END); lens[i] = ftell(f); fseek(f, 0, SEEK_SET);
        bufs[i] = malloc(lens[i]);
        if (fread(bufs[i], 1, lens[i], f) != lens[i]) return 1;
        fclose(f); total += lens[i];
    }
    struct timespec a, b;
    long rounds = 0, found = 0; double el = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do {
        found = 0;
        for (int i = 0; i < nf; i++) found += runs(bufs[i], lens[i]);
        rounds++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        el = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    } while (el < seconds);
    printf("c-digit-run-loop    %9.1f MB/s  (%zu bytes x %ld rounds; %ld runs)\n", total * rounds / el / 1e6, total, rounds, found);
    return 0;
}
