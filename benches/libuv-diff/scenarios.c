/* The libuv side of the differential harness: each scenario prints one
 * line per callback (and per run's return value); the eddy side
 * (eddy/src/main.rs) prints the same lines for the same program. Build and
 * compare with ./run.sh. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static uv_loop_t *L;

#define say(...) (printf(__VA_ARGS__), putchar('\n'), fflush(stdout))

static void stall_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void noop_close(uv_handle_t *h) { (void)h; }

/* ---- phases: phase order and run modes' return values ---------------- */
static uv_timer_t ph_timer;
static uv_idle_t ph_idle;
static uv_prepare_t ph_prepare;
static uv_check_t ph_check;
static uv_poll_t ph_poll;
static int ph_fds[2];

static void ph_close_cb(uv_handle_t *h) { (void)h; say("close"); }
static void ph_timer_cb(uv_timer_t *t) { say("timer"); uv_close((uv_handle_t *)t, ph_close_cb); }
static void ph_idle_cb(uv_idle_t *h) { say("idle"); uv_idle_stop(h); }
static void ph_prepare_cb(uv_prepare_t *h) { say("prepare"); uv_prepare_stop(h); }
static void ph_check_cb(uv_check_t *h) { say("check"); uv_check_stop(h); }
static void ph_poll_cb(uv_poll_t *p, int status, int events) {
    (void)status; (void)events;
    say("poll");
    uv_poll_stop(p);
}

static void phases(void) {
    say("nowait on an empty loop -> %d", uv_run(L, UV_RUN_NOWAIT));
    socketpair(AF_UNIX, SOCK_STREAM, 0, ph_fds);
    if (write(ph_fds[0], "x", 1) != 1) abort();
    uv_poll_init(L, &ph_poll, ph_fds[1]);
    uv_poll_start(&ph_poll, UV_READABLE, ph_poll_cb);
    uv_timer_init(L, &ph_timer);
    uv_timer_start(&ph_timer, ph_timer_cb, 0, 0);
    uv_idle_init(L, &ph_idle);
    uv_idle_start(&ph_idle, ph_idle_cb);
    uv_prepare_init(L, &ph_prepare);
    uv_prepare_start(&ph_prepare, ph_prepare_cb);
    uv_check_init(L, &ph_check);
    uv_check_start(&ph_check, ph_check_cb);
    uv_update_time(L);
    say("once -> %d", uv_run(L, UV_RUN_ONCE));
    say("nowait -> %d", uv_run(L, UV_RUN_NOWAIT));
    uv_close((uv_handle_t *)&ph_poll, noop_close);
    uv_close((uv_handle_t *)&ph_idle, noop_close);
    uv_close((uv_handle_t *)&ph_prepare, noop_close);
    uv_close((uv_handle_t *)&ph_check, noop_close);
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
    close(ph_fds[0]);
    close(ph_fds[1]);
}

/* ---- timers ----------------------------------------------------------- */
static uv_timer_t tm[8];
static int tm_count;

static const char *tname(uv_timer_t *t) {
    static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    return names[t - tm];
}
static void tm_say_cb(uv_timer_t *t) { say("%s", tname(t)); }
static void tm_restart_cb(uv_timer_t *t) {
    say("%s", tname(t));
    if (++tm_count < 2) uv_timer_start(t, tm_restart_cb, 1, 0);
}
static uv_idle_t tm_iter;
static int tm_iters;
static void tm_iter_cb(uv_idle_t *h) { (void)h; tm_iters++; }
static void tm_zero_cb(uv_timer_t *t) {
    say("zero at iteration %d", tm_iters);
    if (++tm_count < 3) uv_timer_start(t, tm_zero_cb, 0, 0);
}
static uint64_t tm_last;
static void tm_repeat_cb(uv_timer_t *t) {
    uint64_t now = uv_now(t->loop);
    say("repeat due_in=%llu", (unsigned long long)uv_timer_get_due_in(t));
    if (tm_count > 0) say("interval >= repeat: %s", now - tm_last >= 40 ? "yes" : "no");
    tm_last = now;
    if (++tm_count == 1) stall_ms(23);
    if (tm_count == 3) uv_timer_stop(t);
}
static void tm_stopper_cb(uv_timer_t *t) { say("%s stops b", tname(t)); uv_timer_stop(&tm[1]); }
static uv_check_t tm_check;
static void tm_check_cb(uv_check_t *h) { say("check"); uv_check_stop(h); }
static void tm_from_close_fire(uv_timer_t *t) { say("timer from close"); uv_close((uv_handle_t *)t, noop_close); }
static void tm_from_close_cb(uv_handle_t *h) {
    (void)h;
    say("close");
    uv_timer_init(L, &tm[1]);
    uv_timer_start(&tm[1], tm_from_close_fire, 0, 0);
}

