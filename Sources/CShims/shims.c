#define _GNU_SOURCE
#include "CShims.h"
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/netfilter_ipv4.h>

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

int customs_shims_version(void) { return 2; }

ssize_t customs_splice(int fd_in, int fd_out, size_t len) {
    return splice(fd_in, NULL, fd_out, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int customs_pipe(int fds[2], int size) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
    if (size > 0) (void)fcntl(fds[1], F_SETPIPE_SZ, size);
    return 0;
}

int customs_original_destination(int fd, int family, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(*out));
    if (family == AF_INET6) {
        socklen_t len = sizeof(struct sockaddr_in6);
        return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, &len);
    }
    socklen_t len = sizeof(struct sockaddr_in);
    return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, out, &len);
}

int customs_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void customs_abort_close(int fd) {
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

int customs_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

int customs_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int customs_epoll_add(int epfd, int fd, unsigned long long token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int customs_epoll_del(int epfd, int fd) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

ssize_t customs_read(int fd, void *buf, size_t len) {
    return syscall(SYS_read, fd, buf, len);
}

ssize_t customs_send(int fd, const void *buf, size_t len) {
    return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL, NULL, 0);
}

ssize_t customs_send2(int fd, const void *a, size_t alen, const void *b, size_t blen) {
    struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    return syscall(SYS_sendmsg, fd, &msg, MSG_NOSIGNAL);
}

int customs_epoll_wait(int epfd, struct customs_ready *out, int max) {
    // epoll_event is packed on x86-64, which Swift imports poorly; the copy is a few words per event.
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    // Never blocks (timeout 0): the bare call skips the wrapper's cancellation bookkeeping.
    do { n = (int)syscall(SYS_epoll_pwait, epfd, evs, max, 0, NULL, 0); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        unsigned int e = evs[i].events, f = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) f |= CUSTOMS_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) f |= CUSTOMS_WRITABLE;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) f |= CUSTOMS_PEER_CLOSED;
        out[i].token = evs[i].data.u64;
        out[i].flags = f;
    }
    return n;
}
