//! Issue 12: `Content-Length` is strict on output, server and client.
//! Bytes past it are refused and none of them is sent; ending short
//! reports an error and closes the connection after what was sent, never
//! reused. Real loopback sockets.

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use common::{read_response, TestServer};
use eddy_http::client::{request, AgentChoice, Error as ClientError, RequestOptions};
use eddy_http::server::{Error, Request, Response, ServerOptions};
use eddy_loop::{Loop, RunMode};

/// Declares 5 bytes, tries to send 11, then sends the 5.
fn over(lp: &mut Loop, _req: Request, res: Response) {
    res.set_header(lp, "Content-Length", "5").unwrap();
    let refused = res.end(lp, b"hello world");
    assert!(
        matches!(refused, Err(Error::ContentLengthExceeded(o)) if o.excess == 6),
        "{refused:?}"
    );
    assert!(!res.headers_sent(lp), "nothing went out, not even the head");
    res.write(lp, b"hel").unwrap();
    assert!(matches!(
        res.write(lp, b"lo world"),
        Err(Error::ContentLengthExceeded(_))
    ));
    res.end(lp, b"lo").unwrap();
}

/// Two pipelined requests to a server running `handler`: each answer
/// must be exactly `hello`, with nothing after them.
fn two_hellos(handler: fn(&mut Loop, Request, Response)) {
    let server = TestServer::start(ServerOptions::default(), handler);
    let mut s = server.connect();
    s.write_all(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    let second = read_response(&mut s, &mut buf);
    for r in [&first, &second] {
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nhello"), "{r}");
    }
    assert!(buf.is_empty(), "nothing after the two responses: {buf:?}");
    assert!(!second.contains(" world"), "{second}");
}

#[test]
fn bytes_past_the_content_length_are_refused_and_never_sent() {
    two_hellos(over);
}

/// As `over`, with shared (uncopied) writes, from a timer so that the
/// response is at the front of its connection and writes straight to the
/// socket: a block past the `Content-Length` is refused before the head
/// goes out, as for copied bytes.
fn over_shared(lp: &mut Loop, _req: Request, res: Response) {
    res.set_header(lp, "Content-Length", "5").unwrap();
    lp.set_timeout(0, move |lp, _| {
        let refused = res.write_shared(lp, &b"hello world"[..]);
        assert!(
            matches!(refused, Err(Error::ContentLengthExceeded(o)) if o.excess == 6),
            "{refused:?}"
        );
        assert!(!res.headers_sent(lp), "nothing went out, not even the head");
        res.write_shared(lp, &b"hel"[..]).unwrap();
        assert!(res.headers_sent(lp));
        assert!(matches!(
            res.write_shared(lp, &b"lo world"[..]),
            Err(Error::ContentLengthExceeded(_))
        ));
        res.write_shared(lp, &b"lo"[..]).unwrap();
        res.end(lp, b"").unwrap();
    });
}

#[test]
fn shared_bytes_past_the_content_length_are_refused_and_never_sent() {
    two_hellos(over_shared);
}

/// Declares 50 bytes, ends after 5.
fn short(lp: &mut Loop, _req: Request, res: Response) {
    res.set_header(lp, "Content-Length", "50").unwrap();
    res.on_close(lp, move |_, finished| assert!(!finished))
        .unwrap();
    let ended = res.end(lp, b"hello");
    assert!(
        matches!(ended, Err(Error::ContentLengthShort(s)) if s.missing == 45),
        "{ended:?}"
    );
}

#[test]
fn a_short_body_closes_the_connection_after_what_was_sent() {
    let server = TestServer::start(ServerOptions::default(), short);
    let mut s = server.connect();
    // Two pipelined requests: the second is never answered on this
    // connection, which is not reused.
    s.write_all(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8(all).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 50\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nhello"),
        "closed right after: {text}"
    );
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
}

/// A raw server: reads what the client sends until it closes, returns it.
fn raw_reader() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
            if got.ends_with(b"\r\n\r\nhello") {
                // The whole request: answer, and close.
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .unwrap();
            }
        }
    });
    (port, t)
}

fn opts(port: u16, length: &str) -> RequestOptions {
    RequestOptions {
        host: "127.0.0.1".into(),
        port,
        method: "POST".into(),
        headers: vec![("Content-Length".into(), length.into())],
        agent: AgentChoice::Fresh,
        ..RequestOptions::default()
    }
}

#[test]
fn a_client_request_refuses_bytes_past_its_content_length() {
    let (port, t) = raw_reader();
    let mut lp = Loop::new().unwrap();
    let req = request(&mut lp, opts(port, "5"), |_, _| {}).unwrap();
    let refused = req.end(&mut lp, b"hello world");
    assert!(
        matches!(refused, Err(ClientError::ContentLengthExceeded(_))),
        "{refused:?}"
    );
    req.write(&mut lp, b"hel").unwrap();
    assert!(req.write(&mut lp, b"lo world").is_err());
    req.end(&mut lp, b"lo").unwrap();
    lp.run(RunMode::Default);
    let got = t.join().unwrap();
    assert!(
        got.ends_with(b"\r\n\r\nhello"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn a_short_client_request_fails_and_closes_its_socket_after_what_was_sent() {
    let (port, t) = raw_reader();
    let mut lp = Loop::new().unwrap();
    let events = Rc::new(RefCell::new(Vec::new()));
    let req = request(&mut lp, opts(port, "10"), |_, _| panic!("no response")).unwrap();
    let e = events.clone();
    req.on_error(&mut lp, move |_, _, err| {
        e.borrow_mut().push(format!("error {err}"))
    })
    .unwrap();
    let e = events.clone();
    req.on_close(&mut lp, move |_, _, finished| {
        e.borrow_mut().push(format!("close {finished}"))
    })
    .unwrap();
    let ended = req.end(&mut lp, b"abc");
    assert!(
        matches!(ended, Err(ClientError::ContentLengthShort(s)) if s.missing == 7),
        "{ended:?}"
    );
    lp.run(RunMode::Default);
    let got = t.join().unwrap();
    assert!(
        got.ends_with(b"\r\n\r\nabc"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(
        *events.borrow(),
        [
            "error body ended 7 bytes short of its Content-Length",
            "close false"
        ]
    );
}