static void close_all_timers(int n) {
    for (int i = 0; i < n; i++) uv_close((uv_handle_t *)&tm[i], noop_close);
    uv_run(L, UV_RUN_DEFAULT);
}

static void timers(void) {
    say("-- equal deadlines");
    for (int i = 0; i < 3; i++) { uv_timer_init(L, &tm[i]); uv_timer_start(&tm[i], tm_say_cb, 5, 0); }
    uv_run(L, UV_RUN_DEFAULT);
    close_all_timers(3);

    say("-- restart in callback");
    tm_count = 0;
    uv_timer_init(L, &tm[0]);
    uv_timer_start(&tm[0], tm_restart_cb, 1, 0);
    uv_run(L, UV_RUN_DEFAULT);
    close_all_timers(1);

    say("-- 0 ms re-arm");
    tm_count = 0; tm_iters = 0;
    uv_idle_init(L, &tm_iter);
    uv_idle_start(&tm_iter, tm_iter_cb);
    uv_unref((uv_handle_t *)&tm_iter);
    uv_timer_init(L, &tm[0]);
    uv_timer_start(&tm[0], tm_zero_cb, 0, 0);
    uv_run(L, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&tm_iter, noop_close);
    close_all_timers(1);

    say("-- repeat after a 23 ms stall");
    tm_count = 0;
    uv_timer_init(L, &tm[0]);
    uv_timer_start(&tm[0], tm_repeat_cb, 10, 40);
    uv_run(L, UV_RUN_DEFAULT);
    close_all_timers(1);

    say("-- again");
    uv_timer_init(L, &tm[0]);
    say("again before start -> %s", uv_timer_again(&tm[0]) == UV_EINVAL ? "EINVAL" : "ok");
    uv_timer_start(&tm[0], tm_say_cb, 50, 0);
    say("again, no repeat -> %d, due_in=%llu", uv_timer_again(&tm[0]), (unsigned long long)uv_timer_get_due_in(&tm[0]));
    uv_timer_set_repeat(&tm[0], 2);
    uv_timer_again(&tm[0]);
    say("again with repeat 2: due_in=%llu", (unsigned long long)uv_timer_get_due_in(&tm[0]));
    uv_timer_stop(&tm[0]);
    close_all_timers(1);

    say("-- stop from another timer's callback");
    uv_timer_init(L, &tm[0]);
    uv_timer_init(L, &tm[1]);
    uv_timer_start(&tm[0], tm_stopper_cb, 2, 0);
    uv_timer_start(&tm[1], tm_say_cb, 2, 0);
    uv_run(L, UV_RUN_DEFAULT);
    close_all_timers(2);
}

static void timer_from_close(void) {
    uv_check_init(L, &tm_check);
    uv_check_start(&tm_check, tm_check_cb);
    uv_timer_init(L, &tm[0]);
    uv_close((uv_handle_t *)&tm[0], tm_from_close_cb);
    say("once -> %d", uv_run(L, UV_RUN_ONCE));
    say("once -> %d", uv_run(L, UV_RUN_ONCE));
    uv_close((uv_handle_t *)&tm_check, noop_close);
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
}

