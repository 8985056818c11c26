/*
 * tunclient: the client end of the tunnel benchmarks (loopback only).
 *
 *   tunclient up|down --proxy 127.0.0.1:P [--connect 127.0.0.1:U] --tunnels N --bytes TOTAL
 *       Opens N connections to --proxy (with --connect: a CONNECT tunnel to U through the proxy;
 *       without: a plain connection, for a tcp relay or the no-proxy baseline), waits until every
 *       tunnel is established, then streams TOTAL/N bytes per tunnel to (up) or from (down) bytesrv.
 *       Prints "RESULT bytes=B seconds=S gbps=G" (G in 10^9 bytes per second).
 *   tunclient rate --proxy 127.0.0.1:P [--connect 127.0.0.1:U] --tunnels N --seconds S
 *       N threads each open a tunnel (CONNECT, wait for 200) and close it, as fast as possible,
 *       for S seconds. Prints "RESULT tunnels=T failed=F seconds=S per_second=R".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunnel.h"

#define BUF (256 * 1024)
#define MAXT 256

static struct sockaddr_in proxy;
static const char *target; /* host:port for CONNECT, or NULL for a direct connection */
static char mode;
static uint64_t per_tunnel;
static double seconds;
static int tunnels;
static pthread_barrier_t ready;
static atomic_long done_ok, done_failed;
static atomic_int failed_setup;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int open_tunnel(void) { return open_tunnel_to(&proxy, target); }

static void *stream_thread(void *arg) {
    (void)arg;
    static __thread char buf[BUF];
    memset(buf, 'y', sizeof buf);
    int fd = open_tunnel();
    if (fd < 0) atomic_fetch_add(&failed_setup, 1);
    pthread_barrier_wait(&ready);
    if (fd < 0 || atomic_load(&failed_setup) > 0) { if (fd >= 0) close(fd); return NULL; }
    unsigned char cmd[9];
    cmd[0] = (unsigned char)(mode == 'u' ? 'U' : 'D');
    for (int i = 0; i < 8; i++) cmd[1 + i] = (unsigned char)(per_tunnel >> (56 - 8 * i));
    if (write_all(fd, cmd, 9) < 0) goto fail;
    uint64_t left = per_tunnel;
    if (mode == 'u') {
        while (left > 0) {
            size_t ask = left < BUF ? (size_t)left : BUF;
            ssize_t w = write(fd, buf, ask);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) goto fail;
            left -= (uint64_t)w;
        }
        char k;
        if (read(fd, &k, 1) != 1 || k != 'K') goto fail;
    } else {
        while (left > 0) {
            ssize_t r = read(fd, buf, BUF);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto fail;
            left -= (uint64_t)r > left ? left : (uint64_t)r;
        }
    }
    close(fd);
    atomic_fetch_add(&done_ok, 1);
    return NULL;
fail:
    close(fd);
    atomic_fetch_add(&done_failed, 1);
    return NULL;
}

static double deadline;

static void *rate_thread(void *arg) {
    (void)arg;
    pthread_barrier_wait(&ready);
    while (now() < deadline) {
        int fd = open_tunnel();
        if (fd < 0) { atomic_fetch_add(&done_failed, 1); continue; }
        close(fd);
        atomic_fetch_add(&done_ok, 1);
    }
    return NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: tunclient up|down|rate --proxy 127.0.0.1:P [--connect 127.0.0.1:U] "
                    "--tunnels N [--bytes TOTAL] [--seconds S]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(argv[1], "up") == 0) mode = 'u';
    else if (strcmp(argv[1], "down") == 0) mode = 'd';
    else if (strcmp(argv[1], "rate") == 0) mode = 'r';
    else usage();
    uint64_t total = 1ULL << 30;
    const char *proxy_s = NULL;
    tunnels = 1;
    seconds = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proxy") == 0) proxy_s = argv[i + 1];
        else if (strcmp(argv[i], "--connect") == 0) target = argv[i + 1];
        else if (strcmp(argv[i], "--tunnels") == 0) tunnels = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--bytes") == 0) total = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else usage();
    }
    struct sockaddr_in check;
    if (!proxy_s || parse_loopback(proxy_s, &proxy) < 0) { fprintf(stderr, "--proxy must be 127.x.x.x:PORT\n"); return 2; }
    if (target && parse_loopback(target, &check) < 0) { fprintf(stderr, "--connect must be 127.x.x.x:PORT\n"); return 2; }
    if (tunnels < 1 || tunnels > MAXT) usage();
    pthread_t th[MAXT];
    pthread_barrier_init(&ready, NULL, (unsigned)tunnels + 1);
    if (mode == 'r') {
        for (int i = 0; i < tunnels; i++) pthread_create(&th[i], NULL, rate_thread, NULL);
        double start = now();
        deadline = start + seconds;
        pthread_barrier_wait(&ready);
        for (int i = 0; i < tunnels; i++) pthread_join(th[i], NULL);
        double el = now() - start;
        long ok = atomic_load(&done_ok);
        printf("RESULT tunnels=%ld failed=%ld seconds=%.3f per_second=%.0f\n", ok, atomic_load(&done_failed), el, (double)ok / el);
        return ok > 0 ? 0 : 1;
    }
    per_tunnel = total / (uint64_t)tunnels;
    for (int i = 0; i < tunnels; i++) pthread_create(&th[i], NULL, stream_thread, NULL);
    pthread_barrier_wait(&ready);
    double start = now();
    for (int i = 0; i < tunnels; i++) pthread_join(th[i], NULL);
    double el = now() - start;
    if (atomic_load(&failed_setup) > 0 || atomic_load(&done_failed) > 0) {
        fprintf(stderr, "tunclient: %d tunnels failed to open, %ld failed while streaming\n",
                atomic_load(&failed_setup), atomic_load(&done_failed));
        printf("RESULT bytes=0 seconds=%.3f gbps=0\n", el);
        return 1;
    }
    uint64_t bytes = per_tunnel * (uint64_t)tunnels;
    printf("RESULT bytes=%llu seconds=%.3f gbps=%.3f\n", (unsigned long long)bytes, el, (double)bytes / el / 1e9);
    return 0;
}
