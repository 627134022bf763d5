//! Issue 12: reason phrases. Every registered status has its phrase;
//! `set_status_message` is validated; the client exposes the phrase it
//! received, so a proxy forwards it byte for byte.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use eddy_http::client::{request, AgentChoice, RequestOptions};
use eddy_http::server::{Error, Request, Response, Server, ServerOptions};
use eddy_loop::{Loop, RunMode};

static UPSTREAM: AtomicU16 = AtomicU16::new(0);

fn proxy(lp: &mut Loop, req: Request, res: Response) {
    if req.path(lp) == Some("/range") {
        res.set_status(lp, 416).unwrap();
        assert!(matches!(
            res.set_status_message(lp, b"Bad\r\nX-Evil: 1"),
            Err(Error::InvalidStatusMessage(_))
        ));
        return res.end(lp, b"").unwrap();
    }
    let opts = RequestOptions {
        host: "127.0.0.1".into(),
        port: UPSTREAM.load(Ordering::SeqCst),
        agent: AgentChoice::Fresh,
        ..RequestOptions::default()
    };
    let whole_head = req.path(lp) == Some("/head");
    request(lp, opts, move |lp, up| {
        if whole_head {
            // Status, phrase and the lines that are not hop-by-hop.
            res.forward_head(lp, up).unwrap();
        } else {
            let reason = up.status_message(lp).unwrap().to_vec();
            res.set_status(lp, up.status(lp).unwrap()).unwrap();
            res.set_status_message(lp, &reason).unwrap();
        }
        up.on_end(lp, move |lp, _| res.end(lp, b"").unwrap())
            .unwrap();
    })
    .unwrap()
    .end(lp, b"")
    .unwrap();
}

#[test]
fn reason_phrases_are_registered_validated_and_forwarded() {
    // A raw upstream with its own phrase, in Latin-1.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    UPSTREAM.store(l.local_addr().unwrap().port(), Ordering::SeqCst);
    std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(
                b"HTTP/1.1 299 Caf\xE9 Ready\r\nContent-Length: 0\r\nX-Latin: caf\xE9\r\n\
                  Keep-Alive: timeout=5\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let server = Server::new(&mut lp, ServerOptions::default(), proxy);
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        tx.send(server.listen(&mut lp, any).unwrap().ip().unwrap().port())
            .unwrap();
        lp.run(RunMode::Default);
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let ask = |path: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    };
    let forwarded = ask("/up");
    assert!(
        forwarded.starts_with(b"HTTP/1.1 299 Caf\xE9 Ready\r\n"),
        "{}",
        String::from_utf8_lossy(&forwarded)
    );
    let head = ask("/head");
    let text = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with(b"HTTP/1.1 299 Caf\xE9 Ready\r\n"),
        "{text}"
    );
    assert!(
        head.windows(14).any(|w| w == b"X-Latin: caf\xE9\r"),
        "{text}"
    );
    assert!(!text.contains("timeout=5"), "hop-by-hop dropped: {text}");
    let range = ask("/range");
    assert!(
        range.starts_with(b"HTTP/1.1 416 Range Not Satisfiable\r\n"),
        "{}",
        String::from_utf8_lossy(&range)
    );
}
