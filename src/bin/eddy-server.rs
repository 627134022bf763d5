//! `eddy-server`: the sample HTTP server linking the whole stack.
//!
//!     cargo run --release -- [--host 127.0.0.1] [--port 8080] [--unix PATH]
//!         [--workers N] [--access-log] [--headers-timeout MS]
//!         [--request-timeout MS] [--keep-alive-timeout MS]
//!         [--max-header-size BYTES] [--max-body-size BYTES] [--root DIR]
//!         [--send-timeout MS] [--min-body-rate BYTES_PER_SEC]
//!
//! Routes: `GET /` (Hello, World!), `POST|PUT /echo` (the body streamed
//! back), `GET /delay?ms=N`, `GET /stream?chunks=N&size=B`, `GET /headers`;
//! anything else 404, a wrong method on a known path 405.
//!
//! `--root DIR` serves the files under DIR (`eddy::static_files`): `/` is
//! DIR's `index.html`, any path that is not a built-in route is looked up
//! under DIR (never outside it), with Range, HEAD and conditional GET.
//!
//! SIGINT/SIGTERM: graceful shutdown (stop accepting, finish in-flight
//! responses, at most 10 s), exit 0; a second signal exits at once.
//!
//! `--metrics` adds `GET /metrics` (Prometheus text format 0.0.4: the
//! loop and HTTP figures of each worker, labelled `worker`, and the
//! process's). `--admin` adds `GET /connections`: the live connections of
//! the worker that answers, as JSON.
//!
//! SIGUSR2: zero-downtime restart. The server starts its own binary again
//! with the same arguments, handing over its listening sockets as fds 3, 4,
//! ... (`LISTEN_FDS`/`LISTEN_PID`, systemd's convention) and a readiness
//! socket named by `EDDY_READY_FD`. Once the new process writes `READY=1`
//! there (after it printed its `listening on` line), the old one stops
//! accepting, answers each further request with `Connection: close`,
//! closes what is still idle after 1 s, finishes in-flight responses and
//! exits. If the new process fails to start, exits or stays silent for
//! 30 s, the old one logs why and goes on serving.
//!
//! Socket activation: started with `LISTEN_FDS`/`LISTEN_PID` (e.g. by
//! systemd or `systemd-socket-activate`), the server serves on the passed
//! sockets instead of binding `--host`/`--port`/`--unix`.

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use eddy::event_loop::memory::TrimOptions;
use eddy::event_loop::{Async, AsyncSender, Handle, Interest, Io, LoopMetrics, Signal, Timer};
use eddy::http::parser::Method;
use eddy::http::server::{
    ConnectionInfo, MinBodyRate, Request, Response, Server, ServerOptions, ServerStats,
};
use eddy::net::activation::{self, Successor};
use eddy::net::{Address, ListenOptions, Listener};
use eddy::prometheus::{Exposition, Labels, CONTENT_TYPE};
use eddy::{Loop, RunMode};

/// The binary's one unsafe call, fenced here with its rule.
mod sys {
    use std::os::fd::{AsRawFd, BorrowedFd};

    use eddy::event_loop::Io;
    use eddy::Loop;

    /// An `Io` watcher on `fd`. The caller keeps the fd open until the
    /// watcher is closed (the restart state holds both, and closes the
    /// watcher first).
    pub fn watch(lp: &mut Loop, fd: impl std::os::fd::AsFd) -> Io {
        let fd: BorrowedFd<'_> = fd.as_fd();
        // SAFETY: `fd` is open (borrowed from its owner), and the owner
        // outlives the watcher: `Restart::Starting` keeps the channel and
        // its `Io` together, and every way out of that state closes the
        // `Io` (which deregisters it) before the channel is dropped.
        unsafe { Io::new(lp, fd.as_raw_fd()) }
    }
}

const HELP: &str = "usage: eddy-server [options]
  --host HOST                 address to listen on (default 127.0.0.1)
  --port PORT                 TCP port (default 8080)
  --unix PATH                 listen on a Unix socket instead
  --workers N                 threads, each with its own loop and SO_REUSEPORT listener (default 1)
  --access-log                print one line per request to stdout
  --headers-timeout MS        time to receive request headers (default 60000)
  --request-timeout MS        time to receive a whole request (default 300000)
  --keep-alive-timeout MS     idle time between requests (default 5000)
  --max-header-size BYTES     request head limit (default 16384)
  --max-body-size BYTES       request body limit (default none)
  --send-timeout MS           close a connection whose output makes no progress this long (default 60000, 0 off)
  --min-body-rate BYTES_PER_SEC  refuse (408) a request body slower than this over 5 s windows, after 5 s (default off)
  --metrics                   serve GET /metrics (Prometheus text format)
  --admin                     serve GET /connections (the live connections, JSON)
  --root DIR                  serve the files under DIR (/ is DIR/index.html)
  -h, --help                  this text

signals: SIGINT/SIGTERM graceful stop; SIGUSR2 restart without dropping a connection";

