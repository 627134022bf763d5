//! The example programs, run as black boxes the way people and outside
//! checks use them: `echo` and `tcpcat` (eddy-net), `connect_proxy`,
//! `upgrade`, `get`, `proxy` and `api` (eddy-http).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// An example binary built by `cargo test` next to this test's own.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: `cargo test` builds the examples, `cargo test --test examples` alone does not (run `cargo build --examples` first)",
        path.display()
    );
    path
}

mod common;

type Server = common::Running;

/// Starts `echo` with `args` and waits for its `listening on ADDR` line.
fn start_echo(args: &[&str]) -> Server {
    common::start(&example("echo"), args, "listening on ")
}

#[test]
fn echo_echoes_and_finishes_after_the_client_half_closes() {
    let server = start_echo(&["--port", "0"]);
    let mut c = TcpStream::connect(&server.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let writer = {
        let mut c = c.try_clone().unwrap();
        let payload = payload.clone();
        std::thread::spawn(move || {
            c.write_all(&payload).unwrap();
            c.shutdown(Shutdown::Write).unwrap();
        })
    };
    let mut echoed = Vec::new();
    // read_to_end returns at the server's EOF: it closed after echoing all.
    c.read_to_end(&mut echoed).unwrap();
    writer.join().unwrap();
    assert_eq!(echoed, payload);
}

#[test]
fn echo_exits_cleanly_on_sigterm() {
    let mut server = start_echo(&["--host", "127.0.0.1", "--port", "0"]);
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn echo_listens_on_a_unix_path() {
    let path = std::env::temp_dir().join(format!("eddy-example-echo-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = start_echo(&["--unix", path.to_str().unwrap()]);
    assert_eq!(server.addr, path.to_str().unwrap());
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    c.write_all(b"unix").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "unix");
}

#[test]
fn tcpcat_talks_to_echo_and_exits_zero_when_the_peer_closes() {
    let server = start_echo(&["--port", "0"]);
    let (host, port) = server.addr.rsplit_once(':').unwrap();
    let mut cat = Command::new(example("tcpcat"))
        .args([host, port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cat.stdin
        .take()
        .unwrap()
        .write_all(b"through tcpcat\n")
        .unwrap();
    // stdin closed: tcpcat shuts down its side, echo finishes and closes.
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(out.stdout, b"through tcpcat\n");
}

#[test]
fn tcpcat_reports_a_refused_connection() {
    let out = Command::new(example("tcpcat"))
        .args(["127.0.0.1", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("connect 127.0.0.1:1: Connection refused"),
        "{stderr}"
    );
}

/// Starts an example that prints `... listening on http://ADDR` first.
fn start_http_example(name: &str, port_arg: &str) -> Server {
    common::start(&example(name), &[port_arg], "listening on http://")
}

#[test]
fn connect_proxy_tunnels_to_an_echo_server() {
    let echo = start_echo(&["--port", "0"]);
    let proxy = start_http_example("connect_proxy", "0");
    let mut c = TcpStream::connect(&proxy.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\nping", echo.addr).as_bytes())
        .unwrap();
    let expected = b"HTTP/1.1 200 Connection Established\r\n\r\nping";
    let mut got = vec![0u8; expected.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
}

#[test]
fn upgrade_switches_to_line_echo() {
    let server = start_http_example("upgrade", "0");
    let mut c = TcpStream::connect(&server.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: line-echo\r\n\r\nhi\n",
    )
    .unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{out}"
    );
    assert!(out.ends_with("\r\n\r\nhi\n"), "{out}");
}

/// `eddy-server` on a free port, as the peer of `get`.
fn start_eddy_server() -> Server {
    common::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_eddy-server")),
        &["--port", "0"],
        "eddy-server listening on http://",
    )
}

fn run_get(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(example("get"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn get_prints_the_body_and_with_include_the_head() {
    let server = start_eddy_server();
    let url = format!("http://{}/", server.addr);
    let (ok, out, _) = run_get(&[&url]);
    assert!(ok);
    assert_eq!(out, "Hello, World!");
    let (ok, out, _) = run_get(&["--include", &url]);
    assert!(ok);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\r\nServer: eddy\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nHello, World!"), "{out}");
}

#[test]
fn get_sends_data_methods_and_headers() {
    let server = start_eddy_server();
    let echo = format!("http://{}/echo", server.addr);
    let (ok, out, _) = run_get(&["-d", "some data", &echo]);
    assert!(ok);
    assert_eq!(out, "some data");
    let file = std::env::temp_dir().join(format!("eddy-get-{}.bin", std::process::id()));
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &payload).unwrap();
    let out = Command::new(example("get"))
        .args(["-X", "PUT", "--data-file", file.to_str().unwrap(), &echo])
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(out.status.success());
    assert!(out.stdout == payload, "the echo differs");
    let headers = format!("http://{}/headers", server.addr);
    let (ok, out, _) = run_get(&["-H", "X-Test: one two", &headers]);
    assert!(ok);
    assert!(out.contains("X-Test: one two"), "{out}");
    let (ok, out, _) = run_get(&["-X", "DELETE", "--include", &headers]);
    assert!(ok);
    assert!(out.starts_with("HTTP/1.1 405 "), "{out}");
}

#[test]
fn get_repeat_uses_one_keep_alive_connection() {
    let server = start_eddy_server();
    let url = format!("http://{}/", server.addr);
    let (ok, out, err) = run_get(&["--repeat", "5", &url]);
    assert!(ok, "{err}");
    assert_eq!(out, "Hello, World!".repeat(5));
    assert!(
        err.contains("5 requests, 1 TCP connections opened"),
        "{err}"
    );
}

#[test]
fn get_fails_on_connection_and_protocol_errors() {
    let (ok, _, err) = run_get(&["http://127.0.0.1:1/"]);
    assert!(!ok);
    assert!(
        err.contains("connect 127.0.0.1:1: Connection refused"),
        "{err}"
    );
    // A server that answers garbage.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"SMTP ready\r\n\r\n");
    });
    let (ok, _, err) = run_get(&[&format!("http://127.0.0.1:{port}/")]);
    t.join().unwrap();
    assert!(!ok);
    assert!(err.contains("invalid response"), "{err}");
    let (ok, _, err) = run_get(&["ftp://x/"]);
    assert!(!ok);
    assert!(err.contains("invalid url"), "{err}");
}

/// A one-shot raw upstream: answers the first request with its own head
/// as the body, and a Latin-1 header.
fn raw_upstream() -> (u16, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).unwrap(), 1);
            head.push(b[0]);
        }
        let mut answer = format!(
            "HTTP/1.1 200 Fine Thanks\r\nX-Latin: caf\u{e9}\r\nContent-Length: {}\r\n\r\n",
            head.len()
        )
        .into_bytes();
        // The header value in Latin-1, not UTF-8.
        let at = answer
            .windows(2)
            .position(|w| w == "\u{e9}".as_bytes())
            .unwrap();
        answer.splice(at..at + 2, [0xE9]);
        answer.extend_from_slice(&head);
        s.write_all(&answer).unwrap();
    });
    (port, t)
}

#[test]
fn proxy_forwards_byte_exact_and_answers_502_when_the_upstream_is_down() {
    let (up, t) = raw_upstream();
    let upstream = format!("http://127.0.0.1:{up}");
    let proxy = common::start(
        &example("proxy"),
        &["--port", "0", "--upstream", &upstream],
        "proxy listening on http://",
    );
    let mut c = TcpStream::connect(&proxy.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /p?q=1 HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xE9\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let has = |n: &[u8]| all.windows(n.len()).any(|w| w == n);
    let show = String::from_utf8_lossy(&all).into_owned();
    assert!(all.starts_with(b"HTTP/1.1 200 Fine Thanks\r\n"), "{show}");
    assert!(has(b"\r\nX-Latin: caf\xE9\r\n"), "{show}");
    assert!(has(b"GET /p?q=1 HTTP/1.1\r\n"), "{show}");
    assert!(has(b"X-Forwarded-For: 127.0.0.1\r\n"), "{show}");
    assert!(!has(b"X-Hop"), "hop-by-hop forwarded: {show}");
    t.join().unwrap();

    // The upstream is gone now: 502.
    let mut c = TcpStream::connect(&proxy.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all).into_owned();
    assert!(text.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{text}");
}

/// One request to the `api` example on a fresh connection that closes
/// after it: (status, body).
fn api_call(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let text = String::from_utf8(all).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_string())
}

#[test]
fn api_creates_lists_reads_and_deletes_notes() {
    let api = common::start(
        &example("api"),
        &["--port", "0"],
        "api listening on http://",
    );
    let a = &api.addr;
    assert_eq!(api_call(a, "GET", "/notes", ""), (200, "[]".into()));
    let (status, body) = api_call(a, "POST", "/notes", r#"{"text":"caf\u00e9"}"#);
    assert_eq!((status, body.as_str()), (201, r#"{"id":1,"text":"café"}"#));
    let (status, body) = api_call(a, "POST", "/notes", r#"{"text":"two"}"#);
    assert_eq!((status, body.as_str()), (201, r#"{"id":2,"text":"two"}"#));
    let (status, body) = api_call(a, "GET", "/notes", "");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"[{"id":1,"text":"café"},{"id":2,"text":"two"}]"#)
    );
    assert_eq!(api_call(a, "GET", "/notes/2", "").0, 200);
    assert_eq!(api_call(a, "DELETE", "/notes/2", ""), (204, String::new()));
    assert_eq!(api_call(a, "GET", "/notes/2", "").0, 404);
    assert_eq!(api_call(a, "DELETE", "/notes/2", "").0, 404);
    assert_eq!(api_call(a, "POST", "/notes", "[1]").0, 400);
    assert_eq!(api_call(a, "POST", "/notes", "{not json").0, 400);
    assert_eq!(api_call(a, "PUT", "/notes", "").0, 404);
    // Past the collector's limit: 413 from the server, nothing stored.
    // (Only the head is sent: the answer comes before the body, and
    // writing the body into a closing connection could meet a reset.)
    let mut c = TcpStream::connect(a).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    assert!(all.starts_with(b"HTTP/1.1 413 "), "{all:?}");
    let (_, body) = api_call(a, "GET", "/notes", "");
    assert_eq!(body, r#"[{"id":1,"text":"café"}]"#);
}