/* ---- close order and states ----------------------------------------- */
static uv_timer_t cl[3];
static void cl_cb(uv_handle_t *h) {
    say("close %c: closing=%d active=%d", 'a' + (int)((uv_timer_t *)h - cl), uv_is_closing(h), uv_is_active(h));
}
static void close_order(void) {
    for (int i = 0; i < 3; i++) { uv_timer_init(L, &cl[i]); uv_timer_start(&cl[i], tm_say_cb, 1000, 0); }
    for (int i = 0; i < 3; i++) uv_close((uv_handle_t *)&cl[i], cl_cb);
    say("after close: closing=%d active=%d", uv_is_closing((uv_handle_t *)&cl[0]), uv_is_active((uv_handle_t *)&cl[0]));
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
}

/* ---- ref/unref liveness ---------------------------------------------- */
static uv_timer_t rf_timer;
static uv_idle_t rf_idle;
static void rf_timer_cb(uv_timer_t *t) { (void)t; say("timer"); }
static void rf_idle_cb(uv_idle_t *h) { uv_idle_stop(h); }
static void refs(void) {
    uv_timer_init(L, &rf_timer);
    uv_timer_start(&rf_timer, rf_timer_cb, 1, 0);
    uv_unref((uv_handle_t *)&rf_timer);
    say("has_ref=%d alive=%d", uv_has_ref((uv_handle_t *)&rf_timer), uv_loop_alive(L));
    say("default with an unref'd timer -> %d", uv_run(L, UV_RUN_DEFAULT));
    uv_ref((uv_handle_t *)&rf_timer);
    say("has_ref=%d alive=%d", uv_has_ref((uv_handle_t *)&rf_timer), uv_loop_alive(L));
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
    uv_idle_init(L, &rf_idle);
    uv_idle_start(&rf_idle, rf_idle_cb);
    uv_unref((uv_handle_t *)&rf_idle);
    say("nowait with an unref'd idle -> %d", uv_run(L, UV_RUN_NOWAIT));
    uv_close((uv_handle_t *)&rf_timer, noop_close);
    uv_close((uv_handle_t *)&rf_idle, noop_close);
    say("alive while closing=%d", uv_loop_alive(L));
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
}

/* ---- async ------------------------------------------------------------ */
static uv_async_t as;
static void as_cb(uv_async_t *a) { (void)a; say("async"); }
static void asyncs(void) {
    uv_async_init(L, &as, as_cb);
    uv_async_send(&as); uv_async_send(&as); uv_async_send(&as);
    say("nowait -> %d", uv_run(L, UV_RUN_NOWAIT));
    uv_async_send(&as);
    uv_close((uv_handle_t *)&as, noop_close);
    uv_async_send(&as); /* after close, before its callback: memory still valid */
    say("default after send and close -> %d", uv_run(L, UV_RUN_DEFAULT));
}

/* ---- signals ---------------------------------------------------------- */
static uv_signal_t sg[3];
static void sg_cb(uv_signal_t *s, int signum) {
    say("%c signal %d active=%d", 'a' + (int)(s - sg), signum, uv_is_active((uv_handle_t *)s));
}
static void signals(void) {
    for (int i = 0; i < 3; i++) uv_signal_init(L, &sg[i]);
    uv_signal_start(&sg[0], sg_cb, SIGUSR1);
    uv_signal_start(&sg[1], sg_cb, SIGUSR1);
    uv_signal_start_oneshot(&sg[2], sg_cb, SIGUSR2);
    raise(SIGUSR1); raise(SIGUSR1);
    /* Once: libuv resets a oneshot handle's disposition as the signal
     * arrives, so a second raise would kill the process. */
    raise(SIGUSR2);
    say("nowait -> %d", uv_run(L, UV_RUN_NOWAIT));
    say("oneshot active=%d", uv_is_active((uv_handle_t *)&sg[2]));
    for (int i = 0; i < 3; i++) uv_close((uv_handle_t *)&sg[i], noop_close);
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
}

/* ---- Io on pipes ------------------------------------------------------ */
static uv_poll_t io[2];
static int io_fds[4];
static int io_calls;

