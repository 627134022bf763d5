//! More of the server's surface: aborted requests, 103 Early Hints,
//! response trailers, the socket and request timeouts, Unix listeners,
//! Node's rules for duplicate request headers.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use common::{exchange_until_close, TestServer};
use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Loop, RunMode};

static ABORTED: Mutex<Option<mpsc::Sender<String>>> = Mutex::new(None);

fn wait_for_body(lp: &mut Loop, req: Request, _res: Response) {
    req.on_aborted(lp, |lp, req| {
        let target = req.target(lp).unwrap_or("?").to_string();
        if let Some(tx) = ABORTED.lock().unwrap().as_ref() {
            let _ = tx.send(target);
        }
    })
    .unwrap();
}

#[test]
fn a_client_leaving_mid_body_aborts_the_request() {
    let (tx, rx) = mpsc::channel();
    *ABORTED.lock().unwrap() = Some(tx);
    let server = TestServer::start(ServerOptions::default(), wait_for_body);
    let mut s = server.connect();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part")
        .unwrap();
    drop(s);
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), "/upload");
}

fn hints_and_trailers(lp: &mut Loop, _req: Request, res: Response) {
    res.write_early_hints(lp, &["</style.css>; rel=preload; as=style"])
        .unwrap();
    res.add_trailers(lp, &[("X-Checksum", "abc123")]).unwrap();
    assert!(res.add_trailers(lp, &[("Bad\nName", "v")]).is_err());
    res.write(lp, b"body").unwrap();
    res.end(lp, b"").unwrap();
}

#[test]
fn early_hints_then_a_chunked_response_with_trailers() {
    let server = TestServer::start(ServerOptions::default(), hints_and_trailers);
    let out = exchange_until_close(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{out}"
    );
    assert!(
        out.ends_with("\r\n\r\n4\r\nbody\r\n0\r\nX-Checksum: abc123\r\n\r\n"),
        "{out}"
    );
}

#[test]
fn the_socket_idle_timeout_closes_a_silent_connection() {
    let opts = ServerOptions {
        timeout_ms: 150,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, common::hello);
    let mut s = server.connect();
    let mut out = Vec::new();
    // Nothing sent: the server closes after 150 ms of silence.
    s.read_to_end(&mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn a_body_that_takes_too_long_gets_408() {
    let opts = ServerOptions {
        request_timeout_ms: 200,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, wait_for_body);
    let out = exchange_until_close(
        &server,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    );
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
}

fn joined(lp: &mut Loop, req: Request, res: Response) {
    let body = format!(
        "cookie={:?} accept={:?} host={:?}",
        req.header_joined(lp, "cookie").unwrap(),
        req.header_joined(lp, "ACCEPT").unwrap(),
        req.header_joined(lp, "host").unwrap(),
    );
    let raw_names: Vec<String> = req
        .headers(lp)
        .unwrap()
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
        .collect();
    res.set_header(lp, "X-Names", raw_names.join(",")).unwrap();
    res.end(lp, body.as_bytes()).unwrap();
}

#[test]
fn duplicate_headers_follow_nodes_rules_and_raw_case_is_kept() {
    let server = TestServer::start(ServerOptions::default(), joined);
    let out = exchange_until_close(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1\r\ncookie: y=2\r\nAccept: text/html\r\nAccept: */*\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.contains("X-Names: Host,Cookie,cookie,Accept,Accept,Connection\r\n"),
        "{out}"
    );
    assert!(
        out.ends_with("cookie=\"x=1; y=2\" accept=\"text/html, */*\" host=\"a\""),
        "{out}"
    );
}

#[test]
fn a_server_listens_on_a_unix_path() {
    let path = std::env::temp_dir().join(format!("eddy-http-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let p = path.clone();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        // Serve one request, then close the server.
        let me: std::rc::Rc<std::cell::Cell<Option<Server>>> = Default::default();
        let m = me.clone();
        let server = Server::new(&mut lp, ServerOptions::default(), move |lp, _req, res| {
            res.end(lp, b"over unix").unwrap();
            m.get().unwrap().close(lp, |_| {}).unwrap();
        });
        me.set(Some(server));
        server.listen(&mut lp, eddy_net::Address::Unix(p)).unwrap();
        tx.send(()).unwrap();
        lp.run(RunMode::Default);
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("over unix"),
        "{out}"
    );
    drop(c); // our FIN ends the server's linger
    thread.join().unwrap();
}
