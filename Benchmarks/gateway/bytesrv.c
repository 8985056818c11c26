/*
 * bytesrv: the upstream end of the tunnel benchmarks (loopback only).
 *
 * One epoll thread. Each accepted connection first sends a 9-byte command:
 *   'U' + 8-byte big-endian count  -> read and discard that many bytes, then answer one byte 'K'
 *   'D' + 8-byte big-endian count  -> send that many bytes, then wait for the peer to close
 * A connection that closes before sending a command (the "new tunnels per second" load) is just
 * closed. The explicit acknowledgement makes upload timing end when the last byte has crossed the
 * proxy, without relying on the proxy forwarding a half-close.
 *
 * usage: bytesrv PORT        (listens on 127.0.0.1:PORT)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (256 * 1024)

enum phase { CMD, SINK, ACK, SOURCE, DRAIN };

struct conn {
    int fd;
    enum phase phase;
    unsigned char cmd[9];
    int cmdlen;
    uint64_t left;
};

static char buf[BUF];

static void die(const char *what) { perror(what); exit(1); }

static void finish(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void want(int ep, struct conn *c, uint32_t events) {
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* returns 0 when the connection was closed */
static int step(int ep, struct conn *c) {
    for (;;) {
        switch (c->phase) {
        case CMD: {
            ssize_t n = read(c->fd, c->cmd + c->cmdlen, 9 - c->cmdlen);
            if (n == 0 || (n < 0 && errno != EAGAIN)) { finish(ep, c); return 0; }
            if (n < 0) return 1;
            c->cmdlen += (int)n;
            if (c->cmdlen < 9) continue;
            uint64_t count = 0;
            for (int i = 1; i < 9; i++) count = (count << 8) | c->cmd[i];
            c->left = count;
            if (c->cmd[0] == 'U') c->phase = SINK;
            else if (c->cmd[0] == 'D') { c->phase = SOURCE; want(ep, c, EPOLLOUT); }
            else { finish(ep, c); return 0; }
            continue;
        }
        case SINK: {
            if (c->left == 0) { c->phase = ACK; continue; }
            size_t ask = c->left < BUF ? (size_t)c->left : BUF;
            ssize_t n = read(c->fd, buf, ask);
            if (n == 0 || (n < 0 && errno != EAGAIN)) { finish(ep, c); return 0; }
            if (n < 0) return 1;
            c->left -= (uint64_t)n;
            continue;
        }
        case ACK: {
            ssize_t n = write(c->fd, "K", 1);
            if (n < 0 && errno == EAGAIN) { want(ep, c, EPOLLOUT); return 1; }
            if (n != 1) { finish(ep, c); return 0; }
            c->phase = DRAIN;
            want(ep, c, EPOLLIN);
            continue;
        }
        case SOURCE: {
            if (c->left == 0) { c->phase = DRAIN; want(ep, c, EPOLLIN); continue; }
            size_t ask = c->left < BUF ? (size_t)c->left : BUF;
            ssize_t n = write(c->fd, buf, ask);
            if (n < 0 && errno == EAGAIN) return 1;
            if (n <= 0) { finish(ep, c); return 0; }
            c->left -= (uint64_t)n;
            continue;
        }
        case DRAIN: {
            ssize_t n = read(c->fd, buf, BUF);
            if (n == 0 || (n < 0 && errno != EAGAIN)) { finish(ep, c); return 0; }
            if (n < 0) return 1;
            continue;
        }
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: bytesrv PORT\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    memset(buf, 'x', sizeof buf);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (ls < 0) die("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 4096) < 0) die("listen");
    int ep = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    nc->phase = CMD;
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                    step(ep, nc);
                }
                continue;
            }
            step(ep, c);
        }
    }
}