const GRACE_MS: u64 = 10_000;
/// After a handover, connections still idle this long are closed.
const DRAIN_IDLE_MS: u64 = 1_000;
/// How long a new process may take to announce that it listens.
const RESTART_TIMEOUT_MS: u64 = 30_000;
/// A scrape waits at most this long for the other workers' figures.
const SCRAPE_WAIT_MS: u64 = 1_000;
/// The environment variable naming the readiness socket of a handover.
const READY_ENV: &str = "EDDY_READY_FD";

#[derive(Clone)]
struct Config {
    host: String,
    port: u16,
    unix: Option<String>,
    workers: usize,
    access_log: bool,
    metrics: bool,
    admin: bool,
    /// `--root`: the directory served, as its real path.
    root: Option<PathBuf>,
    opts: ServerOptions,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("eddy-server: {msg}");
    std::process::exit(2);
}

fn parse_args() -> Config {
    let mut c = Config {
        host: "127.0.0.1".into(),
        port: 8080,
        unix: None,
        workers: 1,
        access_log: false,
        metrics: false,
        admin: false,
        root: None,
        opts: ServerOptions::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| fail(format!("{name} needs a value")))
        };
        fn num<T: std::str::FromStr>(name: &str, v: String) -> T {
            v.parse()
                .unwrap_or_else(|_| fail(format!("{name}: not a number: {v:?}")))
        }
        match arg.as_str() {
            "--host" => c.host = value("--host"),
            "--port" => c.port = num("--port", value("--port")),
            "--unix" => c.unix = Some(value("--unix")),
            "--workers" => c.workers = num::<usize>("--workers", value("--workers")).max(1),
            "--access-log" => c.access_log = true,
            "--metrics" => c.metrics = true,
            "--admin" => c.admin = true,
            "--root" => {
                let dir = value("--root");
                let real = std::fs::canonicalize(&dir)
                    .unwrap_or_else(|e| fail(format!("--root {dir}: {e}")));
                c.root = Some(real);
            }
            "--headers-timeout" => {
                c.opts.headers_timeout_ms = num("--headers-timeout", value("--headers-timeout"))
            }
            "--request-timeout" => {
                c.opts.request_timeout_ms = num("--request-timeout", value("--request-timeout"))
            }
            "--keep-alive-timeout" => {
                c.opts.keep_alive_timeout_ms =
                    num("--keep-alive-timeout", value("--keep-alive-timeout"))
            }
            "--max-header-size" => {
                c.opts.max_header_size = num("--max-header-size", value("--max-header-size"))
            }
            "--send-timeout" => {
                c.opts.send_timeout_ms = num("--send-timeout", value("--send-timeout"))
            }
            "--min-body-rate" => {
                let rate = num("--min-body-rate", value("--min-body-rate"));
                c.opts.min_body_rate = Some(MinBodyRate::new(rate))
            }
            "--max-body-size" => {
                c.opts.max_body_size = Some(num("--max-body-size", value("--max-body-size")))
            }
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => fail(format!("unknown option {other:?}\n{HELP}")),
        }
    }
    c
}

