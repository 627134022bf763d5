//! Issue 12: headers are bytes end to end. `X-Latin: caf\xE9` goes from a
//! raw client through an eddy proxy (server, then client) to an eddy
//! upstream and back, byte-exact; forwarding drops the hop-by-hop fields;
//! received lines keep their order and case; `set_header` replaces and
//! `append_header` adds on both sides.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use eddy_http::client::{request, AgentChoice, RequestOptions};
use eddy_http::h1::HeaderList;
use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Loop, RunMode};

static UPSTREAM: AtomicU16 = AtomicU16::new(0);

/// Answers with the request's header lines as its body, and a Latin-1
/// header of its own, plus one a proxy must not forward.
fn upstream(lp: &mut Loop, req: Request, res: Response) {
    let mut body = Vec::new();
    for (n, v) in req.headers(lp).unwrap().iter() {
        body.extend_from_slice(n);
        body.extend_from_slice(b": ");
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    res.set_header(lp, "X-Latin", b"caf\xE9").unwrap();
    res.set_header(lp, "X-Latin", b"caf\xE9!").unwrap();
    assert_eq!(res.get_header(lp, "x-latin"), Some(&b"caf\xE9!"[..]));
    res.append_header(lp, "Set-Cookie", "a=1").unwrap();
    res.append_header(lp, "Set-Cookie", "b=2").unwrap();
    res.set_header(lp, "Proxy-Foo", "bar").unwrap();
    res.set_header(lp, "X-Gone", "1").unwrap();
    res.remove_header(lp, "x-gone").unwrap();
    assert!(res.set_header(lp, "X-Bad", b"a\r\nb").is_err());
    assert!(res.set_header(lp, "X Bad", b"a").is_err());
    assert!(res.set_header(lp, "X-Nul", b"a\0b").is_err());
    res.end(lp, &body).unwrap();
}

/// Forwards the request upstream and the answer back, headers through
/// `forward_headers`.
fn proxy(lp: &mut Loop, req: Request, res: Response) {
    let headers: HeaderList = req.headers(lp).cloned().unwrap();
    let opts = RequestOptions {
        host: "127.0.0.1".into(),
        port: UPSTREAM.load(Ordering::SeqCst),
        path: req.target(lp).unwrap().to_string(),
        agent: AgentChoice::Fresh,
        ..RequestOptions::default()
    };
    let up = request(lp, opts, move |lp, ures| {
        let got = ures.headers(lp).cloned().unwrap();
        res.set_status(lp, ures.status(lp).unwrap()).unwrap();
        res.forward_headers(lp, &got).unwrap();
        ures.on_data(lp, move |lp, _, chunk| {
            res.write(lp, chunk).unwrap();
        })
        .unwrap();
        ures.on_end(lp, move |lp, _| res.end(lp, b"").unwrap())
            .unwrap();
    })
    .unwrap();
    up.forward_headers(lp, &headers).unwrap();
    // `set_header` replaces on the client too; `append_header` adds.
    up.set_header(lp, "X-Via", "one").unwrap();
    up.set_header(lp, "x-via", "eddy").unwrap();
    up.append_header(lp, "X-Forwarded-For", "127.0.0.1")
        .unwrap();
    up.append_header(lp, "X-Forwarded-For", b"10.0.0.1")
        .unwrap();
    assert_eq!(up.get_header(lp, "X-VIA"), Some(&b"eddy"[..]));
    up.set_header(lp, "X-Temp", "1").unwrap();
    up.remove_header(lp, "x-temp").unwrap();
    assert_eq!(up.get_header(lp, "x-temp"), None);
    assert!(up.set_header(lp, "X-Bad", b"a\nb").is_err());
    up.end(lp, b"").unwrap();
}

#[test]
fn latin1_headers_arrive_byte_exact_through_server_and_client() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let up = Server::new(&mut lp, ServerOptions::default(), upstream);
        let port = up.listen(&mut lp, any).unwrap().ip().unwrap().port();
        UPSTREAM.store(port, Ordering::SeqCst);
        let front = Server::new(&mut lp, ServerOptions::default(), proxy);
        let port = front.listen(&mut lp, any).unwrap().ip().unwrap().port();
        tx.send(port).unwrap();
        lp.run(RunMode::Default);
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        b"GET /x HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xE9\r\nConnection: keep-alive, X-Hop\r\n\
          X-Hop: 1\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: s\r\n\
          X-Case: MiXeD\r\nUpgrade: h2c\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let (head, body) = (&all[..split + 2], &all[split + 4..]);
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let show = String::from_utf8_lossy(&all).into_owned();
    // The upstream's answer, back through the proxy's server side.
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{show}");
    assert!(has(head, b"\r\nX-Latin: caf\xE9!\r\n"), "{show}");
    assert!(
        has(head, b"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"),
        "{show}"
    );
    assert!(!has(head, b"Proxy-Foo"), "hop-by-hop forwarded: {show}");
    assert!(!has(head, b"X-Gone"), "{show}");
    // What the upstream received, through the proxy's client side.
    let expected: &[&[u8]] = &[
        b"Host: a\n",
        b"X-Latin: caf\xE9\n",
        b"X-Case: MiXeD\n",
        b"x-via: eddy\n",
        b"X-Forwarded-For: 127.0.0.1\nX-Forwarded-For: 10.0.0.1\n",
    ];
    for line in expected {
        assert!(
            has(body, line),
            "{:?} missing: {show}",
            String::from_utf8_lossy(line)
        );
    }
    let pos = |l: &[u8]| body.windows(l.len()).position(|w| w == l).unwrap();
    assert!(pos(b"Host: a") < pos(b"X-Latin") && pos(b"X-Latin") < pos(b"X-Case"));
    for hop in [
        &b"X-Hop"[..],
        b"TE:",
        b"Proxy-Authorization",
        b"Upgrade",
        b"X-Temp",
        b"X-Via",
        b"timeout=5",
    ] {
        assert!(
            !has(body, hop),
            "{:?} forwarded: {show}",
            String::from_utf8_lossy(hop)
        );
    }
    assert!(!has(&all, b"\xEF\xBF\xBD"), "no lossy UTF-8 anywhere");
}
