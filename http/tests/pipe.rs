//! Issue 12: body pipes. An eddy reverse proxy pipes the request body
//! upstream and the response body back; the tests show backpressure and
//! the end carried through, the downstream client going away aborting the
//! upstream request (its socket closed within one loop iteration), and an
//! upstream failure cutting the downstream response visibly. Real
//! loopback sockets; upstreams are eddy or raw socket servers.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use eddy_http::client::{request, AgentChoice, ClientRequest, RequestOptions};
use eddy_http::pipe::pipe;
use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Check, Handle, Loop, RunMode};

thread_local! {
    static UPSTREAM_REQ: Cell<Option<ClientRequest>> = const { Cell::new(None) };
}

/// The proxy's handler: method, target and headers forwarded (hop-by-hop
/// dropped), the bodies piped both ways.
fn proxy_to(port: u16) -> impl FnMut(&mut Loop, Request, Response) {
    move |lp, req, res| {
        let opts = RequestOptions {
            host: "127.0.0.1".into(),
            port,
            method: req.method(lp).unwrap().as_str().into(),
            path: req.target(lp).unwrap().into(),
            agent: AgentChoice::Fresh,
            ..RequestOptions::default()
        };
        let headers = req.headers(lp).cloned().unwrap();
        let up = request(lp, opts, move |lp, ures| {
            res.set_status(lp, ures.status(lp).unwrap()).unwrap();
            let h = ures.headers(lp).cloned().unwrap();
            res.forward_headers(lp, &h).unwrap();
            pipe(lp, ures, res).unwrap();
        })
        .unwrap();
        up.forward_headers(lp, &headers).unwrap();
        UPSTREAM_REQ.with(|c| c.set(Some(up)));
        pipe(lp, req, up).unwrap();
    }
}

struct Proxy {
    port: u16,
    /// The proxy's peak buffered output, and the loop iterations during
    /// which the downstream client was gone but the upstream socket open.
    peak: std::sync::Arc<AtomicUsize>,
    lag: Receiver<usize>,
}

fn start_proxy(upstream: u16) -> Proxy {
    let (tx, rx) = channel();
    let (lag_tx, lag) = channel::<usize>();
    let peak = std::sync::Arc::new(AtomicUsize::new(0));
    let pk = peak.clone();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let front = Server::new(&mut lp, ServerOptions::default(), proxy_to(upstream));
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let port = front.listen(&mut lp, any).unwrap().ip().unwrap().port();
        let lagging = Cell::new(0usize);
        let seen_client = Cell::new(false);
        let check = Check::new(&mut lp);
        check
            .start(&mut lp, move |lp, _| {
                pk.fetch_max(front.buffered_output(lp), Ordering::SeqCst);
                let conns = front.connection_count(lp).unwrap_or(0);
                let up = UPSTREAM_REQ.with(|c| c.get());
                if conns > 0 {
                    seen_client.set(true);
                }
                let up_open = up.is_some_and(|u| u.socket(lp).is_some());
                if seen_client.get() && conns == 0 {
                    if up_open {
                        lagging.set(lagging.get() + 1);
                    } else if up.is_some() {
                        let _ = lag_tx.send(lagging.get());
                        UPSTREAM_REQ.with(|c| c.set(None));
                    }
                }
            })
            .unwrap();
        check.unref(&mut lp).unwrap();
        tx.send(port).unwrap();
        lp.run(RunMode::Default);
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    Proxy { port, peak, lag }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn reset(s: TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a linger struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(s);
}

/// Reads a request head from `s`.
fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed mid-head");
        head.push(b[0]);
    }
    head
}

/// An eddy upstream that pipes each request body back as the response.
fn echo_upstream() -> u16 {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let up = Server::new(&mut lp, ServerOptions::default(), |lp, req, res| {
            pipe(lp, req, res).unwrap();
        });
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        tx.send(up.listen(&mut lp, any).unwrap().ip().unwrap().port())
            .unwrap();
        lp.run(RunMode::Default);
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

#[test]
fn a_body_is_piped_both_ways_with_backpressure_and_its_end() {
    let proxy = start_proxy(echo_upstream());
    let body: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut s = connect(proxy.port);
    let writer = {
        let mut s = s.try_clone().unwrap();
        let body = body.clone();
        std::thread::spawn(move || {
            write!(
                s,
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            s.write_all(&body).unwrap();
        })
    };
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    writer.join().unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let got = &all[split..];
    // Echoed chunked by the upstream: de-chunk.
    let mut plain = Vec::new();
    let mut rest = got;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            break;
        }
        plain.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    assert_eq!(plain.len(), body.len());
    assert!(plain == body, "the body went through unchanged");
    // Backpressure: the proxy never held more than a few marks' worth.
    let peak = proxy.peak.load(Ordering::SeqCst);
    assert!(peak < 1 << 20, "proxy buffered {peak} bytes");
}

#[test]
fn a_downstream_client_gone_mid_body_aborts_the_upstream_request() {
    // A raw upstream: a head announcing 10 MB, 64 KB of it, then it waits
    // to see its socket closed by the proxy.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_port = l.local_addr().unwrap().port();
    let (closed_tx, closed): (Sender<&str>, _) = channel();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        read_head(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n")
            .unwrap();
        s.write_all(&[b'u'; 65536]).unwrap();
        let mut b = [0u8; 16];
        let how = match s.read(&mut b) {
            Ok(0) | Err(_) => "closed",
            Ok(_) => "bytes",
        };
        closed_tx.send(how).unwrap();
    });
    let proxy = start_proxy(up_port);
    let mut s = connect(proxy.port);
    s.write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut got = 0;
    let mut buf = [0u8; 8192];
    while got < 1000 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got += n;
    }
    reset(s);
    assert_eq!(
        closed.recv_timeout(Duration::from_secs(30)).unwrap(),
        "closed",
        "the upstream socket is closed"
    );
    let lag = proxy.lag.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        lag <= 1,
        "upstream open {lag} iterations after the client left"
    );
}

