//! Server events beyond the request callback: CONNECT and Upgrade hand-off
//! with the head bytes, check_continue, check_expectation, client_error,
//! connection; and request trailers.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{exchange_until_close, TestServer};
use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::Loop;
use eddy_net::{ConnectOptions, ReadEvent, Stream};

/// Copies everything `from` reads to `to`; EOF is passed on as a shutdown.
fn pipe(lp: &mut Loop, from: Stream, to: Stream) {
    from.read_start(lp, move |lp, from, ev| match ev {
        ReadEvent::Data(b) => {
            let _ = to.write(lp, b);
        }
        ReadEvent::Eof => {
            let _ = to.shutdown(lp, |_, _, _| {});
        }
        ReadEvent::Error(_) => {
            let _ = from.close(lp, |_, _| {});
            let _ = to.close(lp, |_, _| {});
        }
    })
    .unwrap();
}

/// The seeds' CONNECT proxy: connect upstream, answer 200, forward the
/// head bytes, then pipe both ways.
fn connect_proxy(lp: &mut Loop, server: Server) {
    server
        .on_connect(lp, |lp, head, client, rest| {
            let target: std::net::SocketAddr = head.target.parse().unwrap();
            let opts = ConnectOptions {
                allow_half_open: true,
                ..ConnectOptions::default()
            };
            client.set_allow_half_open(lp, true).unwrap();
            Stream::connect(lp, target, &opts, move |lp, upstream, r| {
                if r.is_err() {
                    let _ = client.write(lp, b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    let _ = client.end(lp);
                    return;
                }
                client
                    .write(lp, b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .unwrap();
                upstream.write(lp, &rest).unwrap();
                pipe(lp, client, upstream);
                pipe(lp, upstream, client);
            })
            .unwrap();
        })
        .unwrap();
}

fn std_echo_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    port
}

#[test]
fn connect_tunnels_bytes_both_ways_including_the_head() {
    let echo_port = std_echo_server();
    let server = TestServer::start_with(ServerOptions::default(), common::hello, connect_proxy);
    let mut s = server.connect();
    let target = format!("127.0.0.1:{echo_port}");
    s.write_all(
        format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\nbytes in the head").as_bytes(),
    )
    .unwrap();
    let expected = b"HTTP/1.1 200 Connection Established\r\n\r\nbytes in the head";
    let mut got = vec![0u8; expected.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
    s.write_all(b" and more").unwrap();
    let mut more = [0u8; 9];
    s.read_exact(&mut more).unwrap();
    assert_eq!(&more, b" and more");
}

#[test]
fn connect_without_a_handler_is_501() {
    let server = TestServer::start(ServerOptions::default(), common::hello);
    let out = exchange_until_close(&server, b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{out}");
}

/// Upgrade to a line protocol that shouts each line back.
fn shout(lp: &mut Loop, server: Server) {
    server
        .on_upgrade(lp, |lp, head, s, rest| {
            assert_eq!(head.target, "/chat");
            assert_eq!(head.headers.get("upgrade"), Some(&b"shout"[..]));
            s.write(lp, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n")
                .unwrap();
            let mut pending = rest;
            let mut answer = move |lp: &mut Loop, s: Stream, more: &[u8]| {
                pending.extend_from_slice(more);
                while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    s.write(lp, &line.to_ascii_uppercase()).unwrap();
                }
            };
            answer(lp, s, &[]);
            s.read_start(lp, move |lp, s, ev| match ev {
                ReadEvent::Data(b) => answer(lp, s, b),
                _ => {
                    let _ = s.close(lp, |_, _| {});
                }
            })
            .unwrap();
        })
        .unwrap();
}

#[test]
fn upgrade_hands_off_the_stream_with_the_head_bytes() {
    let server = TestServer::start_with(ServerOptions::default(), common::hello, shout);
    let s = server.connect();
    let mut w = s.try_clone().unwrap();
    w.write_all(
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\nhello\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 101 Switching Protocols\r\n");
    while line != "\r\n" {
        line.clear();
        r.read_line(&mut line).unwrap();
    }
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "HELLO\n", "the head bytes were handed over");
    w.write_all(b"again\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "AGAIN\n");
}

fn refuse_big_uploads(lp: &mut Loop, server: Server) {
    server
        .on_check_continue(lp, |lp, _, res| {
            res.set_status(lp, 413).unwrap();
            res.end(lp, b"too big").unwrap();
        })
        .unwrap();
    server
        .on_check_expectation(lp, |lp, req, res| {
            let e = req.header(lp, "expect").unwrap().to_vec();
            res.end(lp, &e).unwrap();
        })
        .unwrap();
}

#[test]
fn check_continue_answers_without_100_and_then_closes() {
    let server = TestServer::start_with(ServerOptions::default(), common::echo, refuse_big_uploads);
    let out = exchange_until_close(
        &server,
        b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "no 100 first: {out}"
    );
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert!(out.ends_with("too big"));
}

#[test]
fn check_expectation_handles_other_expectations() {
    let server =
        TestServer::start_with(ServerOptions::default(), common::hello, refuse_big_uploads);
    let out = exchange_until_close(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("magic"),
        "{out}"
    );
}

static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

fn custom_errors(lp: &mut Loop, server: Server) {
    server
        .on_client_error(lp, |_, e| {
            Some(
                format!(
                    "HTTP/1.1 {} Nope\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope",
                    e.status
                )
                .into_bytes(),
            )
        })
        .unwrap();
    server
        .on_connection(lp, |_, _| {
            CONNECTIONS.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
}

#[test]
fn client_error_hook_replaces_the_default_answer_and_connection_is_seen() {
    let server = TestServer::start_with(ServerOptions::default(), common::hello, custom_errors);
    let before = CONNECTIONS.load(Ordering::SeqCst);
    let out = exchange_until_close(&server, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n");
    assert_eq!(
        out,
        "HTTP/1.1 400 Nope\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
    );
    assert_eq!(CONNECTIONS.load(Ordering::SeqCst), before + 1);
}

fn trailer_reader(lp: &mut Loop, req: Request, res: Response) {
    req.on_end(lp, move |lp, req| {
        let sum = req
            .trailers(lp)
            .and_then(|t| t.get("x-checksum"))
            .unwrap_or(b"none")
            .to_vec();
        res.end(lp, &sum).unwrap();
    })
    .unwrap();
}

#[test]
fn request_trailers_are_available_at_the_end_of_the_body() {
    let server = TestServer::start(ServerOptions::default(), trailer_reader);
    let out = exchange_until_close(
        &server,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: c0ffee\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("c0ffee"),
        "{out}"
    );
    let mut s: TcpStream = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.ends_with("none"), "no trailers without chunking: {out}");
}
