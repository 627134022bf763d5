//! `eddy-server` as a black box for issue 13: absolute-form targets reach
//! the routes, unread bodies are drained, an unhonoured Upgrade closes,
//! and `--send-timeout` / `--min-body-rate` cut off stalled peers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

mod common;

struct Running {
    _inner: common::Running,
    port: u16,
}

fn start(args: &[&str]) -> Running {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    let inner = common::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_eddy-server")),
        &all,
        "eddy-server listening on http://",
    );
    let port = inner.addr.rsplit_once(':').unwrap().1.parse().unwrap();
    Running {
        _inner: inner,
        port,
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn until_close(port: u16, raw: &[u8]) -> String {
    let mut s = connect(port);
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn absolute_form_targets_reach_the_routes() {
    let srv = start(&[]);
    let out = until_close(
        srv.port,
        b"GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("Hello, World!"), "{out}");
    let out = until_close(
        srv.port,
        b"GET http://x:8080/stream?chunks=2&size=3 HTTP/1.1\r\nHost: y\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("3\r\nxxx\r\n3\r\nxxx\r\n0\r\n\r\n"), "{out}");
}

#[test]
fn a_small_unread_body_keeps_the_connection_and_an_unhonoured_upgrade_closes_it() {
    let srv = start(&[]);
    let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 31\r\n\r\n".to_vec();
    raw.extend_from_slice(&[b'a'; 31]);
    raw.extend_from_slice(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /smug HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let out = until_close(srv.port, &raw);
    // Two answers: the GET (kept alive), the Upgrade request (close);
    // `/smug` is never parsed.
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{out}");
    assert!(!out.contains("404"), "{out}");
    let (first, second) = out.split_at(out.rfind("HTTP/1.1 200").unwrap());
    assert!(first.contains("Connection: keep-alive\r\n"), "{out}");
    assert!(second.contains("Connection: close\r\n"), "{out}");
}

/// The open connections `/metrics` reports (the scrape's own included).
fn open_connections(port: u16) -> usize {
    let out = until_close(
        port,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    out.lines()
        .filter(|l| l.starts_with("eddy_server_connections"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as usize)
        .sum()
}

/// Waits (bounded) until `/metrics` reports `n` connections besides its own.
fn wait_connections(port: u16, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while open_connections(port) != n + 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "never {n} connections"
        );
    }
}

#[test]
fn send_timeout_closes_a_stream_nobody_reads() {
    let srv = start(&["--send-timeout", "300", "--metrics"]);
    let mut s = connect(srv.port);
    s.write_all(b"GET /stream?chunks=1000&size=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_connections(srv.port, 1);
    // Never read: cut off by the send timeout.
    wait_connections(srv.port, 0);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.len() < 1000 * 65536, "{} bytes: not cut off", out.len());
}

#[test]
fn min_body_rate_refuses_a_stalled_upload() {
    // The flag's grace period and windows are 5 s each.
    let srv = start(&["--min-body-rate", "100"]);
    let mut s = connect(srv.port);
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
        .unwrap();
    let mut out = Vec::new();
    // The server closes (an EOF, well before the 30 s read timeout and
    // the 300 s request timeout).
    s.read_to_end(&mut out).expect("closed by the server");
    let out = String::from_utf8_lossy(&out);
    // The echo had begun its response (with the request's length): it
    // is cut off there.
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nabc"), "{out}");
}