#[test]
fn an_upstream_failure_cuts_the_downstream_response_visibly() {
    for chunked in [true, false] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let up_port = l.local_addr().unwrap().port();
        let (fail_tx, fail) = channel::<()>();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            read_head(&mut s);
            if chunked {
                s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                    .unwrap();
            } else {
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
                    .unwrap();
            }
            // Once the downstream client has the first bytes, fail.
            fail.recv_timeout(Duration::from_secs(30)).unwrap();
            reset(s);
        });
        let proxy = start_proxy(up_port);
        let mut s = connect(proxy.port);
        s.write_all(b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while !all.windows(5).any(|w| w == b"hello") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed early");
            all.extend_from_slice(&buf[..n]);
        }
        fail_tx.send(()).unwrap();
        let _ = s.read_to_end(&mut all);
        let text = String::from_utf8_lossy(&all).into_owned();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("hello"), "{text}");
        if chunked {
            assert!(!text.ends_with("0\r\n\r\n"), "no last chunk: {text}");
        } else {
            assert!(text.contains("Content-Length: 100\r\n"), "{text}");
            assert!(text.ends_with("hello"), "closed short: {text}");
        }
    }
}

#[test]
fn a_net_stream_pipes_into_itself_as_an_echo_with_its_end() {
    use eddy_net::{ListenOptions, Listener};
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = Listener::bind(&mut lp, any, &ListenOptions::default(), |lp, l, s| {
            let s = s.unwrap();
            pipe(lp, s, s).unwrap();
            let _ = l.close(lp, |_, _| {});
        })
        .unwrap();
        tx.send(l.local_addr(&lp).unwrap().ip().unwrap()).unwrap();
        lp.run(RunMode::Default);
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body: Vec<u8> = (0..4_000_000u32).map(|i| (i % 253) as u8).collect();
    let writer = {
        let mut s = s.try_clone().unwrap();
        let body = body.clone();
        std::thread::spawn(move || {
            s.write_all(&body).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    let mut back = Vec::new();
    // Ends at the echo's end: the pipe carried the EOF.
    s.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert!(back == body, "{} of {} bytes", back.len(), body.len());
}

/// A request whose head says no body follows (a GET) has nothing to
/// flow: its pipe carries only its end, through a proxy and an echo
/// upstream alike, when the request ends (so the handler may still set
/// headers after the call); a destination already gone is an error, as
/// for any pipe.
#[test]
fn a_bodiless_request_pipes_only_its_end() {
    let proxy = start_proxy(echo_upstream());
    let mut s = connect(proxy.port);
    for _ in 0..3 {
        s.write_all(b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let head = String::from_utf8(read_head(&mut s)).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Length: 0\r\n"), "{head}");
    }
    static ERRORS: AtomicUsize = AtomicUsize::new(0);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let srv = Server::new(&mut lp, ServerOptions::default(), |lp, req, res| {
            if req.path(lp) == Some("/after") {
                // The end comes when the request's does, as through any
                // pipe: after what the handler does next.
                pipe(lp, req, res).unwrap();
                res.set_header(lp, "X-After", "1").unwrap();
                return;
            }
            res.end(lp, b"done").unwrap();
            // The response left its queue: stale.
            if pipe(lp, req, res).is_err() {
                ERRORS.fetch_add(1, Ordering::SeqCst);
            }
        });
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        tx.send(srv.listen(&mut lp, any).unwrap().ip().unwrap().port())
            .unwrap();
        lp.run(RunMode::Default);
    });
    let mut s = connect(rx.recv_timeout(Duration::from_secs(30)).unwrap());
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let head = String::from_utf8(read_head(&mut s)).unwrap();
    assert!(head.contains("Content-Length: 4\r\n"), "{head}");
    assert_eq!(ERRORS.load(Ordering::SeqCst), 1);
    s.write_all(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let head = String::from_utf8(read_head(&mut s)).unwrap();
    assert!(head.contains("X-After: 1\r\n"), "{head}");
    assert!(head.contains("Content-Length: 0\r\n"), "{head}");
}