fn query_param(q: Option<&str>, key: &str) -> Option<u64> {
    q?.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn plain(lp: &mut Loop, res: Response, status: u16, body: &str) {
    let _ = res.set_status(lp, status);
    let _ = res.set_header(lp, "Content-Type", "text/plain");
    let _ = res.set_header(lp, "Server", "eddy");
    let _ = res.end(lp, body.as_bytes());
}

/// `date` is the route's own buffer for the Date value (copied out of the
/// loop, which `write_head` needs): no allocation once it has grown.
fn hello(lp: &mut Loop, res: Response, date: &mut String) {
    date.clear();
    date.push_str(Server::date(lp));
    let date = date.as_str();
    let _ = res.write_head(
        lp,
        200,
        &[
            ("Content-Type", "text/plain"),
            ("Content-Length", "13"),
            ("Date", date),
            ("Server", "eddy"),
        ],
    );
    let _ = res.end(lp, b"Hello, World!");
}

/// The request body streamed back, chunked in as it was out, with
/// backpressure: the request pauses while the response cannot drain.
fn echo(lp: &mut Loop, req: Request, res: Response) {
    let _ = res.set_header(lp, "Server", "eddy");
    if let Some(ct) = req
        .header(lp, "content-type")
        .map(|v| String::from_utf8_lossy(v).into_owned())
    {
        let _ = res.set_header(lp, "Content-Type", &ct);
    }
    let chunked = req
        .header(lp, "transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
    if let (false, Some(len)) = (chunked, req.header(lp, "content-length")) {
        let len = String::from_utf8_lossy(len).into_owned();
        let _ = res.set_header(lp, "Content-Length", &len);
    }
    let _ = res.on_drain(lp, move |lp, _| {
        let _ = req.resume(lp);
    });
    let _ = req.on_data(lp, move |lp, req, bytes| {
        if let Ok(false) = res.write(lp, bytes) {
            let _ = req.pause(lp);
        }
    });
    let _ = req.on_end(lp, move |lp, _| {
        let _ = res.end(lp, b"");
    });
}

fn delay(lp: &mut Loop, req: Request, res: Response) {
    let ms = query_param(req.query(lp), "ms").unwrap_or(0).min(60_000);
    let t = Timer::new(lp);
    let _ = t.start(lp, ms, 0, move |lp, t| {
        plain(lp, res, 200, &format!("waited {ms} ms"));
        let _ = t.close(lp, |_, _| {});
    });
}

thread_local! {
    /// The block `/stream` responses of this worker send, while one is
    /// live: weak, so it goes when the last response using it is done.
    static BLOCK: RefCell<std::rc::Weak<[u8]>> = RefCell::new(std::rc::Weak::<[u8; 0]>::new());
}

/// One block of `size` bytes shared by every `/stream` response that
/// sends that size at the same time: queued by reference
/// (`write_shared`), so a slow reader holds no copy of it.
fn shared_block(size: usize) -> Rc<[u8]> {
    BLOCK.with(|cached| {
        if let Some(b) = cached.borrow().upgrade().filter(|b| b.len() == size) {
            return b;
        }
        let b: Rc<[u8]> = vec![b'x'; size].into();
        *cached.borrow_mut() = Rc::downgrade(&b);
        b
    })
}

/// N chunks of B bytes, each written when the socket has drained; the
/// chunks are one shared block.
fn stream(lp: &mut Loop, req: Request, res: Response) {
    let q = req.query(lp);
    let chunks = query_param(q, "chunks").unwrap_or(10);
    let size = query_param(q, "size").unwrap_or(1024).min(16 << 20) as usize;
    let _ = res.set_header(lp, "Content-Type", "application/octet-stream");
    let _ = res.set_header(lp, "Server", "eddy");
    let block = shared_block(size);
    let sent = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let pump = move |lp: &mut Loop| {
        while sent.get() < chunks {
            sent.set(sent.get() + 1);
            match res.write_shared(lp, block.clone()) {
                Ok(true) => continue,
                Ok(false) => return,
                Err(_) => return,
            }
        }
        let _ = res.end(lp, b"");
    };
    let again = pump.clone();
    let _ = res.on_drain(lp, move |lp, _| again(lp));
    pump(lp);
}

fn headers(lp: &mut Loop, req: Request, res: Response) {
    let mut body = String::new();
    if let Some(h) = req.headers(lp) {
        for (n, v) in h.iter() {
            body.push_str(&format!(
                "{}: {}\n",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            ));
        }
    }
    plain(lp, res, 200, &body);
}

#[derive(Clone, Copy)]
enum Route {
    Hello,
    Echo,
    Delay,
    Stream,
    Headers,
    Metrics,
    Connections,
    /// `--root`: a file under the root.
    Files,
}

/// What a worker's routes share besides the request.
struct Ctx {
    access_log: bool,
    date: String,
    /// Handed over to a new process: every response closes its connection.
    draining: Rc<Cell<bool>>,
    /// `--metrics`: the scrapes of this worker.
    scrapes: Option<Rc<Scrapes>>,
    /// `--admin`: this worker's server (set once it exists).
    admin: Option<Rc<Cell<Option<Server>>>>,
    /// `--root`: the directory served.
    root: Option<PathBuf>,
}

fn route(lp: &mut Loop, req: Request, res: Response, ctx: &mut Ctx) {
    let method = req.method(lp).unwrap_or(Method::Get);
    if ctx.access_log {
        println!("{} {}", method.as_str(), req.target(lp).unwrap_or(""));
    }
    if ctx.draining.get() {
        let _ = res.set_header(lp, "Connection", "close");
    }
    let found = match req.path(lp).unwrap_or("") {
        "/" if ctx.root.is_some() => Route::Files,
        "/" => Route::Hello,
        "/echo" => Route::Echo,
        "/delay" => Route::Delay,
        "/stream" => Route::Stream,
        "/headers" => Route::Headers,
        "/metrics" if ctx.scrapes.is_some() => Route::Metrics,
        "/connections" if ctx.admin.is_some() => Route::Connections,
        _ if ctx.root.is_some() => Route::Files,
        _ => return plain(lp, res, 404, "not found\n"),
    };
    let allowed: &[Method] = match found {
        Route::Echo => &[Method::Post, Method::Put],
        _ => &[Method::Get, Method::Head],
    };
    if !allowed.contains(&method) {
        let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        let _ = res.set_header(lp, "Allow", allow.join(", "));
        return plain(lp, res, 405, "method not allowed\n");
    }
    match found {
        Route::Hello => hello(lp, res, &mut ctx.date),
        Route::Files => {
            if let Some(root) = &ctx.root {
                eddy::static_files::serve(lp, req, res, root);
            }
        }
        Route::Echo => echo(lp, req, res),
        Route::Delay => delay(lp, req, res),
        Route::Stream => stream(lp, req, res),
        Route::Headers => headers(lp, req, res),
        Route::Metrics => {
            if let Some(scrapes) = &ctx.scrapes {
                scrapes.start(lp, res);
            }
        }
        Route::Connections => {
            let server = ctx.admin.as_ref().and_then(|s| s.get());
            let list = server.and_then(|s| s.connections(lp)).unwrap_or_default();
            let _ = res.set_header(lp, "Content-Type", "application/json");
            let _ = res.end(lp, connections_json(&list).as_bytes());
        }
    }
}

/// `GET /connections`: one object per live connection.
fn connections_json(list: &[ConnectionInfo]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|c| {
            let peer = c.peer.as_ref().map_or("null".to_string(), |a| {
                let text = match a {
                    Address::Ip(a) => a.to_string(),
                    Address::Unix(p) => p.display().to_string(),
                };
                format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
            });
            format!(
                "{{\"id\":{},\"peer\":{peer},\"state\":\"{}\",\"requests\":{},\"in_flight\":{},\"bytes_in\":{},\"bytes_out\":{},\"idle_ms\":{},\"queued_output\":{}}}",
                c.id.as_u64(),
                c.state.name(),
                c.requests_served,
                c.in_flight,
                c.bytes_in,
                c.bytes_out,
                c.idle_ms,
                c.queued_output
            )
        })
        .collect();
    format!("{{\"connections\":[{}]}}\n", items.join(","))
}

/// What one worker publishes for a scrape.
#[derive(Clone)]
struct Figures {
    loop_metrics: LoopMetrics,
    connections: usize,
    server: ServerStats,
}

/// One worker's latest figures: `published` counts its publications.
#[derive(Default)]
struct Slot {
    published: u64,
    figures: Option<Figures>,
}

/// Where the workers' figures meet, for `/metrics` with `--workers N`: a
/// scrape on one worker asks every other to publish (an async wake-up,
/// only while scraping: no timer runs otherwise), and answers once all
/// have, or after `SCRAPE_WAIT_MS` with what is there.
struct Board {
    slots: Mutex<Vec<Slot>>,
    /// Per worker: "publish your figures", and "figures arrived".
    publish: OnceLock<Vec<AsyncSender>>,
    arrived: OnceLock<Vec<AsyncSender>>,
}

impl Board {
    fn new(workers: usize) -> Board {
        Board {
            slots: Mutex::new((0..workers).map(|_| Slot::default()).collect()),
            publish: OnceLock::new(),
            arrived: OnceLock::new(),
        }
    }

    fn publish(&self, me: usize, figures: Figures) {
        {
            let mut slots = self.slots.lock().unwrap();
            slots[me].published += 1;
            slots[me].figures = Some(figures);
        }
        for (i, a) in self.arrived.get().into_iter().flatten().enumerate() {
            if i != me {
                let _ = a.send();
            }
        }
    }
}

fn figures(lp: &mut Loop, server: Server) -> Figures {
    Figures {
        loop_metrics: lp.metrics(),
        connections: server.connection_count(lp).unwrap_or(0),
        server: server.stats(lp).unwrap_or_default(),
    }
}

/// A scrape waiting for the other workers.
struct Waiting {
    res: Response,
    /// Per worker, the publication count that answers this scrape.
    wanted: Vec<u64>,
    since_ms: u64,
}

/// One worker's side of `/metrics`.
struct Scrapes {
    me: usize,
    /// Set once the server exists (its request callback holds this).
    server: Cell<Option<Server>>,
    board: Arc<Board>,
    waiting: RefCell<Vec<Waiting>>,
    timer: Cell<Option<Timer>>,
}

impl Scrapes {
    fn start(self: &Rc<Self>, lp: &mut Loop, res: Response) {
        if let Some(server) = self.server.get() {
            self.board.publish(self.me, figures(lp, server));
        }
        let wanted = {
            let slots = self.board.slots.lock().unwrap();
            slots
                .iter()
                .enumerate()
                .map(|(i, s)| s.published + u64::from(i != self.me))
                .collect()
        };
        for (i, p) in self.board.publish.get().into_iter().flatten().enumerate() {
            if i != self.me {
                let _ = p.send();
            }
        }
        let since_ms = lp.now();
        self.waiting.borrow_mut().push(Waiting {
            res,
            wanted,
            since_ms,
        });
        if self.timer.get().is_none() {
            let t = Timer::new(lp);
            let _ = t.unref(lp);
            self.timer.set(Some(t));
        }
        if let Some(t) = self.timer.get() {
            let me = self.clone();
            let _ = t.start(lp, SCRAPE_WAIT_MS, 0, move |lp, _| me.answer(lp));
        }
        self.answer(lp);
    }

    /// Answers the scrapes whose figures are all in (or that waited long
    /// enough).
    fn answer(&self, lp: &mut Loop) {
        let now = lp.now();
        let (ready, page) = {
            let slots = self.board.slots.lock().unwrap();
            let mut waiting = self.waiting.borrow_mut();
            let (ready, still): (Vec<Waiting>, Vec<Waiting>) =
                std::mem::take(&mut *waiting).into_iter().partition(|w| {
                    now.saturating_sub(w.since_ms) >= SCRAPE_WAIT_MS
                        || w.wanted
                            .iter()
                            .zip(slots.iter())
                            .all(|(&n, s)| s.published >= n)
                });
            *waiting = still;
            let page = (!ready.is_empty()).then(|| render(&slots));
            (ready, page)
        };
        if let Some(page) = page {
            for w in ready {
                let _ = w.res.write_head(
                    lp,
                    200,
                    &[("Content-Type", CONTENT_TYPE), ("Server", "eddy")],
                );
                let _ = w.res.end(lp, page.as_bytes());
            }
        }
    }
}

fn render(slots: &[Slot]) -> String {
    let series: Vec<(Labels, &Figures)> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((vec![("worker", i.to_string())], s.figures.as_ref()?)))
        .collect();
    let loops: Vec<(Labels, LoopMetrics)> = series
        .iter()
        .map(|(l, f)| (l.clone(), f.loop_metrics.clone()))
        .collect();
    let mut out = Exposition::default();
    out.loop_metrics(&loops);
    out.each(
        "eddy_server_connections",
        "gauge",
        "Open HTTP connections.",
        &series,
        |f| Some(f.connections as f64),
    );
    let servers: Vec<(Labels, ServerStats)> = series
        .iter()
        .map(|(l, f)| (l.clone(), f.server.clone()))
        .collect();
    out.server_stats(&servers);
    out.process();
    out.into_text()
}

