/*
 * tlsclient: HTTPS over CONNECT through an intercepting proxy, the same load for every proxy
 * (loopback only). OpenSSL, one blocking thread per connection.
 *
 *   tlsclient --proxy 127.0.0.1:P --connect localhost:U --cafile CA_BUNDLE.pem --path /small
 *             --conns N --seconds S --mode keepalive|new [--bodies FILE.jsonl [--first N] [--fresh-ids 1]]
 *
 * keepalive: each thread opens one tunnel, does the TLS handshake (verifying the proxy's minted
 *            certificate for the CONNECT host against CA_BUNDLE) and sends GETs on it for S seconds.
 * new:       each thread loops: tunnel, full handshake (no session resumption), one GET, close.
 * --bodies:  every request is a POST (Content-Type: application/json) of the next line of FILE
 *            (one body per line, as pibodies.py writes them); threads share one atomic index, so
 *            the bodies go out round-robin across connections and wrap at the end of the file.
 *            --first N starts at request N (a later run sends bodies an earlier run did not).
 * --fresh-ids: with --bodies of pibodies.py's shape, request number K (counted from --first)
 *            carries the K-th 50 resident IDs of pibodies.py's sequence in place of the body's
 *            own, so no person repeats within a run or across runs given their own --first, however
 *            short the file (the issue-6 load pi.lua makes for wrk; 4.9 M requests before it wraps).
 * Prints the same line as the wrk scripts:
 *   RESULT rps=R p50_ms=A p99_ms=B requests=N socket_errors=E non2xx=X
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunnel.h"

#define MAXT 512

static struct sockaddr_in proxy;
static const char *target, *path = "/small";
static char host[256];
static int keepalive = 1;
static double seconds = 10, deadline;
static SSL_CTX *ctx;
static pthread_barrier_t ready;
/* --bodies: the file's lines (without their newlines), taken in turn through next_body. */
static char **bodies;
static size_t *body_lens, nbodies, body_max;
static unsigned long next_body;
static int fresh_ids;

/* pibodies.py's resident_id(n): sequence, then area, then birth day; GB 11643 check digit. */
static void resident_id(unsigned long n, char out[18]) {
    static const char *areas[] = {"110101", "110105", "120101", "310101", "310115", "320102", "330106", "440103",
                                  "440305", "510104", "420102", "610102", "370102", "350102", "430102", "500103"};
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    unsigned seq = (unsigned)(n % 999) + 1;
    n /= 999;
    const char *area = areas[n % 16];
    n /= 16;
    unsigned year = 1960 + (unsigned)((n / 336) % 46), month = (unsigned)((n / 28) % 12) + 1, day = (unsigned)(n % 28) + 1;
    char text[19];
    snprintf(text, sizeof text, "%s%04u%02u%02u%03u", area, year, month, day, seq);
    int total = 0;
    for (int i = 0; i < 17; i++) total += (text[i] - '0') * weights[i];
    memcpy(out, text, 17);
    out[17] = "10X98765432"[total % 11];
}

/* Overwrites the 18-character value of every "id_number" field in BODY with request K's IDs. */
static void refresh_ids(char *body, size_t len, unsigned long k) {
    static const char key[] = "\"id_number\":\"";
    char *end = body + len, *at = body;
    unsigned long person = k * 50;
    while ((at = memmem(at, (size_t)(end - at), key, sizeof key - 1)) && end - at >= (long)(sizeof key - 1 + 18)) {
        at += sizeof key - 1;
        resident_id(person++, at);
        at += 18;
    }
}

struct stats {
    unsigned *lat_us;
    size_t n, cap;
    long errors, non2xx;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void add_latency(struct stats *s, double secs) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->lat_us = realloc(s->lat_us, s->cap * sizeof *s->lat_us);
    }
    s->lat_us[s->n++] = (unsigned)(secs * 1e6);
}

static int open_tunnel(void) { return open_tunnel_to(&proxy, target); }

static SSL *handshake(int fd) {
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    if (SSL_connect(ssl) != 1) {
        static int reported;
        if (!reported++) ERR_print_errors_fp(stderr);
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* One request on an established TLS connection; returns 1 on 2xx, 0 on another status, -1 on error. */
static int exchange(SSL *ssl, char *buf, size_t cap, const char *req, int reqlen) {
    if (SSL_write(ssl, req, reqlen) != reqlen) return -1;
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        if (got == cap - 1) return -1;
        int r = SSL_read(ssl, buf + got, (int)(cap - 1 - got));
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    long length = -1;
    for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "content-length:", 15) == 0) length = atol(line + 17);
    if (length < 0) return -1;
    long have = (long)(got - (size_t)(end + 4 - buf));
    int ok = strncmp(buf + 8, " 2", 2) == 0;
    while (have < length) {
        int r = SSL_read(ssl, buf, (int)cap);
        if (r <= 0) return -1;
        have += r;
    }
    return ok;
}

static void finish(SSL *ssl, int fd) {
    if (ssl) { SSL_shutdown(ssl); SSL_free(ssl); }
    if (fd >= 0) close(fd);
}

