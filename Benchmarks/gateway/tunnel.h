/* Shared by tunclient.c and tlsclient.c: open a connection to a proxy and, with a target, a
 * CONNECT tunnel through it. Only 127.0.0.0/8 addresses are accepted (these are load generators). */
#ifndef BENCH_TUNNEL_H
#define BENCH_TUNNEL_H
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "127.x.x.x:PORT" -> address; -1 when malformed or not loopback. */
static int parse_loopback(const char *s, struct sockaddr_in *a) {
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1 || (ntohl(a->sin_addr.s_addr) >> 24) != 127) return -1;
    return 0;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Connects to proxy; with target ("host:port"), sends CONNECT and reads the answer up to the blank
 * line, byte by byte so nothing of the tunnel's payload is consumed. Returns the fd or -1. */
static int open_tunnel_to(const struct sockaddr_in *proxy, const char *target) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)proxy, sizeof *proxy) < 0) { close(fd); return -1; }
    if (!target) return fd;
    char req[512];
    int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
    if (write_all(fd, req, (size_t)n) < 0) { close(fd); return -1; }
    char head[4096];
    size_t got = 0;
    while (got < sizeof head - 1) {
        ssize_t r = read(fd, head + got, 1);
        if (r <= 0) { close(fd); return -1; }
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[got] = 0;
    if (got < 12 || strncmp(head + 8, " 200", 4) != 0) { close(fd); return -1; }
    return fd;
}
#endif
