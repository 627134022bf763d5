//! The server with real clients: curl, python's http.client and node's
//! http Agent; plus half-close and Upgrade without a handler.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::{Command, Stdio};

use common::TestServer;
use eddy_http::server::{Request, Response, ServerOptions};
use eddy_loop::Loop;

fn route(lp: &mut Loop, req: Request, res: Response) {
    match req.path(lp).unwrap_or("") {
        "/echo" => common::echo(lp, req, res),
        "/chunks" => {
            for i in 0..5 {
                res.write(lp, format!("chunk {i}\n").as_bytes()).unwrap();
            }
            res.end(lp, b"done\n").unwrap();
        }
        path => {
            let body = format!("you asked for {path}\n");
            res.set_header(lp, "Content-Type", "text/plain").unwrap();
            res.end(lp, body.as_bytes()).unwrap();
        }
    }
}

fn curl(args: &[&str], stdin: Option<&[u8]>) -> (Vec<u8>, String) {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl is installed (CI installs it)");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.map(|d| d.to_vec());
    let feeder = std::thread::spawn(move || {
        if let Some(d) = data {
            let _ = input.write_all(&d);
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn curl_reuses_one_connection_for_three_urls() {
    let server = TestServer::start(ServerOptions::default(), route);
    let (out, err) = curl(
        &[
            "-v",
            &server.url("/a"),
            &server.url("/b"),
            &server.url("/c"),
        ],
        None,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "you asked for /a\nyou asked for /b\nyou asked for /c\n"
    );
    assert_eq!(
        err.matches("Re-using existing connection").count(),
        2,
        "{err}"
    );
}

#[test]
fn curl_chunked_upload_from_stdin_is_echoed() {
    let server = TestServer::start(ServerOptions::default(), route);
    let body = payload(300_000);
    let (out, _) = curl(
        &["-T", "-", "-X", "POST", &server.url("/echo")],
        Some(&body),
    );
    assert_eq!(out, body);
}

#[test]
fn curl_4_mib_upload_with_expect_100_continue() {
    let server = TestServer::start(ServerOptions::default(), route);
    let body = payload(4 << 20);
    let path = std::env::temp_dir().join(format!("eddy-upload-{}.bin", std::process::id()));
    std::fs::write(&path, &body).unwrap();
    let file = format!("@{}", path.display());
    let (out, err) = curl(
        &[
            "-v",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            &file,
            &server.url("/echo"),
        ],
        None,
    );
    let _ = std::fs::remove_file(&path);
    assert!(err.contains("HTTP/1.1 100 Continue"), "{err}");
    assert_eq!(out.len(), body.len());
    assert!(out == body);
}

#[test]
fn curl_head_and_http_1_0() {
    let server = TestServer::start(ServerOptions::default(), route);
    let (out, _) = curl(&["-I", &server.url("/x")], None);
    let head = String::from_utf8(out).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain\r\n"));
    let (out, err) = curl(&["-v", "--http1.0", &server.url("/old")], None);
    assert_eq!(out, b"you asked for /old\n");
    assert!(err.contains("> GET /old HTTP/1.0"), "{err}");
    assert!(err.contains("< Connection: close"), "{err}");
}

#[test]
fn python_http_client_keep_alive_and_a_chunked_response() {
    let server = TestServer::start(ServerOptions::default(), route);
    let script = format!(
        r#"
import http.client
c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=30)
c.request("GET", "/one"); r = c.getresponse(); a = r.read()
sock = c.sock
c.request("GET", "/chunks"); r = c.getresponse(); b = r.read()
assert c.sock is sock, "connection was not kept alive"
assert r.getheader("Transfer-Encoding") == "chunked"
print(a.decode() + b.decode(), end="")
"#,
        port = server.port
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "you asked for /one\nchunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\ndone\n"
    );
}

#[test]
fn node_http_agent_with_4_keep_alive_sockets_makes_2000_requests() {
    let server = TestServer::start(ServerOptions::default(), route);
    let script = format!(
        r#"
const http = require("http");
const agent = new http.Agent({{ keepAlive: true, maxSockets: 4 }});
const sockets = new Set();
let done = 0, failed = 0;
for (let i = 0; i < 2000; i++) {{
  http.get({{ host: "127.0.0.1", port: {port}, path: "/n" + i, agent }}, (res) => {{
    sockets.add(res.socket);
    let body = "";
    res.on("data", (d) => body += d);
    res.on("end", () => {{
      if (body !== "you asked for /n" + i + "\n") failed++;
      if (++done === 2000) {{ console.log(done, failed, sockets.size); agent.destroy(); }}
    }});
  }}).on("error", (e) => {{ console.error(e); process.exit(1); }});
}}
"#,
        port = server.port
    );
    let out = Command::new("node").args(["-e", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<usize> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields[0], 2000, "{text}");
    assert_eq!(fields[1], 0, "mismatched bodies: {text}");
    assert!(fields[2] <= 4, "more than 4 sockets: {text}");
}

#[test]
fn a_client_that_half_closes_gets_every_response_then_eof() {
    let server = TestServer::start(ServerOptions::default(), route);
    let mut s = server.connect();
    s.write_all(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("you asked for /first\n"), "{out}");
    assert!(out.ends_with("5\r\nhello\r\n0\r\n\r\n"), "{out}");
}

#[test]
fn upgrade_without_a_handler_is_served_as_an_ordinary_request() {
    // With the opt-in "ignore and go on" (RFC 9110); by default nothing
    // after it is parsed (server_issue13.rs).
    let opts = ServerOptions {
        continue_after_ignored_upgrade: true,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, route);
    let out = common::exchange_until_close(
        &server,
        b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("you asked for /ws\n"), "{out}");
    assert!(out.contains("you asked for /next\n"), "{out}");
}