static void *worker(void *arg) {
    struct stats *s = arg;
    char req[1024], buf[65536];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsclient\r\nAccept: */*\r\n%s\r\n",
                          path, target, keepalive ? "" : "Connection: close\r\n");
    size_t postcap = nbodies ? body_max + 1024 : 0;
    char *post = nbodies ? malloc(postcap) : NULL;
    pthread_barrier_wait(&ready);
    int fd = -1;
    SSL *ssl = NULL;
    while (now() < deadline) {
        double t0 = now();
        if (!ssl) {
            fd = open_tunnel();
            if (fd < 0) { s->errors++; usleep(1000); continue; }
            ssl = handshake(fd);
            if (!ssl) { close(fd); fd = -1; s->errors++; usleep(1000); continue; }
            if (keepalive) t0 = now(); /* keep-alive latency is per request, not per tunnel */
        }
        const char *out = req;
        int outlen = reqlen;
        if (nbodies) {
            unsigned long k = __atomic_fetch_add(&next_body, 1, __ATOMIC_RELAXED);
            size_t len = body_lens[k % nbodies];
            /* Head and body in one buffer, one SSL_write: what a client with the body in hand sends. */
            int headlen = snprintf(post, postcap,
                                   "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsclient\r\nAccept: */*\r\n"
                                   "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                                   path, target, len, keepalive ? "" : "Connection: close\r\n");
            memcpy(post + headlen, bodies[k % nbodies], len);
            if (fresh_ids) refresh_ids(post + headlen, len, k);
            out = post;
            outlen = headlen + (int)len;
        }
        int r = exchange(ssl, buf, sizeof buf, out, outlen);
        if (r < 0) { s->errors++; finish(ssl, fd); ssl = NULL; fd = -1; continue; }
        add_latency(s, now() - t0);
        if (r == 0) s->non2xx++;
        if (!keepalive) { finish(ssl, fd); ssl = NULL; fd = -1; }
    }
    finish(ssl, fd);
    free(post);
    return NULL;
}

/* Reads FILE whole and splits it into lines; every non-empty line is one body. */
static int load_bodies(const char *file) {
    FILE *f = fopen(file, "rb");
    if (!f) { perror(file); return -1; }
    char *line = NULL;
    size_t cap = 0, room = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n == 0) continue;
        if (nbodies == room) {
            room = room ? room * 2 : 4096;
            bodies = realloc(bodies, room * sizeof *bodies);
            body_lens = realloc(body_lens, room * sizeof *body_lens);
        }
        bodies[nbodies] = memcpy(malloc((size_t)n), line, (size_t)n);
        body_lens[nbodies++] = (size_t)n;
        if ((size_t)n > body_max) body_max = (size_t)n;
    }
    free(line);
    fclose(f);
    if (!nbodies) { fprintf(stderr, "%s holds no bodies\n", file); return -1; }
    return 0;
}

static int cmp(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *proxy_s = NULL, *cafile = NULL, *bodies_file = NULL;
    int conns = 32;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proxy") == 0) proxy_s = argv[i + 1];
        else if (strcmp(argv[i], "--connect") == 0) target = argv[i + 1];
        else if (strcmp(argv[i], "--cafile") == 0) cafile = argv[i + 1];
        else if (strcmp(argv[i], "--path") == 0) path = argv[i + 1];
        else if (strcmp(argv[i], "--conns") == 0) conns = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--mode") == 0) keepalive = strcmp(argv[i + 1], "new") != 0;
        else if (strcmp(argv[i], "--bodies") == 0) bodies_file = argv[i + 1];
        else if (strcmp(argv[i], "--first") == 0) next_body = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--fresh-ids") == 0) fresh_ids = strcmp(argv[i + 1], "0") != 0;
    }
    if (!proxy_s || !target || !cafile || conns < 1 || conns > MAXT) {
        fprintf(stderr, "usage: tlsclient --proxy 127.0.0.1:P --connect HOST:PORT --cafile CA.pem "
                        "[--path /p] [--conns N] [--seconds S] [--mode keepalive|new] [--bodies FILE.jsonl [--first N] [--fresh-ids 1]]\n");
        return 2;
    }
    if (bodies_file && load_bodies(bodies_file) < 0) return 2;
    signal(SIGPIPE, SIG_IGN);
    if (parse_loopback(proxy_s, &proxy) < 0) {
        fprintf(stderr, "--proxy must be a 127.x.x.x address\n");
        return 2;
    }
    const char *colon = strrchr(target, ':');
    snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - target) : (int)strlen(target), target);

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) { ERR_print_errors_fp(stderr); return 2; }
    /* Every "new" connection is a full handshake with the proxy. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);

    pthread_t th[MAXT];
    struct stats *st = calloc((size_t)conns, sizeof *st);
    pthread_barrier_init(&ready, NULL, (unsigned)conns + 1);
    double start = now();
    deadline = start + seconds;
    for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, worker, &st[i]);
    pthread_barrier_wait(&ready);
    size_t total = 0;
    long errors = 0, non2xx = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        total += st[i].n;
        errors += st[i].errors;
        non2xx += st[i].non2xx;
    }
    double elapsed = now() - start;
    unsigned *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, st[i].lat_us, st[i].n * sizeof *all);
        k += st[i].n;
    }
    qsort(all, total, sizeof *all, cmp);
    double p50 = total ? all[total / 2] / 1000.0 : 0, p99 = total ? all[(size_t)(total * 0.99)] / 1000.0 : 0;
    printf("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%zu socket_errors=%ld non2xx=%ld\n",
           (double)total / elapsed, p50, p99, total, errors, non2xx);
    return total > 0 ? 0 : 1;
}