static void io_print(const char *what, int status, int events) {
    if (status < 0)
        say("%s: error %s", what, uv_err_name(status));
    else
        say("%s: readable=%d writable=%d", what, !!(events & UV_READABLE), !!(events & UV_WRITABLE));
}
static void io_readable_cb(uv_poll_t *p, int status, int events) {
    io_print("readable", status, events);
    char buf[8];
    say("read -> %zd", read(io_fds[0], buf, sizeof buf));
    uv_poll_stop(p);
}
static void io_hup_cb(uv_poll_t *p, int status, int events) {
    io_print("hang-up", status, events);
    if (++io_calls > 3) { say("spinning"); uv_poll_stop(p); return; }
    if (events & UV_READABLE) {
        char buf[8];
        ssize_t n = read(io_fds[0], buf, sizeof buf);
        say("read -> %zd", n);
        if (n == 0) uv_close((uv_handle_t *)p, noop_close);
    }
}
static void io_err_cb(uv_poll_t *p, int status, int events) {
    io_print("error", status, events);
    if (++io_calls > 3) { say("spinning"); uv_poll_stop(p); return; }
    say("active=%d", uv_is_active((uv_handle_t *)p));
}
static void io_batch_cb(uv_poll_t *p, int status, int events) {
    (void)status; (void)events;
    io_calls++;
    uv_poll_t *other = p == &io[0] ? &io[1] : &io[0];
    uv_poll_stop(other);
    uv_poll_stop(p);
}
static void io_fresh_cb(uv_poll_t *p, int status, int events) {
    (void)p; (void)status; (void)events;
    io_calls += 100;
}
static uv_poll_t io_fresh;
static int io_fresh_fds[2];
static void io_reuse_cb(uv_poll_t *p, int status, int events) {
    (void)status; (void)events;
    io_calls++;
    uv_poll_stop(p);
    int i = p == &io[0] ? 1 : 0;
    uv_close((uv_handle_t *)&io[i], noop_close);
    close(io_fds[2 * i + 1]); /* its number is free now */
    socketpair(AF_UNIX, SOCK_STREAM, 0, io_fresh_fds);
    say("fresh fd reuses the number: %s", io_fresh_fds[0] == io_fds[2 * i + 1] ? "yes" : "no");
    uv_poll_init(L, &io_fresh, io_fresh_fds[0]);
    uv_poll_start(&io_fresh, UV_READABLE, io_fresh_cb);
}

static void io_pipes(void) {
    say("-- readable");
    if (pipe(io_fds) != 0 || write(io_fds[1], "hi", 2) != 2) abort();
    uv_poll_init(L, &io[0], io_fds[0]);
    uv_poll_start(&io[0], UV_READABLE, io_readable_cb);
    uv_run(L, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&io[0], noop_close);
    uv_run(L, UV_RUN_DEFAULT);

    say("-- hang-up");
    close(io_fds[1]);
    io_calls = 0;
    uv_poll_init(L, &io[0], io_fds[0]);
    uv_poll_start(&io[0], UV_READABLE, io_hup_cb);
    for (int i = 0; i < 4; i++) uv_run(L, UV_RUN_NOWAIT);
    uv_run(L, UV_RUN_DEFAULT);
    close(io_fds[0]);

    say("-- error");
    if (pipe(io_fds) != 0) abort();
    close(io_fds[0]);
    io_calls = 0;
    uv_poll_init(L, &io[0], io_fds[1]);
    uv_poll_start(&io[0], UV_WRITABLE, io_err_cb);
    for (int i = 0; i < 4; i++) uv_run(L, UV_RUN_NOWAIT);
    say("after: active=%d alive=%d", uv_is_active((uv_handle_t *)&io[0]), uv_loop_alive(L));
    uv_close((uv_handle_t *)&io[0], noop_close);
    uv_run(L, UV_RUN_DEFAULT);
    close(io_fds[1]);

    say("-- stop in callback");
    socketpair(AF_UNIX, SOCK_STREAM, 0, io_fds);
    socketpair(AF_UNIX, SOCK_STREAM, 0, io_fds + 2);
    if (write(io_fds[0], "a", 1) != 1 || write(io_fds[2], "b", 1) != 1) abort();
    io_calls = 0;
    uv_poll_init(L, &io[0], io_fds[1]);
    uv_poll_init(L, &io[1], io_fds[3]);
    uv_poll_start(&io[0], UV_READABLE, io_batch_cb);
    uv_poll_start(&io[1], UV_READABLE, io_batch_cb);
    uv_run(L, UV_RUN_ONCE);
    say("callbacks: %d", io_calls);
    uv_close((uv_handle_t *)&io[0], noop_close);
    uv_close((uv_handle_t *)&io[1], noop_close);
    uv_run(L, UV_RUN_DEFAULT);

    say("-- fd reuse");
    if (write(io_fds[0], "a", 1) != 1 || write(io_fds[2], "b", 1) != 1) abort();
    io_calls = 0;
    uv_poll_init(L, &io[0], io_fds[1]);
    uv_poll_init(L, &io[1], io_fds[3]);
    uv_poll_start(&io[0], UV_READABLE, io_reuse_cb);
    uv_poll_start(&io[1], UV_READABLE, io_reuse_cb);
    uv_run(L, UV_RUN_ONCE);
    say("callbacks: %d", io_calls);
    uv_close((uv_handle_t *)&io_fresh, noop_close);
    /* the watcher that ran is still open */
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&io[i])) uv_close((uv_handle_t *)&io[i], noop_close);
    uv_run(L, UV_RUN_DEFAULT);
}

