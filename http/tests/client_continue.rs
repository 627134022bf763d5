//! Issue 12: a client request whose user set `Expect: 100-continue` waits
//! at most `continue_timeout_ms` for the 100, then sends its body, so a
//! server that never sends 100 (a raw socket server here) still gets it.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use eddy_http::client::{request, AgentChoice, RequestOptions};
use eddy_loop::{Handle, Loop, RunMode, Timer};

/// A server that never sends `100 Continue`: it reads the head, then the
/// `Content-Length` body, and echoes the body in a 200.
fn no_continue_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        let end = loop {
            let n = s.read(&mut b).unwrap();
            assert!(n > 0, "closed before the head ended");
            got.extend_from_slice(&b[..n]);
            if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        assert!(head.contains("expect: 100-continue\r\n"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        while got.len() < end + len {
            let n = s.read(&mut b).unwrap();
            assert!(n > 0, "closed before the body came");
            got.extend_from_slice(&b[..n]);
        }
        let body = got[end..].to_vec();
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        got
    });
    (port, t)
}

fn run(opts: RequestOptions, with_header: bool) -> Vec<String> {
    let mut lp = Loop::new().unwrap();
    let events = Rc::new(RefCell::new(Vec::new()));
    let e = events.clone();
    let req = request(&mut lp, opts, move |lp, res| {
        let e2 = e.clone();
        res.on_data(lp, move |_, _, chunk| {
            e2.borrow_mut()
                .push(format!("data {}", String::from_utf8_lossy(chunk)))
        })
        .unwrap();
        e.borrow_mut()
            .push(format!("status {}", res.status(lp).unwrap()));
    })
    .unwrap();
    let e = events.clone();
    req.on_continue(&mut lp, move |_, _| e.borrow_mut().push("continue".into()))
        .unwrap();
    let e = events.clone();
    req.on_close(&mut lp, move |_, _, finished| {
        e.borrow_mut().push(format!("close {finished}"))
    })
    .unwrap();
    if with_header {
        req.set_header(&mut lp, "Expect", "100-continue").unwrap();
    }
    req.end(&mut lp, b"the body").unwrap();
    // Bounded: a body that waits for ever fails here, not by hanging.
    let guard = Timer::new(&mut lp);
    let e = events.clone();
    guard
        .start(&mut lp, 20_000, 0, move |lp, _| {
            e.borrow_mut().push("stalled".into());
            lp.stop();
        })
        .unwrap();
    guard.unref(&mut lp).unwrap();
    lp.run(RunMode::Default);
    let v = events.borrow().clone();
    v
}

fn opts(port: u16) -> RequestOptions {
    RequestOptions {
        host: "127.0.0.1".into(),
        port,
        method: "PUT".into(),
        agent: AgentChoice::Fresh,
        continue_timeout_ms: 100,
        ..RequestOptions::default()
    }
}

#[test]
fn a_user_set_expect_sends_the_body_after_the_wait() {
    let (port, t) = no_continue_server();
    let events = run(opts(port), true);
    assert_eq!(events, ["status 200", "data the body", "close true"]);
    let got = t.join().unwrap();
    assert!(got.ends_with(b"\r\n\r\nthe body"));
}

#[test]
fn a_header_given_in_the_options_waits_the_same() {
    let (port, t) = no_continue_server();
    let mut o = opts(port);
    // The head goes out at once (as with the `expect_continue` option),
    // so the length is declared up front.
    o.headers = vec![
        ("Expect".into(), "100-continue".into()),
        ("Content-Length".into(), "8".into()),
    ];
    o.continue_timeout_ms = RequestOptions::default().continue_timeout_ms;
    assert_eq!(o.continue_timeout_ms, 1000, "curl's default");
    let events = run(o, false);
    assert_eq!(events, ["status 200", "data the body", "close true"]);
    t.join().unwrap();
}