/// What a worker reports once it listens.
struct WorkerReady {
    shown: Vec<String>,
    stop: AsyncSender,
    drain: AsyncSender,
    publish: AsyncSender,
    arrived: AsyncSender,
}

fn show(a: &Address) -> String {
    match a {
        Address::Ip(a) => format!("http://{a}"),
        Address::Unix(p) => p.display().to_string(),
    }
}

/// Graceful stop: stop accepting, close idle connections, let in-flight
/// responses finish for at most `GRACE_MS`, then stop the loop.
fn shutdown(lp: &mut Loop, server: Server) {
    let _ = server.close(lp, |lp| lp.stop());
    let t = Timer::new(lp);
    let _ = t.start(lp, GRACE_MS, 0, move |lp, _| {
        let _ = server.close_all_connections(lp);
        lp.stop();
    });
    let _ = t.unref(lp);
}

/// After a handover: the new process accepts from the same sockets, so
/// this worker only stops watching them (no queued connection is lost).
/// Every later response says `Connection: close`, so a busy keep-alive
/// connection ends after its next response without racing the client's
/// next request; what is still open after `DRAIN_IDLE_MS` gets the
/// graceful stop.
fn drain(lp: &mut Loop, server: Server, draining: &Cell<bool>) {
    draining.set(true);
    for l in Listener::all(lp) {
        let _ = l.pause(lp);
    }
    let started = lp.now();
    let t = Timer::new(lp);
    let _ = t.start(lp, 20, 20, move |lp, t| {
        let idle_for = lp.now().saturating_sub(started);
        if server.connection_count(lp).unwrap_or(0) == 0 || idle_for >= DRAIN_IDLE_MS {
            let _ = t.close(lp, |_, _| {});
            shutdown(lp, server);
        }
    });
}

