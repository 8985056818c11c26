/*
 * idleconns: holds many idle keep-alive client connections against a proxy (loopback only).
 *
 *   idleconns --proxy 127.0.0.1:P --url http://127.0.0.1:U/small --count N --hold S
 *
 * Each connection sends one absolute-form GET with keep-alive and reads the whole response
 * (Content-Length framed), so the proxy has served it and holds it as an idle keep-alive client.
 * After all N are open it prints "HELD n" (flushed), keeps them open for S seconds, and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int exchange(int fd, const char *req, size_t reqlen) {
    if (write(fd, req, reqlen) != (ssize_t)reqlen) return -1;
    char buf[16384];
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        if (got == sizeof buf - 1) return -1;
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0) return -1;
        got += (size_t)r;
        buf[got] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    if (strncmp(buf + 8, " 200", 4) != 0) return -1;
    long length = -1;
    for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "content-length:", 15) == 0) length = atol(line + 17);
    }
    if (length < 0) return -1;
    long have = (long)(got - (size_t)(end + 4 - buf));
    while (have < length) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0) return -1;
        have += r;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *proxy_s = NULL, *url = NULL;
    int count = 10000, hold = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proxy") == 0) proxy_s = argv[i + 1];
        else if (strcmp(argv[i], "--url") == 0) url = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0) count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--hold") == 0) hold = atoi(argv[i + 1]);
    }
    if (!proxy_s || !url || strncmp(url, "http://127.", 11) != 0) {
        fprintf(stderr, "usage: idleconns --proxy 127.0.0.1:P --url http://127.0.0.1:U/path --count N --hold S\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a = { .sin_family = AF_INET };
    char host[64];
    const char *colon = strrchr(proxy_s, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - proxy_s), proxy_s);
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "--proxy must be a 127.x.x.x address\n");
        return 2;
    }
    const char *hoststart = url + 7;
    const char *slash = strchr(hoststart, '/');
    char req[1024];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: idleconns\r\nAccept: */*\r\n\r\n",
                          url, (int)(slash ? slash - hoststart : (long)strlen(hoststart)), hoststart);
    int *fds = calloc((size_t)count, sizeof *fds);
    int held = 0;
    for (int i = 0; i < count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) { perror("socket"); break; }
        if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || exchange(fd, req, (size_t)reqlen) < 0) {
            fprintf(stderr, "idleconns: connection %d failed (%s)\n", i, strerror(errno));
            close(fd);
            break;
        }
        fds[held++] = fd;
    }
    printf("HELD %d\n", held);
    fflush(stdout);
    sleep((unsigned)hold);
    for (int i = 0; i < held; i++) close(fds[i]);
    return held == count ? 0 : 1;
}
