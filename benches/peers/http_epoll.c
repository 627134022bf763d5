/*
 * http_epoll.c - minimal single-threaded epoll HTTP/1.1 "hello" server, the C
 * peer for benches/load.sh and benches/idle_memory.sh.
 *
 *   cc -O2 -Wall -Wextra -o http_epoll http_epoll.c
 *   ./http_epoll PORT      # prints "listening on http://127.0.0.1:PORT"
 *
 * Every request (whatever its method/path) gets the same 176-byte response
 * that eddy-server and http_node.js send; only the Date value differs.  What
 * it does, and deliberately no more:
 *   - keep-alive; a request ends at "\r\n\r\n" (bodies are not supported);
 *   - pipelining: all complete requests in one read are answered with one
 *     send() of the concatenated responses;
 *   - bounded memory: idle connections own no buffers (one shared 16 KiB
 *     read buffer); a partial request is kept in a per-connection buffer of at
 *     most 8 KiB (longer header blocks get 431 and a close); output the kernel
 *     did not take is queued per connection, and reading pauses (EPOLLIN off,
 *     EPOLLOUT on) until it has drained;
 *   - the Date header is cached and refreshed at most once per second; in the
 *     same once-a-second pass, connections idle for 5 s are closed, which is
 *     what "Keep-Alive: timeout=5" promises.
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
#include <time.h>
#include <unistd.h>

#define RBUF 16384            /* shared read buffer */
#define MAX_HEAD 8192         /* longest partial request we keep */
#define KEEPALIVE_SECS 5
#define MAX_EVENTS 256

static const char RESP_HEAD[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: ";
static const char RESP_TAIL[] =
    "\r\nServer: eddy\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nHello, World!";
#define DATE_LEN 29           /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define RESP_LEN (sizeof RESP_HEAD - 1 + DATE_LEN + sizeof RESP_TAIL - 1)
static const char R431[] =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

struct conn {
    int fd, want_out;
    time_t last_active;
    char *in;  size_t in_len;            /* partial request, NULL when empty */
    char *out; size_t out_off, out_len;  /* unsent output, NULL when empty */
};

static int ep;
static char rbuf[RBUF];
/* Worst case output of one read: every 4 bytes a request ("\r\n\r\n"). */
static char wbuf[(RBUF / 4 + 1) * RESP_LEN];
static char resp[RESP_LEN];               /* the response, Date filled in */
static time_t resp_sec;
static struct conn **conns;               /* indexed by fd, for the idle sweep */
static int nconns_cap;

static void die(const char *what) { perror(what); exit(1); }

static void refresh_date(time_t now) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char d[DATE_LEN + 1];
    strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    memcpy(resp + sizeof RESP_HEAD - 1, d, DATE_LEN);
    resp_sec = now;
}

static void close_conn(struct conn *c) {
    conns[c->fd] = NULL;
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void set_out_interest(struct conn *c, int want_out) {
    if (want_out == c->want_out) return;
    struct epoll_event ev = { .events = want_out ? EPOLLOUT : EPOLLIN, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->want_out = want_out;
}

/* Send buf; queue what the kernel does not take.  -1: connection is dead. */
static int send_or_queue(struct conn *c, const char *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return -1;
        }
        done += (size_t)n;
    }
    if (done < len) {
        if (!(c->out = malloc(len - done))) die("malloc");
        memcpy(c->out, buf + done, len - done);
        c->out_off = 0;
        c->out_len = len - done;
        set_out_interest(c, 1);  /* stop reading until this has drained */
    }
    return 0;
}

static int on_writable(struct conn *c) {
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return -1;
        }
        c->out_off += (size_t)n;
        c->out_len -= (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    set_out_interest(c, 0);
    return 0;
}

static int on_readable(struct conn *c) {
    size_t have = c->in_len;
    if (have) memcpy(rbuf, c->in, have);  /* rare: a request split across reads */
    ssize_t n = recv(c->fd, rbuf + have, RBUF - have, 0);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    size_t end = have + (size_t)n, pos = 0, nreq = 0;
    /* Find the end of each complete request (search only the new bytes,
     * plus the 3 before them, since a terminator may straddle the reads). */
    size_t from = have > 3 ? have - 3 : 0;
    const char *e;
    while ((e = memmem(rbuf + from, end - from, "\r\n\r\n", 4)) != NULL) {
        pos = (size_t)(e - rbuf) + 4;
        from = pos;
        if (nreq) memcpy(wbuf + nreq * RESP_LEN, resp, RESP_LEN);  /* [0] filled below */
        nreq++;
    }
    size_t rest = end - pos;
    if (rest > MAX_HEAD) {
        send(c->fd, R431, sizeof R431 - 1, MSG_NOSIGNAL);
        return -1;
    }
    if (rest) {  /* keep the partial request for the next read */
        if (!c->in && !(c->in = malloc(MAX_HEAD))) die("malloc");
        memmove(c->in, rbuf + pos, rest);
    } else if (c->in) {
        free(c->in);
        c->in = NULL;
    }
    c->in_len = rest;
    c->last_active = resp_sec;
    if (nreq == 1) return send_or_queue(c, resp, RESP_LEN);  /* no copy needed */
    if (nreq > 1) memcpy(wbuf, resp, RESP_LEN);
    return nreq ? send_or_queue(c, wbuf, nreq * RESP_LEN) : 0;
}

static void sweep_idle(time_t now) {
    for (int fd = 0; fd < nconns_cap; fd++) {
        struct conn *c = conns[fd];
        if (c && !c->out && now - c->last_active >= KEEPALIVE_SECS) close_conn(c);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    int port = atoi(argv[1]), one = 1;
    signal(SIGPIPE, SIG_IGN);
    memcpy(resp, RESP_HEAD, sizeof RESP_HEAD - 1);
    memcpy(resp + sizeof RESP_HEAD - 1 + DATE_LEN, RESP_TAIL, sizeof RESP_TAIL - 1);
    refresh_date(time(NULL));

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(lfd, 4096) < 0) die("listen");
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl ADD listener");

    printf("listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        time_t now = time(NULL);
        int new_second = now != resp_sec;
        if (new_second) refresh_date(now);  /* at most once a second */
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) break;
                        if (errno == EMFILE || errno == ENFILE) break;
                        die("accept4");
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (fd >= nconns_cap) {
                        int cap = nconns_cap ? nconns_cap : 1024;
                        while (cap <= fd) cap *= 2;
                        conns = realloc(conns, (size_t)cap * sizeof *conns);
                        if (!conns) die("realloc");
                        memset(conns + nconns_cap, 0, (size_t)(cap - nconns_cap) * sizeof *conns);
                        nconns_cap = cap;
                    }
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) die("calloc");
                    nc->fd = fd;
                    nc->last_active = now;
                    conns[fd] = nc;
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
                }
                continue;
            }
            unsigned e = evs[i].events;
            int dead = (e & EPOLLERR) != 0;
            if (!dead && (e & EPOLLOUT)) dead = on_writable(c) < 0;
            else if (!dead && (e & (EPOLLIN | EPOLLHUP))) dead = on_readable(c) < 0;
            if (dead) close_conn(c);
        }
        /* after the batch, so no pointer in evs[] can refer to a freed conn */
        if (new_second) sweep_idle(now);
    }
}