/// One worker: a loop, a server on its share of the listening sockets, and
/// async handles for shutdown, handover and scrapes.
fn worker(
    cfg: Config,
    me: usize,
    sockets: Vec<OwnedFd>,
    board: Arc<Board>,
    ready: std::sync::mpsc::Sender<Result<WorkerReady, String>>,
) {
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
    lp.set_metrics_enabled(cfg.metrics);
    // Memory a burst of connections freed goes back to the OS from an idle
    // moment (pools capped, tables shrunk, then malloc_trim).
    lp.enable_memory_trim(TrimOptions::default());
    let draining = Rc::new(Cell::new(false));
    let scrapes = cfg.metrics.then(|| {
        Rc::new(Scrapes {
            me,
            server: Cell::new(None),
            board: board.clone(),
            waiting: RefCell::default(),
            timer: Cell::new(None),
        })
    });
    let mut ctx = Ctx {
        access_log: cfg.access_log,
        date: String::new(),
        draining: draining.clone(),
        scrapes: scrapes.clone(),
        admin: cfg.admin.then(Rc::default),
        root: cfg.root.clone(),
    };
    let admin = ctx.admin.clone();
    let server = Server::new(&mut lp, cfg.opts.clone(), move |lp, req, res| {
        route(lp, req, res, &mut ctx)
    });
    if let Some(s) = &scrapes {
        s.server.set(Some(server));
    }
    if let Some(a) = &admin {
        a.set(Some(server));
    }
    let listen = ListenOptions {
        reuse_port: cfg.workers > 1 && cfg.unix.is_none(),
        ..ListenOptions::default()
    };
    let mut shown = Vec::new();
    for fd in sockets {
        // The server's `listen` takes the offered socket instead of binding.
        let bound = Listener::offer(&mut lp, fd)
            .map_err(|e| e.to_string())
            .and_then(|addr| {
                server
                    .listen_with(&mut lp, addr, &listen)
                    .map_err(|e| e.to_string())
            });
        match bound {
            Ok(a) => shown.push(show(&a)),
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        }
    }
    let stop = Async::new(&mut lp, move |lp, me| {
        let _ = me.close(lp, |_, _| {});
        shutdown(lp, server);
    });
    let drain_handle = Async::new(&mut lp, move |lp, me| {
        let _ = me.close(lp, |_, _| {});
        drain(lp, server, &draining);
    });
    let publish = Async::new(&mut lp, move |lp, _| {
        let f = figures(lp, server);
        board.publish(me, f);
    });
    let arrived = Async::new(&mut lp, move |lp, _| {
        if let Some(s) = &scrapes {
            s.answer(lp);
        }
    });
    let senders = (|| {
        for h in [publish, arrived] {
            h.unref(&mut lp)?;
        }
        Ok::<_, eddy::event_loop::Error>(WorkerReady {
            shown,
            stop: stop.sender(&mut lp)?,
            drain: drain_handle.sender(&mut lp)?,
            publish: publish.sender(&mut lp)?,
            arrived: arrived.sender(&mut lp)?,
        })
    })()
    .unwrap_or_else(|e| fail(e));
    let _ = ready.send(Ok(senders));
    lp.run(RunMode::Default);
}

