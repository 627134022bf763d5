//! `eddy-server` as a black box: its ready line, routes, flags, and
//! graceful shutdown on SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

mod common;

struct Running {
    inner: common::Running,
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
    Running { inner, port }
}

fn request(port: u16, raw: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn routes_answer_as_specified() {
    let srv = start(&[]);
    let p = srv.port;
    let hello = request(p, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert!(
        hello.starts_with(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: "
        ),
        "{hello}"
    );
    assert!(
        hello.contains("\r\nServer: eddy\r\n") && hello.ends_with("\r\n\r\nHello, World!"),
        "{hello}"
    );

    let echo = request(
        p,
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde",
    );
    assert!(echo.ends_with("\r\n\r\nabcde"), "{echo}");

    // Pipelined: the slow one first, still answered first.
    let both = request(
        p,
        "GET /delay?ms=50 HTTP/1.1\r\nHost: a\r\n\r\nGET /delay?ms=0 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let first = both.find("waited 50 ms").unwrap();
    let second = both.find("waited 0 ms").unwrap();
    assert!(first < second, "{both}");

    let stream = request(
        p,
        "GET /stream?chunks=3&size=5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(
        stream.ends_with("5\r\nxxxxx\r\n5\r\nxxxxx\r\n5\r\nxxxxx\r\n0\r\n\r\n"),
        "{stream}"
    );

    let headers = request(p, "GET /headers HTTP/1.1\r\nHost: a\r\nX-First: 1\r\nx-second: 2\r\nConnection: close\r\n\r\n");
    assert!(
        headers.ends_with("Host: a\nX-First: 1\nx-second: 2\nConnection: close\n"),
        "{headers}"
    );

    let missing = request(
        p,
        "GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    let wrong = request(
        p,
        "DELETE /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(
        wrong.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")
            && wrong.contains("Allow: POST, PUT\r\n"),
        "{wrong}"
    );
}

#[test]
fn sigterm_lets_an_in_flight_response_finish_then_exits_zero() {
    let mut srv = start(&["--workers", "2"]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /delay?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Wait until the request is in flight: the server has read it once a
    // second connection is answered (same worker or the other).
    let quick = request(
        srv.port,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(quick.ends_with("Hello, World!"));
    let pid = srv.inner.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.ends_with("waited 300 ms"), "{out}");
    assert!(out.contains("Connection: close\r\n"), "{out}");
    let status = srv.inner.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_lists_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_eddy-server"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--host",
        "--port",
        "--unix",
        "--workers",
        "--access-log",
        "--headers-timeout",
        "--request-timeout",
        "--keep-alive-timeout",
        "--max-header-size",
        "--max-body-size",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn max_body_size_flag_limits_uploads() {
    let srv = start(&["--max-body-size", "10"]);
    let out = request(
        srv.port,
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n01234567890",
    );
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{out}"
    );
}
