//! `eddy-server`: the sample HTTP server linking the whole stack.
//!
//!     cargo run --release -- [--host 127.0.0.1] [--port 8080] [--unix PATH]
//!         [--workers N] [--access-log] [--headers-timeout MS]
//!         [--request-timeout MS] [--keep-alive-timeout MS]
//!         [--max-header-size BYTES] [--max-body-size BYTES]
//!
//! Routes: `GET /` (Hello, World!), `POST|PUT /echo` (the body streamed
//! back), `GET /delay?ms=N`, `GET /stream?chunks=N&size=B`, `GET /headers`;
//! anything else 404, a wrong method on a known path 405.
//!
//! SIGINT/SIGTERM: graceful shutdown (stop accepting, finish in-flight
//! responses, at most 10 s), exit 0; a second signal exits at once.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eddy::event_loop::{Async, AsyncSender, Handle, Signal, Timer};
use eddy::http::parser::Method;
use eddy::http::server::{Request, Response, Server, ServerOptions};
use eddy::net::{Address, ListenOptions};
use eddy::{Loop, RunMode};

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
  -h, --help                  this text";

const GRACE_MS: u64 = 10_000;

#[derive(Clone)]
struct Config {
    host: String,
    port: u16,
    unix: Option<String>,
    workers: usize,
    access_log: bool,
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

/// N chunks of B bytes, each written when the socket has drained.
fn stream(lp: &mut Loop, req: Request, res: Response) {
    let q = req.query(lp);
    let chunks = query_param(q, "chunks").unwrap_or(10);
    let size = query_param(q, "size").unwrap_or(1024).min(16 << 20) as usize;
    let _ = res.set_header(lp, "Content-Type", "application/octet-stream");
    let _ = res.set_header(lp, "Server", "eddy");
    let block = std::rc::Rc::new(vec![b'x'; size]);
    let sent = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let pump = move |lp: &mut Loop| {
        while sent.get() < chunks {
            sent.set(sent.get() + 1);
            match res.write(lp, &block) {
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
}

fn route(lp: &mut Loop, req: Request, res: Response, access_log: bool, date: &mut String) {
    let method = req.method(lp).unwrap_or(Method::Get);
    if access_log {
        println!("{} {}", method.as_str(), req.target(lp).unwrap_or(""));
    }
    let found = match req.path(lp).unwrap_or("") {
        "/" => Route::Hello,
        "/echo" => Route::Echo,
        "/delay" => Route::Delay,
        "/stream" => Route::Stream,
        "/headers" => Route::Headers,
        _ => return plain(lp, res, 404, "not found\n"),
    };
    let allowed: &[Method] = match found {
        Route::Echo => &[Method::Post, Method::Put],
        _ => &[Method::Get, Method::Head],
    };
    if !allowed.contains(&method) {
        let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        let _ = res.set_header(lp, "Allow", &allow.join(", "));
        return plain(lp, res, 405, "method not allowed\n");
    }
    match found {
        Route::Hello => hello(lp, res, date),
        Route::Echo => echo(lp, req, res),
        Route::Delay => delay(lp, req, res),
        Route::Stream => stream(lp, req, res),
        Route::Headers => headers(lp, req, res),
    }
}

/// One worker: a loop, a server, and an async handle for shutdown.
fn worker(cfg: Config, ready: std::sync::mpsc::Sender<Result<(String, AsyncSender), String>>) {
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
    let access_log = cfg.access_log;
    let mut date = String::new();
    let server = Server::new(&mut lp, cfg.opts.clone(), move |lp, req, res| {
        route(lp, req, res, access_log, &mut date)
    });
    let addr = match &cfg.unix {
        Some(path) => Address::Unix(path.into()),
        None => {
            let ip = cfg.host.trim_matches(|c| c == '[' || c == ']');
            match format!("[{ip}]:{}", cfg.port).parse::<SocketAddr>() {
                Ok(a) => Address::Ip(a),
                Err(_) => {
                    match eddy::net::resolve_blocking(&format!("{}:{}", cfg.host, cfg.port)) {
                        Ok(a) => Address::Ip(a),
                        Err(e) => {
                            let _ = ready.send(Err(e.to_string()));
                            return;
                        }
                    }
                }
            }
        }
    };
    let listen = ListenOptions {
        reuse_port: cfg.workers > 1 && cfg.unix.is_none(),
        ..ListenOptions::default()
    };
    let bound = match server.listen_with(&mut lp, addr, &listen) {
        Ok(a) => a,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let shown = match &bound {
        Address::Ip(a) => format!("http://{a}"),
        Address::Unix(p) => p.display().to_string(),
    };
    let stop = Async::new(&mut lp, move |lp, me| {
        let _ = me.close(lp, |_, _| {});
        let _ = server.close(lp, |lp| lp.stop());
        // In-flight responses get GRACE_MS to finish.
        let t = Timer::new(lp);
        let _ = t.start(lp, GRACE_MS, 0, move |lp, _| {
            let _ = server.close_all_connections(lp);
            lp.stop();
        });
        let _ = t.unref(lp);
    });
    let sender = stop.sender(&mut lp).unwrap_or_else(|e| fail(e));
    let _ = ready.send(Ok((shown, sender)));
    lp.run(RunMode::Default);
}

fn main() {
    let cfg = parse_args();
    let _ = eddy::net::raise_fd_limit();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    let mut stops = Vec::new();
    let mut shown = String::new();
    for i in 0..cfg.workers {
        let (worker_cfg, tx) = (cfg.clone(), tx.clone());
        threads.push(std::thread::spawn(move || worker(worker_cfg, tx)));
        match rx.recv() {
            Ok(Ok((addr, stop))) => {
                shown = addr;
                stops.push(stop);
            }
            Ok(Err(e)) => fail(e),
            Err(_) => fail(format!("worker {i} died")),
        }
        if cfg.unix.is_some() {
            break; // a Unix path has one listener
        }
    }

    // The main thread waits for signals on its own loop, and for the
    // workers to finish (a waiter thread joins them, then wakes the loop).
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
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
    // Ready only once the signal handlers are in place.
    println!("eddy-server listening on {shown}");
    let _ = std::io::stdout().flush();
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
    if let Some(path) = &cfg.unix {
        let _ = std::fs::remove_file(path);
    }
}