/// The address a listening socket is bound to.
fn socket_address(fd: &OwnedFd) -> Option<Address> {
    let tcp = std::net::TcpListener::from(fd.try_clone().ok()?);
    if let Ok(a) = tcp.local_addr() {
        return Some(Address::Ip(a));
    }
    let unix = std::os::unix::net::UnixListener::from(OwnedFd::from(tcp));
    let local = unix.local_addr().ok()?;
    local.as_pathname().map(|p| Address::Unix(p.to_path_buf()))
}

/// Binds what the options ask: one socket per worker for TCP (a
/// SO_REUSEPORT group with `--workers N`), one for a Unix path.
fn bind_sockets(cfg: &Config) -> Vec<OwnedFd> {
    let addr = match &cfg.unix {
        Some(path) => Address::Unix(path.into()),
        None => {
            let ip = cfg.host.trim_matches(|c| c == '[' || c == ']');
            match format!("[{ip}]:{}", cfg.port).parse::<SocketAddr>() {
                Ok(a) => Address::Ip(a),
                Err(_) => eddy::net::resolve_blocking(&format!("{}:{}", cfg.host, cfg.port))
                    .map(Address::Ip)
                    .unwrap_or_else(|e| fail(e)),
            }
        }
    };
    let listen = ListenOptions {
        reuse_port: cfg.workers > 1 && cfg.unix.is_none(),
        ..ListenOptions::default()
    };
    let count = if cfg.unix.is_some() { 1 } else { cfg.workers };
    let mut sockets: Vec<OwnedFd> = Vec::with_capacity(count);
    let mut addr = addr;
    for _ in 0..count {
        let fd = eddy::net::listen_socket(addr.clone(), &listen).unwrap_or_else(|e| fail(e));
        // With port 0, the other workers join the port the kernel chose.
        if let (Address::Ip(a), Some(Address::Ip(real))) = (&mut addr, socket_address(&fd)) {
            a.set_port(real.port());
        }
        sockets.push(fd);
    }
    sockets
}

/// Which sockets each worker serves: every worker listens on every
/// address; the sockets of one address (a SO_REUSEPORT group) are dealt
/// out among the workers, and shared (duplicated) when there are fewer
/// sockets than workers.
fn share_out(sockets: &[OwnedFd], workers: usize) -> Vec<Vec<OwnedFd>> {
    let mut groups: Vec<(Option<Address>, Vec<&OwnedFd>)> = Vec::new();
    for fd in sockets {
        let addr = socket_address(fd);
        match groups.iter_mut().find(|(a, _)| a.is_some() && *a == addr) {
            Some((_, g)) => g.push(fd),
            None => groups.push((addr, vec![fd])),
        }
    }
    let mut shares: Vec<Vec<OwnedFd>> = (0..workers).map(|_| Vec::new()).collect();
    for (_, group) in &groups {
        for (w, share) in shares.iter_mut().enumerate() {
            let mine: Vec<&&OwnedFd> = if group.len() >= workers {
                group.iter().skip(w).step_by(workers).collect()
            } else {
                vec![&group[w % group.len()]]
            };
            for fd in mine {
                share.push(fd.try_clone().unwrap_or_else(|e| fail(format!("dup: {e}"))));
            }
        }
    }
    shares
}

