/*
 * echo_load.c - load generator for TCP echo servers (benches/echo_compare.sh).
 *
 *   cc -O2 -Wall -Wextra -o echo_load echo_load.c
 *   ./echo_load [-c CONNS] [-d SECONDS] [-w WINDOW] [-b CHUNK] [-h HOST] PORT
 *
 * Opens CONNS connections (default 1).  Each writes CHUNK-byte chunks
 * (default 65536) and reads the echo back, keeping at most WINDOW chunks
 * (default 4) in flight.  After SECONDS (default 5) it stops writing, waits
 * for every outstanding byte to come back (max 10 s), and checks each byte
 * against the stream pattern (byte at stream offset o is o % 251, so a lost,
 * duplicated or reordered byte is caught).  Single thread, one epoll loop.
 * Prints one machine-readable line:
 *   echoed_bytes=N seconds=S MBps=X conns=C
 * (MB = 10^6 bytes).  Exits non-zero on any error or mismatch.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define PAT_MOD 251
#define RBUF (256 * 1024)

struct conn {
    int fd;
    unsigned events;
    unsigned long long sent, recvd;
};

static unsigned char *pattern; /* pattern[i] = i % PAT_MOD, length chunk + PAT_MOD */
static unsigned char rbuf[RBUF];
static int ep;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) { perror(what); exit(1); }

static void set_interest(struct conn *c, unsigned want) {
    if (want == c->events) return;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
    c->events = want;
}

int main(int argc, char **argv) {
    int conns = 1, window = 4, opt;
    double dur = 5;
    size_t chunk = 65536;
    const char *host = "127.0.0.1";
    while ((opt = getopt(argc, argv, "c:d:w:b:h:")) != -1) {
        switch (opt) {
        case 'c': conns = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'b': chunk = (size_t)atol(optarg); break;
        case 'h': host = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || conns < 1 || window < 1 || chunk < 1 || dur <= 0) {
    usage:
        fprintf(stderr, "usage: %s [-c CONNS] [-d SECONDS] [-w WINDOW] [-b CHUNK] [-h HOST] PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[optind]);
    signal(SIGPIPE, SIG_IGN);
    unsigned long long max_inflight = (unsigned long long)window * chunk;

    if (!(pattern = malloc(chunk + PAT_MOD))) die("malloc");
    for (size_t i = 0; i < chunk + PAT_MOD; i++) pattern[i] = (unsigned char)(i % PAT_MOD);

    if ((ep = epoll_create1(0)) < 0) die("epoll_create1");
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs) die("calloc");
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 2; }
    for (int i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect"); /* blocking */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
        cs[i].fd = fd;
        cs[i].events = EPOLLIN | EPOLLOUT;
        struct epoll_event ev = { .events = cs[i].events, .data.ptr = &cs[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
    }

    double start = now(), stop_at = start + dur, drain_limit = stop_at + 10;
    int stopping = 0;
    struct epoll_event evs[256];
    for (;;) {
        double t = now();
        if (!stopping && t >= stop_at) {
            stopping = 1; /* stop writing; only wait for outstanding echoes */
            for (int i = 0; i < conns; i++) set_interest(&cs[i], EPOLLIN);
        }
        if (stopping) {
            int pending = 0;
            for (int i = 0; i < conns; i++) pending |= cs[i].recvd != cs[i].sent;
            if (!pending) break;
            if (t >= drain_limit) { fprintf(stderr, "echo_load: timed out waiting for echoes\n"); return 1; }
        }
        int n = epoll_wait(ep, evs, 256, 50);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;
            unsigned e = evs[k].events;
            if (e & EPOLLIN) {
                ssize_t r = recv(c->fd, rbuf, RBUF, 0);
                if (r == 0) { fprintf(stderr, "echo_load: server closed connection\n"); return 1; }
                if (r < 0 && errno != EAGAIN && errno != EINTR) die("recv");
                if (r > 0) {
                    if (c->recvd + (unsigned long long)r > c->sent) {
                        fprintf(stderr, "echo_load: received more than sent\n"); return 1;
                    }
                    /* verify in pieces no longer than the pattern window */
                    for (size_t off = 0; off < (size_t)r; off += chunk) {
                        size_t len = (size_t)r - off < chunk ? (size_t)r - off : chunk;
                        if (memcmp(rbuf + off, pattern + (c->recvd + off) % PAT_MOD, len) != 0) {
                            fprintf(stderr, "echo_load: echoed data mismatch near offset %llu\n", c->recvd + off);
                            return 1;
                        }
                    }
                    c->recvd += (unsigned long long)r;
                }
            } else if (e & (EPOLLERR | EPOLLHUP)) {
                fprintf(stderr, "echo_load: connection error\n"); return 1;
            }
            if (!stopping && (e & EPOLLOUT)) {
                unsigned long long room = max_inflight - (c->sent - c->recvd);
                size_t len = room < chunk ? (size_t)room : chunk;
                if (len > 0) {
                    ssize_t w = send(c->fd, pattern + c->sent % PAT_MOD, len, MSG_NOSIGNAL);
                    if (w < 0 && errno != EAGAIN && errno != EINTR) die("send");
                    if (w > 0) c->sent += (unsigned long long)w;
                }
            }
            if (!stopping) /* write interest only while the window has room */
                set_interest(c, EPOLLIN | (c->sent - c->recvd < max_inflight ? EPOLLOUT : 0));
        }
    }
    double secs = now() - start;
    unsigned long long total = 0;
    for (int i = 0; i < conns; i++) { total += cs[i].recvd; close(cs[i].fd); }
    free(cs);
    free(pattern);
    printf("echoed_bytes=%llu seconds=%.3f MBps=%.1f conns=%d\n", total, secs, (double)total / secs / 1e6, conns);
    return 0;
}
