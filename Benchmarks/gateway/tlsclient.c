/*
 * tlsclient: HTTPS over CONNECT through an intercepting proxy, the same load for every proxy
 * (loopback only). OpenSSL, one blocking thread per connection.
 *
 *   tlsclient --proxy 127.0.0.1:P --connect localhost:U --cafile CA_BUNDLE.pem --path /small
 *             --conns N --seconds S --mode keepalive|new
 *
 * keepalive: each thread opens one tunnel, does the TLS handshake (verifying the proxy's minted
 *            certificate for the CONNECT host against CA_BUNDLE) and sends GETs on it for S seconds.
 * new:       each thread loops: tunnel, full handshake (no session resumption), one GET, close.
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

/* One GET on an established TLS connection; returns 1 on 2xx, 0 on another status, -1 on error. */
static int get(SSL *ssl, char *buf, size_t cap, const char *req, int reqlen) {
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
        int r = get(ssl, buf, sizeof buf, req, reqlen);
        if (r < 0) { s->errors++; finish(ssl, fd); ssl = NULL; fd = -1; continue; }
        add_latency(s, now() - t0);
        if (r == 0) s->non2xx++;
        if (!keepalive) { finish(ssl, fd); ssl = NULL; fd = -1; }
    }
    finish(ssl, fd);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *proxy_s = NULL, *cafile = NULL;
    int conns = 32;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proxy") == 0) proxy_s = argv[i + 1];
        else if (strcmp(argv[i], "--connect") == 0) target = argv[i + 1];
        else if (strcmp(argv[i], "--cafile") == 0) cafile = argv[i + 1];
        else if (strcmp(argv[i], "--path") == 0) path = argv[i + 1];
        else if (strcmp(argv[i], "--conns") == 0) conns = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--mode") == 0) keepalive = strcmp(argv[i + 1], "new") != 0;
    }
    if (!proxy_s || !target || !cafile || conns < 1 || conns > MAXT) {
        fprintf(stderr, "usage: tlsclient --proxy 127.0.0.1:P --connect HOST:PORT --cafile CA.pem "
                        "[--path /p] [--conns N] [--seconds S] [--mode keepalive|new]\n");
        return 2;
    }
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
