//! A tiny curl on eddy's HTTP client.
//!
//!     cargo run --release --example get -- [-X METHOD] [-H 'Name: value']...
//!         [-d DATA | --data-file PATH] [--repeat N] [--include] URL
//!
//! Prints the response body on stdout (with `--include`, the status line
//! and headers first). With `--repeat N` it makes N requests one after the
//! other through one keep-alive Agent and prints, on stderr, how many TCP
//! connections it opened. A connection or protocol error exits non-zero
//! with the message; an HTTP error status does not.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use eddy::http::client::{request, Agent, AgentChoice, AgentOptions, RequestOptions};
use eddy::{Loop, RunMode};

fn usage() -> ! {
    eprintln!(
        "usage: get [-X METHOD] [-H 'Name: value']... [-d DATA | --data-file PATH] \
         [--repeat N] [--include] URL"
    );
    std::process::exit(2);
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("get: {msg}");
    std::process::exit(1);
}

struct Args {
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<Vec<u8>>,
    repeat: u32,
    include: bool,
    url: String,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        method: None,
        headers: Vec::new(),
        data: None,
        repeat: 1,
        include: false,
        url: String::new(),
    };
    let mut url = None;
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "-X" | "--request" => a.method = Some(value()),
            "-H" | "--header" => {
                let h = value();
                let Some((n, v)) = h.split_once(':') else {
                    fail(format!("bad header {h:?} (want 'Name: value')"))
                };
                a.headers.push((n.trim().to_string(), v.trim().to_string()));
            }
            "-d" | "--data" => a.data = Some(value().into_bytes()),
            "--data-file" => {
                let path = value();
                let bytes = std::fs::read(&path).unwrap_or_else(|e| fail(format!("{path}: {e}")));
                a.data = Some(bytes);
            }
            "--repeat" => {
                a.repeat = value().parse().unwrap_or_else(|_| usage());
            }
            "-i" | "--include" => a.include = true,
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            _ if url.is_none() => url = Some(arg),
            _ => usage(),
        }
    }
    a.url = url.unwrap_or_else(|| usage());
    a
}

/// Runs one more request, then the next from its close.
fn run_one(
    lp: &mut Loop,
    args: Rc<Args>,
    agent: Agent,
    made: Rc<Cell<u32>>,
    failed: Rc<Cell<bool>>,
) {
    made.set(made.get() + 1);
    let mut opts = RequestOptions::from_url(&args.url).unwrap_or_else(|e| fail(e));
    opts.agent = AgentChoice::Use(agent);
    opts.headers = args.headers.clone();
    opts.method = match (&args.method, &args.data) {
        (Some(m), _) => m.clone(),
        (None, Some(_)) => "POST".into(),
        (None, None) => "GET".into(),
    };
    let include = args.include;
    let req = request(lp, opts, move |lp, res| {
        if include {
            let mut head = Vec::new();
            let (major, minor) = res.version(lp).unwrap_or((1, 1));
            let status = res.status(lp).unwrap_or(0);
            head.extend_from_slice(format!("HTTP/{major}.{minor} {status} ").as_bytes());
            head.extend_from_slice(res.reason(lp).unwrap_or_default());
            head.extend_from_slice(b"\r\n");
            if let Some(headers) = res.headers(lp) {
                for (n, v) in headers.iter() {
                    head.extend_from_slice(n);
                    head.extend_from_slice(b": ");
                    head.extend_from_slice(v);
                    head.extend_from_slice(b"\r\n");
                }
            }
            head.extend_from_slice(b"\r\n");
            let _ = std::io::stdout().write_all(&head);
        }
        let _ = res.on_data(lp, |_, _, chunk| {
            if std::io::stdout().write_all(chunk).is_err() {
                std::process::exit(1);
            }
        });
    })
    .unwrap_or_else(|e| fail(e));
    let f = failed.clone();
    req.on_error(lp, move |_, _, e| {
        eprintln!("get: {e}");
        f.set(true);
    })
    .unwrap();
    let next = args.clone();
    req.on_close(lp, move |lp, _, _| {
        if !failed.get() && made.get() < next.repeat {
            run_one(lp, next, agent, made, failed);
        }
    })
    .unwrap();
    req.end(lp, args.data.as_deref().unwrap_or(&[]))
        .unwrap_or_else(|e| fail(e));
}

fn main() {
    let args = Rc::new(parse_args());
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            ..AgentOptions::default()
        },
    );
    let failed = Rc::new(Cell::new(false));
    let made = Rc::new(Cell::new(0u32));
    run_one(&mut lp, args.clone(), agent, made.clone(), failed.clone());
    lp.run(RunMode::Default);
    let _ = std::io::stdout().flush();
    if args.repeat > 1 {
        eprintln!(
            "get: {} requests, {} TCP connections opened",
            made.get(),
            agent.sockets_created(&lp)
        );
    }
    if failed.get() {
        std::process::exit(1);
    }
}