/// Where a SIGUSR2 restart stands.
enum Restart {
    Idle,
    /// The new process runs; we wait for its `READY=1`.
    Starting {
        child: Successor,
        channel: UnixStream,
        io: Io,
        timer: Timer,
        heard: Vec<u8>,
    },
    /// The new process listens; the workers drain.
    HandedOver,
}

/// What the SIGUSR2 handler needs: our binary, arguments and sockets.
struct Restarter {
    exe: PathBuf,
    args: Vec<OsString>,
    sockets: Vec<OwnedFd>,
    drains: Vec<AsyncSender>,
    state: RefCell<Restart>,
}

impl Restarter {
    fn begin(self: &Rc<Self>, lp: &mut Loop) {
        match &*self.state.borrow() {
            Restart::Idle => {}
            Restart::Starting { child, .. } => {
                eprintln!(
                    "eddy-server: restart: pid {} is still starting; SIGUSR2 ignored",
                    child.pid()
                );
                return;
            }
            Restart::HandedOver => {
                eprintln!("eddy-server: restart: already handed over; SIGUSR2 ignored");
                return;
            }
        }
        let (ours, theirs) = match UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => {
                return eprintln!("eddy-server: restart failed: socketpair: {e}; still serving")
            }
        };
        let fds: Vec<_> = self.sockets.iter().map(|s| s.as_fd()).collect();
        let spawned = activation::spawn_with_listeners(
            &self.exe,
            &self.args,
            &fds,
            &[(READY_ENV, theirs.as_fd())],
        );
        drop(theirs);
        let child = match spawned {
            Ok(child) => child,
            Err(e) => return eprintln!("eddy-server: restart failed: {e}; still serving"),
        };
        eprintln!(
            "eddy-server: restart: started {} (pid {}); waiting for it to listen",
            self.exe.display(),
            child.pid()
        );
        let _ = ours.set_nonblocking(true);
        let io = sys::watch(lp, &ours);
        let me = self.clone();
        let watching = io.start(lp, Interest::READABLE, move |lp, _, _| me.heard(lp));
        let timer = Timer::new(lp);
        let me = self.clone();
        let timing = timer.start(lp, RESTART_TIMEOUT_MS, 0, move |lp, _| {
            let why = format!("did not announce READY=1 within {RESTART_TIMEOUT_MS} ms");
            me.give_up(lp, &why);
        });
        *self.state.borrow_mut() = Restart::Starting {
            child,
            channel: ours,
            io,
            timer,
            heard: Vec::new(),
        };
        if let Err(e) = watching.and(timing) {
            self.give_up(lp, &format!("could not watch it: {e}"));
        }
    }

    /// The readiness socket is readable: `READY=1`, or the new process
    /// went away before it listened.
    fn heard(&self, lp: &mut Loop) {
        let closed = {
            let mut state = self.state.borrow_mut();
            let Restart::Starting { channel, heard, .. } = &mut *state else {
                return;
            };
            let mut buf = [0u8; 256];
            match channel.read(&mut buf) {
                Ok(0) => Some("exited before it was listening".to_string()),
                Ok(n) => {
                    heard.extend_from_slice(&buf[..n]);
                    None
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => Some(format!("readiness socket: {e}")),
            }
        };
        if let Some(why) = closed {
            return self.give_up(lp, &why);
        }
        let ready = match &*self.state.borrow() {
            Restart::Starting { heard, .. } => heard.windows(7).any(|w| w == b"READY=1"),
            _ => false,
        };
        if !ready {
            return;
        }
        let Restart::Starting {
            child, io, timer, ..
        } = std::mem::replace(&mut *self.state.borrow_mut(), Restart::HandedOver)
        else {
            return;
        };
        let _ = io.close(lp, |_, _| {});
        let _ = timer.close(lp, |_, _| {});
        eprintln!(
            "eddy-server: restart: pid {} is listening; pid {} stops accepting and drains",
            child.pid(),
            std::process::id()
        );
        for d in &self.drains {
            let _ = d.send();
        }
    }

    /// The new process failed: reap (or kill) it, log why, keep serving.
    fn give_up(&self, lp: &mut Loop, why: &str) {
        let Restart::Starting {
            child, io, timer, ..
        } = std::mem::replace(&mut *self.state.borrow_mut(), Restart::Idle)
        else {
            return;
        };
        let _ = io.close(lp, |_, _| {});
        let _ = timer.close(lp, |_, _| {});
        reap(lp, child, why.to_string());
    }
}

