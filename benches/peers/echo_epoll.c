/*
 * echo_epoll.c - minimal single-threaded epoll TCP echo server, the C peer
 * for benches/echo_compare.sh.
 *
 *   cc -O2 -Wall -Wextra -o echo_epoll echo_epoll.c
 *   ./echo_epoll PORT        # prints "listening on 127.0.0.1:PORT" when ready
 *
 * Level-triggered epoll, non-blocking sockets, accept4, one 64 KiB read
 * buffer shared by all connections.  Each connection has a bounded pending
 * output buffer (PENDING_CAP): bytes the kernel would not take yet are queued
 * there, EPOLLOUT is armed only while it is non-empty, and EPOLLIN is dropped
 * while it is full, so a client that does not read cannot grow our memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF (64 * 1024)
#define PENDING_CAP (256 * 1024)
#define MAX_EVENTS 256

struct conn {
    int fd;
    unsigned events;   /* currently registered epoll interest */
    int eof;           /* peer half-closed: finish sending, then close */
    char *pend;        /* pending output, allocated on first use */
    size_t off, len;   /* unsent bytes are pend[off .. off+len) */
};

static int ep;
static char rbuf[READ_BUF];

static void die(const char *what) { perror(what); exit(1); }

static void close_conn(struct conn *c) {
    close(c->fd); /* closing removes it from the epoll set */
    free(c->pend);
    free(c);
}

/* Register exactly the interest the connection's state calls for. */
static void set_interest(struct conn *c) {
    unsigned want = 0;
    if (c->len < PENDING_CAP && !c->eof) want |= EPOLLIN;  /* room to queue an echo */
    if (c->len > 0) want |= EPOLLOUT;           /* something left to send */
    if (want == c->events) return;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->events = want;
}

/* Try to send pend; returns -1 if the connection is dead. */
static int flush_pending(struct conn *c) {
    while (c->len > 0) {
        ssize_t n = send(c->fd, c->pend + c->off, c->len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        c->off += (size_t)n;
        c->len -= (size_t)n;
    }
    if (c->len == 0) c->off = 0;
    return 0;
}

/* Queue data behind whatever is pending (caller guarantees it fits). */
static void enqueue(struct conn *c, const char *p, size_t n) {
    if (!c->pend && !(c->pend = malloc(PENDING_CAP))) die("malloc");
    if (c->off + c->len + n > PENDING_CAP) {  /* compact to the front */
        memmove(c->pend, c->pend + c->off, c->len);
        c->off = 0;
    }
    memcpy(c->pend + c->off + c->len, p, n);
    c->len += n;
}

/* Read once (level-triggered: we will be woken again if more is there). */
static int on_readable(struct conn *c) {
    size_t room = PENDING_CAP - c->len;
    size_t want = room < READ_BUF ? room : READ_BUF;
    ssize_t n = recv(c->fd, rbuf, want, 0);
    if (n == 0) { c->eof = 1; return c->len ? 0 : -1; } /* peer done sending */
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    size_t done = 0;
    if (c->len == 0) {                           /* fast path: write straight back */
        while (done < (size_t)n) {
            ssize_t w = send(c->fd, rbuf + done, (size_t)n - done, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                return -1;
            }
            done += (size_t)w;
        }
    }
    if (done < (size_t)n) enqueue(c, rbuf + done, (size_t)n - done);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");

    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL }; /* NULL = listener */
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl ADD listener");

    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) { /* accept everything queued */
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) break;
                        if (errno == EMFILE || errno == ENFILE) break; /* retried next wakeup */
                        die("accept4");
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) die("calloc");
                    nc->fd = fd;
                    nc->events = EPOLLIN;
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
                }
                continue;
            }
            unsigned e = evs[i].events;
            int dead = 0;
            if (e & (EPOLLERR | EPOLLHUP)) dead = 1;  /* error or fully closed */
            if (!dead && (e & EPOLLOUT)) dead = flush_pending(c) < 0;
            if (!dead && (e & EPOLLIN)) dead = on_readable(c) < 0;
            if (!dead && c->eof && c->len == 0) dead = 1;  /* echoed all, done */
            if (dead) close_conn(c);
            else set_interest(c);
        }
    }
}
