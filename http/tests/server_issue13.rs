//! Issue 13's server-side fixes, over real loopback sockets: HTTP/1.0
//! expectations ignored, absolute-form targets, unread bodies drained
//! within a bound, an unhonoured Upgrade closing, and the send timeout
//! and minimum body rate.

mod common;

use std::io::{Read, Write};

use common::{exchange_until_close, read_response, TestServer};
use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::Loop;

/// Answers with the request's method, path, query, raw target and
/// authority, one per line.
fn describe(lp: &mut Loop, req: Request, res: Response) {
    let body = format!(
        "path={:?}\nquery={:?}\ntarget={:?}\nauthority={:?}\n",
        req.path(lp),
        req.query(lp),
        req.target(lp),
        req.authority(lp)
            .map(|a| String::from_utf8_lossy(a).into_owned()),
    );
    res.end(lp, body.as_bytes()).unwrap();
}

/// Echoes the body; a check_continue hook (when set) answers 401.
fn refuse_continue(lp: &mut Loop, server: Server) {
    server
        .on_check_continue(lp, |lp, _req, res| {
            res.set_status(lp, 401).unwrap();
            res.end(lp, b"checked").unwrap();
        })
        .unwrap();
    server
        .on_check_expectation(lp, |lp, _req, res| {
            res.set_status(lp, 402).unwrap();
            res.end(lp, b"expectation").unwrap();
        })
        .unwrap();
}

// ---- item 2: HTTP/1.0 expectations ----

#[test]
fn http10_expect_100_continue_gets_no_100_and_the_request_is_served() {
    let server = TestServer::start(ServerOptions::default(), common::echo);
    let out = exchange_until_close(
        &server,
        b"POST /e HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert!(!out.contains("100 Continue"), "{out}");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nabc"), "{out}");
}

#[test]
fn http10_expectations_skip_the_hooks_while_http11_ones_reach_them() {
    let server = TestServer::start_with(ServerOptions::default(), common::echo, refuse_continue);
    for (req, status, body) in [
        (&b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"[..], "200", "hi"),
        (b"POST / HTTP/1.0\r\nExpect: x-other\r\nContent-Length: 2\r\n\r\nhi", "200", "hi"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", "401", "checked"),
        (b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nExpect: x-other\r\nContent-Length: 2\r\n\r\nhi", "402", "expectation"),
    ] {
        let out = exchange_until_close(&server, req);
        assert!(out.starts_with(&format!("HTTP/1.1 {status} ")), "{out}");
        assert!(out.ends_with(body), "{out}");
        assert!(!out.contains("100 Continue"), "{out}");
    }
}

#[test]
fn http11_expect_100_continue_still_gets_its_100() {
    let server = TestServer::start(ServerOptions::default(), common::echo);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).unwrap(), 1);
        got.push(b[0]);
    }
    assert_eq!(got, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"abc").unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
}

// ---- item 3: absolute-form targets ----

fn ask(server: &TestServer, req: &str) -> String {
    exchange_until_close(server, req.as_bytes())
}

#[test]
fn absolute_form_gives_path_query_raw_target_and_authority() {
    let server = TestServer::start(ServerOptions::default(), describe);
    let out = ask(
        &server,
        "GET http://example.com:8080/a/b?x=1&y=2 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("path=Some(\"/a/b\")\n"), "{out}");
    assert!(out.contains("query=Some(\"x=1&y=2\")\n"), "{out}");
    assert!(
        out.contains("target=Some(\"http://example.com:8080/a/b?x=1&y=2\")\n"),
        "{out}"
    );
    // The target's authority wins over Host.
    assert!(
        out.contains("authority=Some(\"example.com:8080\")\n"),
        "{out}"
    );
    let out = ask(&server, "GET http://x HTTP/1.0\r\n\r\n");
    assert!(out.contains("path=Some(\"/\")\nquery=None\n"), "{out}");
    assert!(out.contains("authority=Some(\"x\")\n"), "{out}");
    // Origin form: unchanged, the authority is Host.
    let out = ask(
        &server,
        "GET /p?q HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.contains("path=Some(\"/p\")\nquery=Some(\"q\")\n"),
        "{out}"
    );
    assert!(out.contains("authority=Some(\"h:1\")\n"), "{out}");
}

#[test]
fn absolute_form_authority_is_checked_like_host_and_host_is_still_required() {
    let server = TestServer::start(ServerOptions::default(), describe);
    for bad in [
        // userinfo is no host
        "GET http://user@x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        // empty authority
        "GET http:///p HTTP/1.1\r\nHost: x\r\n\r\n",
        // HTTP/1.1 without Host, or with two
        "GET http://x/ HTTP/1.1\r\n\r\n",
        "GET http://x/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    ] {
        let out = ask(&server, bad);
        assert!(
            out.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{bad:?}: {out}"
        );
    }
    // A Host value that would be refused is ignored for the authority.
    let out = ask(
        &server,
        "GET http://good.example/ok HTTP/1.1\r\nHost: bad/host\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("authority=Some(\"good.example\")"), "{out}");
}