/// Logs a failed restart once `child` is reaped: at once if it has exited,
/// else (it closed the readiness socket and is exiting, or hangs) polled
/// every 5 ms, and killed after 2 s.
fn reap(lp: &mut Loop, child: Successor, why: String) {
    let pid = child.pid();
    let report = move |status: Option<std::process::ExitStatus>| {
        let status = status.map_or(String::new(), |s| format!(" ({s})"));
        eprintln!("eddy-server: restart failed: pid {pid} {why}{status}; still serving");
    };
    if let Ok(Some(status)) = child.try_wait() {
        return report(Some(status));
    }
    let t = Timer::new(lp);
    let mut polls = 0;
    let _ = t.start(lp, 5, 5, move |lp, t| {
        polls += 1;
        let status = match child.try_wait() {
            Ok(Some(s)) => Some(Some(s)),
            Ok(None) if polls < 400 => None,
            Ok(None) => {
                let _ = child.signal(libc::SIGKILL);
                Some(child.wait().ok())
            }
            Err(_) => Some(None),
        };
        if let Some(status) = status {
            report(status);
            let _ = t.close(lp, |_, _| {});
        }
    });
}

fn main() {
    let cfg = parse_args();
    // Before any thread exists: these read and clear the environment.
    let inherited = activation::listen_fds().unwrap_or_else(|e| fail(e));
    let ready_fd = activation::fd_from_env(READY_ENV).unwrap_or_else(|e| fail(e));
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| fail(format!("cannot find this program's binary: {e}")));
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let _ = eddy::net::raise_fd_limit();
    let activated = !inherited.is_empty();
    let sockets = if activated {
        inherited
    } else {
        bind_sockets(&cfg)
    };
    // A Unix path has one listener, served by one worker.
    let workers = if !activated && cfg.unix.is_some() {
        1
    } else {
        cfg.workers
    };
    let board = Arc::new(Board::new(workers));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    let mut readies = Vec::new();
    for (i, share) in share_out(&sockets, workers).into_iter().enumerate() {
        let (worker_cfg, tx, board) = (cfg.clone(), tx.clone(), board.clone());
        threads.push(std::thread::spawn(move || {
            worker(worker_cfg, i, share, board, tx)
        }));
        match rx.recv() {
            Ok(Ok(ready)) => readies.push(ready),
            Ok(Err(e)) => fail(e),
            Err(_) => fail(format!("worker {i} died")),
        }
    }
    let stops: Vec<AsyncSender> = readies.iter().map(|r| r.stop.clone()).collect();
    let _ = board
        .publish
        .set(readies.iter().map(|r| r.publish.clone()).collect());
    let _ = board
        .arrived
        .set(readies.iter().map(|r| r.arrived.clone()).collect());
    let restarter = Rc::new(Restarter {
        exe,
        args,
        sockets,
        drains: readies.iter().map(|r| r.drain.clone()).collect(),
        state: RefCell::new(Restart::Idle),
    });

    // The main thread waits for signals on its own loop, and for the
    // workers to finish (a waiter thread joins them, then wakes the loop).
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
    lp.set_metrics_enabled(false);
    let mut signal_handles = Vec::new();
    let signals = Arc::new(AtomicUsize::new(0));
    for signum in [libc::SIGINT, libc::SIGTERM] {
        let (stops, signals) = (stops.clone(), signals.clone());
        let s = Signal::new(&mut lp);
        s.start(&mut lp, signum, move |_, _, _| {
            if signals.fetch_add(1, Ordering::SeqCst) > 0 {
                std::process::exit(0); // second signal: at once
            }
            for stop in &stops {
                let _ = stop.send();
            }
        })
        .unwrap_or_else(|e| fail(e));
        signal_handles.push(s);
    }
    let usr2 = Signal::new(&mut lp);
    let r = restarter.clone();
    usr2.start(&mut lp, libc::SIGUSR2, move |lp, _, _| r.begin(lp))
        .unwrap_or_else(|e| fail(e));
    signal_handles.push(usr2);
    // Ready only once the signal handlers are in place.
    let mut shown: Vec<&String> = Vec::new();
    for s in readies.iter().flat_map(|r| &r.shown) {
        if !shown.contains(&s) {
            shown.push(s);
        }
    }
    for s in shown {
        println!("eddy-server listening on {s}");
    }
    let _ = std::io::stdout().flush();
    // Started by a restart: tell the old process it can let go.
    let from_handover = ready_fd.is_some();
    if let Some(fd) = ready_fd {
        let _ = UnixStream::from(fd).write_all(b"READY=1\n");
    }
    let all_done = Async::new(&mut lp, move |lp, me| {
        let _ = me.close(lp, |_, _| {});
        for s in &signal_handles {
            let _ = s.close(lp, |_, _| {});
        }
    });
    let done_sender = all_done.sender(&mut lp).unwrap_or_else(|e| fail(e));
    std::thread::spawn(move || {
        for t in threads {
            let _ = t.join();
        }
        let _ = done_sender.send();
    });
    lp.run(RunMode::Default);
    // The socket file is ours to remove unless a successor serves on it,
    // or a supervisor (systemd) made it.
    let handed_over = matches!(*restarter.state.borrow(), Restart::HandedOver);
    if let (Some(path), false) = (&cfg.unix, handed_over || (activated && !from_handover)) {
        let _ = std::fs::remove_file(path);
    }
}
