#ifndef CUSTOMS_CSHIMS_H
#define CUSTOMS_CSHIMS_H
// Linux socket facilities Swift's Glibc overlay does not expose. Owned by the Gateway module.
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

int customs_shims_version(void);

/// splice(2) between two descriptors (one must be a pipe), non-blocking and moving pages.
/// Returns bytes moved, 0 at end of input, -1 with errno set.
ssize_t customs_splice(int fd_in, int fd_out, size_t len);

/// A pipe pair with both ends non-blocking and close-on-exec; the pipe is grown to `size` when the
/// kernel allows. Returns 0 or -1 with errno set.
int customs_pipe(int fds[2], int size);

/// The pre-REDIRECT destination of a connection accepted on a transparent listener: SO_ORIGINAL_DST
/// for IPv4 and IP6T_SO_ORIGINAL_DST for IPv6. Fills `out` (a sockaddr_storage); 0 or -1 with errno.
int customs_original_destination(int fd, int family, struct sockaddr_storage *out);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (not exported by the Glibc overlay).
int customs_accept(int fd, struct sockaddr *addr, socklen_t *len);

/// Closes a socket so the peer sees a reset (SO_LINGER 0): the request it was carrying can never complete.
void customs_abort_close(int fd);

/// CPUs this process may run on (its sched_getaffinity mask), so `taskset -c 0` counts as one;
/// falls back to the online CPU count when the mask cannot be read.
int customs_available_cpus(void);

/// Readiness reported by `customs_epoll_wait`, folded so the caller needs no epoll constants:
/// hang-ups and errors count as both readable and writable (the next read or write reports them).
#define CUSTOMS_READABLE 1u
#define CUSTOMS_WRITABLE 2u
/// The peer half-closed, hung up or the socket has an error: a read that comes back short has not
/// seen everything, since no further input edge will announce the end of stream.
#define CUSTOMS_PEER_CLOSED 4u

/// One ready registration: the token given to `customs_epoll_add` and CUSTOMS_* flags.
struct customs_ready {
    unsigned long long token;
    unsigned int flags;
};

/// read(2) and send(2) with MSG_NOSIGNAL as bare system calls. The libc wrappers are thread
/// cancellation points and switch the cancellation state around every call, which showed in
/// profiles at four calls per proxied request; nothing here uses thread cancellation.
ssize_t customs_read(int fd, void *buf, size_t len);
ssize_t customs_send(int fd, const void *buf, size_t len);

/// Two buffers in one sendmsg(2) (MSG_NOSIGNAL): a request head and the body held behind it go
/// out as one write, so the peer is woken once and the head does not travel in a segment of its own.
ssize_t customs_send2(int fd, const void *a, size_t alen, const void *b, size_t blen);

/// A close-on-exec epoll instance; -1 with errno set.
int customs_epoll_create(void);

/// Registers `fd` once, edge-triggered, for input, output and peer half-close, carrying `token`.
int customs_epoll_add(int epfd, int fd, unsigned long long token);

/// Removes `fd` (before it is closed, so no later event names it).
int customs_epoll_del(int epfd, int fd);

/// Collects up to `max` ready registrations without waiting. Returns the count, or -1 with errno.
int customs_epoll_wait(int epfd, struct customs_ready *out, int max);
#endif