// ---- item 4: unread bodies drained within a bound ----

/// Reads until EOF (the server closed), returning what came.
fn rest_until_close(s: &mut std::net::TcpStream, mut buf: Vec<u8>) -> String {
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn a_small_unread_get_body_is_drained_and_the_connection_kept() {
    let server = TestServer::start(ServerOptions::default(), common::hello);
    let mut s = server.connect();
    let body = [b'a'; 31];
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 31\r\n\r\n")
        .unwrap();
    s.write_all(&body).unwrap();
    s.write_all(b"GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    let second = rest_until_close(&mut s, buf);
    assert!(
        second.starts_with("HTTP/1.1 200 OK\r\n"),
        "{first}\n---\n{second}"
    );
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn an_unread_body_arriving_after_the_response_is_drained() {
    let server = TestServer::start(ServerOptions::default(), common::hello);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    // The body comes after its response, in pieces, then another request.
    for _ in 0..4 {
        s.write_all(&[b'b'; 10000]).unwrap();
    }
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let second = rest_until_close(&mut s, buf);
    assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
    assert!(second.ends_with("hello"), "{second}");
}

#[test]
fn a_chunked_unread_body_within_the_bound_keeps_the_connection() {
    let server = TestServer::start(ServerOptions::default(), common::hello);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    read_response(&mut s, &mut buf);
    s.write_all(b"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let second = rest_until_close(&mut s, buf);
    assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
}

#[test]
fn an_unread_body_above_the_bound_closes() {
    let opts = ServerOptions {
        max_drain_bytes: 1000,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, common::hello);
    // Known to be too long when the response is composed: it says close.
    for method in ["GET", "POST"] {
        let mut s = server.connect();
        s.write_all(
            format!("{method} / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let out = rest_until_close(&mut s, Vec::new());
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{method}: {out}");
    }
    // Chunked, unknown: kept at first, closed once past the bound, and the
    // request pipelined after it is never served.
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    let mut more = b"3e8\r\n".to_vec();
    more.extend_from_slice(&[b'c'; 1000]);
    more.extend_from_slice(b"\r\n1\r\nc\r\n0\r\n\r\nGET /smug HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(&more).unwrap();
    let out = rest_until_close(&mut s, buf);
    assert_eq!(out, "", "nothing after the first response");
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn a_drained_body_past_the_request_timeout_closes_without_a_second_answer() {
    let opts = ServerOptions {
        request_timeout_ms: 300,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, common::hello);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    // The rest of the body never comes: the timer closes the connection.
    let out = rest_until_close(&mut s, buf);
    assert_eq!(out, "", "no 408 after a response");
}

// ---- item 7: an Upgrade nobody takes ----

const UPGRADE_THEN_SMUGGLED: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /smug HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn an_upgrade_nobody_takes_is_answered_with_close_and_nothing_after_it_is_parsed() {
    let server = TestServer::start(ServerOptions::default(), common::hello);
    let out = exchange_until_close(&server, UPGRADE_THEN_SMUGGLED);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{out}");
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The same when the request after it comes later, and when the
    // handler answers only once the whole head is in.
    let mut s = server.connect();
    s.write_all(&UPGRADE_THEN_SMUGGLED[..70]).unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.contains("Connection: close\r\n"), "{first}");
    let _ = s.write_all(&UPGRADE_THEN_SMUGGLED[70..]);
    let rest = rest_until_close(&mut s, buf);
    assert_eq!(rest, "");
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn the_option_keeps_rfc_9110s_ignore_and_go_on() {
    let opts = ServerOptions {
        continue_after_ignored_upgrade: true,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, common::hello);
    let mut s = server.connect();
    s.write_all(UPGRADE_THEN_SMUGGLED).unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    let second = read_response(&mut s, &mut buf);
    assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_taken_upgrade_still_goes_to_its_hook_with_the_bytes_after_it() {
    fn setup(lp: &mut Loop, server: Server) {
        server
            .on_upgrade(lp, |lp, head, stream, rest| {
                let mut reply = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nX-Target: {}\r\n\r\n",
                    head.target
                )
                .into_bytes();
                reply.extend_from_slice(&rest);
                stream.write(lp, &reply).unwrap();
                stream.shutdown(lp, |_, _, _| {}).unwrap();
                stream
                    .read_start(lp, |lp, s, ev| {
                        if !matches!(ev, eddy_net::ReadEvent::Data(_)) {
                            let _ = s.close(lp, |_, _| {});
                        }
                    })
                    .unwrap();
            })
            .unwrap();
    }
    let server = TestServer::start_with(ServerOptions::default(), common::hello, setup);
    let out = exchange_until_close(&server, UPGRADE_THEN_SMUGGLED);
    assert!(
        out.starts_with("HTTP/1.1 101 Switching Protocols\r\nX-Target: /\r\n\r\nGET /smug"),
        "{out}"
    );
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

// ---- item 5: send timeout and minimum body rate ----

/// Writes 64 KiB blocks for ever, each when the last has drained.
fn endless(lp: &mut Loop, _req: Request, res: Response) {
    fn pump(lp: &mut Loop, res: Response) {
        let block = [b'e'; 65536];
        while let Ok(true) = res.write(lp, &block) {}
    }
    res.on_drain(lp, pump).unwrap();
    pump(lp, res);
}

/// 8 MiB in 64 KiB blocks, then the end.
fn eight_mib(lp: &mut Loop, _req: Request, res: Response) {
    let sent = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let pump = move |lp: &mut Loop| {
        let block = [b'f'; 65536];
        while sent.get() < 128 {
            sent.set(sent.get() + 1);
            if !res.write(lp, &block).unwrap() {
                return;
            }
        }
        res.end(lp, b"").unwrap();
    };
    let again = pump.clone();
    res.on_drain(lp, move |lp, _| again(lp)).unwrap();
    pump(lp);
}

#[test]
fn output_nobody_reads_is_cut_off_by_the_send_timeout() {
    let opts = ServerOptions {
        send_timeout_ms: 300,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, endless);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    server.wait_connections(1);
    // Not reading: the server's output stalls, and the connection goes.
    server.wait_connections(0);
    // What was queued still arrives, then the end: a bounded amount.
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(out.len() < 256 << 20, "{} bytes", out.len());
}

#[test]
fn output_that_keeps_moving_is_not_cut_off() {
    let opts = ServerOptions {
        send_timeout_ms: 300,
        ..ServerOptions::default()
    };
    let server = TestServer::start(opts, eight_mib);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert!(
        out.ends_with(b"\r\n0\r\n\r\n"),
        "cut short at {} bytes",
        out.len()
    );
}

/// Answers once the whole body is in, with its length.
fn count_body(lp: &mut Loop, req: Request, res: Response) {
    let n = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let m = n.clone();
    req.on_data(lp, move |_, _, b| m.set(m.get() + b.len()))
        .unwrap();
    req.on_end(lp, move |lp, _| {
        res.end(lp, n.get().to_string().as_bytes()).unwrap()
    })
    .unwrap();
}

fn rate_opts() -> ServerOptions {
    ServerOptions {
        min_body_rate: Some(eddy_http::server::MinBodyRate {
            bytes_per_sec: 1000,
            grace_ms: 200,
            window_ms: 300,
        }),
        keep_alive_timeout_ms: 1000,
        ..ServerOptions::default()
    }
}

#[test]
fn a_body_below_the_minimum_rate_gets_408() {
    let server = TestServer::start(rate_opts(), count_body);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
        .unwrap();
    // Then nothing: the first window after the grace brings 0 of 300.
    let out = rest_until_close(&mut s, Vec::new());
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out}");
    assert!(out.contains("Connection: close\r\n"), "{out}");
}

#[test]
fn a_body_at_full_speed_and_a_bodiless_request_are_not_watched() {
    let server = TestServer::start(rate_opts(), count_body);
    let mut s = server.connect();
    let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec();
    req.extend_from_slice(&[b'z'; 100_000]);
    s.write_all(&req).unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf);
    assert!(r.ends_with("100000"), "{r}");
    // A keep-alive connection idles past many windows: no 408 (only the
    // keep-alive timeout closes it, silently).
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let r = read_response(&mut s, &mut buf);
    assert!(r.ends_with("\r\n\r\n0"), "{r}");
    let rest = rest_until_close(&mut s, buf);
    assert_eq!(rest, "");
}

// ---- item 6: shared blocks ----

/// Three writes of one shared block, chunked (or counted when the target
/// says `/len`), then the end.
fn shared(lp: &mut Loop, req: Request, res: Response) {
    let block: std::rc::Rc<[u8]> = b"0123456789".to_vec().into();
    if req.path(lp) == Some("/len") {
        res.set_header(lp, "Content-Length", "30").unwrap();
    }
    for _ in 0..3 {
        res.write_shared(lp, block.clone()).unwrap();
    }
    res.end(lp, b"").unwrap();
}

#[test]
fn write_shared_frames_a_shared_block_like_write() {
    let server = TestServer::start(ServerOptions::default(), shared);
    let out = exchange_until_close(
        &server,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("Transfer-Encoding: chunked\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\na\r\n0123456789\r\na\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
        "{out}"
    );
    let out = exchange_until_close(
        &server,
        b"GET /len HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.ends_with("\r\n\r\n012345678901234567890123456789"),
        "{out}"
    );
    // HEAD: no body at all.
    let out = exchange_until_close(
        &server,
        b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.ends_with("\r\n\r\n") && !out.contains("0123"), "{out}");
    // Pipelined: the later responses are held back (copied), in order.
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /len HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = rest_until_close(&mut s, Vec::new());
    assert_eq!(out.matches("a\r\n0123456789\r\n").count(), 6, "{out}");
    assert_eq!(
        out.matches("012345678901234567890123456789").count(),
        1,
        "{out}"
    );
}