/* ---- stop ------------------------------------------------------------- */
static uv_timer_t st_timer;
static uv_idle_t st_idle;
static void st_timer_cb(uv_timer_t *t) { say("timer stops the loop"); uv_stop(t->loop); }
static void st_idle_cb(uv_idle_t *h) { say("idle"); uv_idle_stop(h); }
static void stop(void) {
    uv_timer_init(L, &st_timer);
    uv_timer_start(&st_timer, st_timer_cb, 0, 0);
    uv_idle_init(L, &st_idle);
    uv_idle_start(&st_idle, st_idle_cb);
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
    uv_close((uv_handle_t *)&st_timer, noop_close);
    uv_close((uv_handle_t *)&st_idle, noop_close);
    uv_run(L, UV_RUN_DEFAULT);
}

/* ---- cancelled work --------------------------------------------------- */
static uv_work_t wk[2];
static uv_timer_t wk_timer;
static void wk_run(uv_work_t *w) { if (w == &wk[0]) stall_ms(60); }
static void wk_after(uv_work_t *w, int status) {
    say("after %c: %s", w == &wk[0] ? 'A' : 'B', status == UV_ECANCELED ? "cancelled" : "ok");
}
static void wk_timer_cb(uv_timer_t *t) {
    int r = uv_cancel((uv_req_t *)&wk[0]);
    say("cancel A while it runs -> %s", r == UV_EBUSY ? "busy" : r == 0 ? "ok" : uv_err_name(r));
    uv_close((uv_handle_t *)t, noop_close);
}
static void work(void) {
    uv_queue_work(L, &wk[0], wk_run, wk_after);
    uv_queue_work(L, &wk[1], wk_run, wk_after);
    say("cancel B -> %d", uv_cancel((uv_req_t *)&wk[1]));
    uv_timer_init(L, &wk_timer);
    uv_timer_start(&wk_timer, wk_timer_cb, 20, 0);
    say("default -> %d", uv_run(L, UV_RUN_DEFAULT));
}

int main(int argc, char **argv) {
    static const struct { const char *name; void (*run)(void); } all[] = {
        {"phases", phases}, {"timers", timers}, {"timer_from_close", timer_from_close},
        {"close_order", close_order}, {"refs", refs}, {"async", asyncs}, {"signals", signals},
        {"io_pipes", io_pipes}, {"stop", stop}, {"work", work},
    };
    if (argc != 2) { fprintf(stderr, "usage: %s SCENARIO\n", argv[0]); return 2; }
    L = uv_default_loop();
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i].name, argv[1]) == 0) { all[i].run(); uv_loop_close(L); return 0; }
    fprintf(stderr, "unknown scenario %s\n", argv[1]);
    return 2;
}
