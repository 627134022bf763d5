//! Issue 12, lifecycle: `Response::on_close` and `Request::on_close` fire
//! exactly once, `true` after the last byte reached the kernel, `false`
//! when the connection dies first (reset, EOF, timeout,
//! `close_all_connections`), also while the handler has written nothing,
//! waits on a drain or paused the request. Real loopback sockets; the
//! server runs on its own thread and reports events over a channel.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Async, AsyncSender, Handle, Loop, RunMode};

type Handler = fn(&mut Loop, Server, Request, Response, Sender<String>);

struct Harness {
    port: u16,
    events: Receiver<String>,
    stop: AsyncSender,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Harness {
    fn start(opts: ServerOptions, handler: Handler) -> Harness {
        let (ready_tx, ready_rx) = channel();
        let (tx, events) = channel();
        let thread = std::thread::spawn(move || {
            let mut lp = Loop::new().unwrap();
            let me: Rc<Cell<Option<Server>>> = Rc::new(Cell::new(None));
            let me2 = me.clone();
            let server = Server::new(&mut lp, opts, move |lp, req, res| {
                handler(lp, me2.get().unwrap(), req, res, tx.clone())
            });
            me.set(Some(server));
            let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
            let port = server.listen(&mut lp, addr).unwrap().ip().unwrap().port();
            let stop = Async::new(&mut lp, move |lp, h| {
                h.close(lp, |_, _| {}).unwrap();
                let _ = server.close_all_connections(lp);
                let _ = server.close(lp, |_| {});
            });
            ready_tx
                .send((port, stop.sender(&mut lp).unwrap()))
                .unwrap();
            lp.run(RunMode::Default);
        });
        let (port, stop) = ready_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Harness {
            port,
            events,
            stop,
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    fn next(&self) -> String {
        self.events
            .recv_timeout(Duration::from_secs(30))
            .expect("an event")
    }

    /// Waits for `n` events; returns them sorted (their order between
    /// request and response is not the point).
    fn take(&self, n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n).map(|_| self.next()).collect();
        v.sort();
        v
    }

    /// Stops the server and returns the events that came after.
    fn finish(mut self) -> Vec<String> {
        let _ = self.stop.send();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.events.try_iter().collect()
    }
}

/// Reports both close events of the exchange, and checks the handles are
/// stale in them.
fn report_close(lp: &mut Loop, req: Request, res: Response, tx: &Sender<String>) {
    let t = tx.clone();
    res.on_close(lp, move |lp, finished| {
        let stale = res.write(lp, b"x").is_err() && !req.is_active(lp);
        t.send(format!("res {finished} stale={stale}")).unwrap();
    })
    .unwrap();
    let t = tx.clone();
    req.on_close(lp, move |_, finished| {
        t.send(format!("req {finished}")).unwrap();
    })
    .unwrap();
}

/// Sends a RST: SO_LINGER 0, then close.
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

fn small(lp: &mut Loop, _: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    res.end(lp, b"hello").unwrap();
}

#[test]
fn a_response_sent_whole_closes_finished_once() {
    let h = Harness::start(ServerOptions::default(), small);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let got = h.take(4);
    assert_eq!(
        got,
        [
            "req true",
            "req true",
            "res true stale=true",
            "res true stale=true"
        ]
    );
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    assert!(n > 0);
    assert!(h.finish().is_empty(), "told once");
}

/// 8 MB in one `end`: far more than the socket buffers take.
fn big(lp: &mut Loop, _: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    res.end(lp, &vec![b'z'; 8 << 20]).unwrap();
    tx.send("ended".into()).unwrap();
}

#[test]
fn a_large_response_is_finished_only_once_all_of_it_is_out() {
    let h = Harness::start(ServerOptions::default(), big);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.next(), "ended");
    // The client reads a little, then resets: most of it never left.
    let mut buf = vec![0u8; 65536];
    let mut total = 0;
    while total < 100_000 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        total += n;
    }
    reset(s);
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    assert!(h.finish().is_empty());

    // Read to the end: finished.
    let h = Harness::start(ServerOptions::default(), big);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    assert!(all.len() > 8 << 20);
    assert_eq!(h.take(3), ["ended", "req true", "res true stale=true"]);
    assert!(h.finish().is_empty());
}

/// Writes nothing (a proxy waiting for its upstream).
fn silent(lp: &mut Loop, _: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    tx.send("handler".into()).unwrap();
}

#[test]
fn a_client_gone_while_nothing_was_written_closes_unfinished() {
    let h = Harness::start(ServerOptions::default(), silent);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.next(), "handler");
    drop(s); // a FIN
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);

    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.next(), "handler");
    reset(s);
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    assert!(h.finish().is_empty());
}

#[test]
fn a_socket_timeout_closes_unfinished() {
    let opts = ServerOptions {
        timeout_ms: 100,
        ..ServerOptions::default()
    };
    let h = Harness::start(opts, silent);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.next(), "handler");
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap(), 0, "closed by the timeout");
    assert!(h.finish().is_empty());
}

fn close_all(lp: &mut Loop, server: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    res.write(lp, b"partial").unwrap();
    lp.set_timeout(0, move |lp, _| {
        server.close_all_connections(lp).unwrap();
    });
}

#[test]
fn close_all_connections_closes_unfinished() {
    let h = Harness::start(ServerOptions::default(), close_all);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    assert!(!all.ends_with(b"0\r\n\r\n"), "cut, not ended");
    assert!(h.finish().is_empty());
}

/// Writes until the buffers are full, then waits on the drain.
fn flood(lp: &mut Loop, _: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    fn fill(lp: &mut Loop, res: Response) {
        let chunk = vec![b'f'; 64 * 1024];
        while res.write(lp, &chunk).unwrap_or(false) {}
    }
    fill(lp, res);
    // The kernel may take more later: write on, as a producer would.
    res.on_drain(lp, fill).unwrap();
    tx.send("waiting".into()).unwrap();
}

#[test]
fn a_client_gone_while_the_handler_waits_on_drain_closes_unfinished() {
    let h = Harness::start(ServerOptions::default(), flood);
    let mut s = h.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(h.next(), "waiting");
    reset(s);
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    assert!(h.finish().is_empty());
}

/// Pauses the request as its head arrives.
fn paused(lp: &mut Loop, _: Server, req: Request, res: Response, tx: Sender<String>) {
    report_close(lp, req, res, &tx);
    let t = tx.clone();
    req.on_aborted(lp, move |_, _| t.send("aborted".into()).unwrap())
        .unwrap();
    req.pause(lp).unwrap();
    tx.send("paused".into()).unwrap();
}

#[test]
fn a_client_gone_while_the_request_is_paused_closes_unfinished() {
    for how in ["fin", "rst"] {
        let h = Harness::start(ServerOptions::default(), paused);
        let mut s = h.connect();
        s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
            .unwrap();
        assert_eq!(h.next(), "paused");
        s.write_all(&[b'b'; 10]).unwrap();
        if how == "fin" {
            drop(s);
        } else {
            reset(s);
        }
        assert_eq!(
            h.take(3),
            ["aborted", "req false", "res false stale=true"],
            "{how}"
        );
        assert!(h.finish().is_empty());
    }
}

#[test]
fn eof_mid_request_body_closes_unfinished() {
    let h = Harness::start(ServerOptions::default(), silent);
    let mut s = h.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    assert_eq!(h.next(), "handler");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(h.take(2), ["req false", "res false stale=true"]);
    assert!(h.finish().is_empty());
}

// ------------------------------------------------------------- client

use eddy_http::client::{request, AgentChoice, ClientRequest, RequestOptions};

/// A raw server on its own thread: accepts one connection, reads the
/// request head, sends `answer`, then waits for `go` and resets.
fn raw_server(answer: &'static [u8]) -> (u16, Sender<()>, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (go, wait) = channel::<()>();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).unwrap(), 1);
            head.push(b[0]);
        }
        s.write_all(answer).unwrap();
        let _ = wait.recv_timeout(Duration::from_secs(30));
        reset(s);
    });
    (port, go, t)
}

fn opts(port: u16) -> RequestOptions {
    RequestOptions {
        host: "127.0.0.1".into(),
        port,
        agent: AgentChoice::Fresh,
        ..RequestOptions::default()
    }
}

/// Runs a GET to `port`; `on_head` sees the response head. Returns the
/// events: `error`, `close <finished>`.
fn client_events(
    port: u16,
    on_head: impl FnOnce(&mut Loop, eddy_http::client::ClientResponse) + 'static,
) -> (Vec<String>, ClientRequest, Loop) {
    let mut lp = Loop::new().unwrap();
    let events = Rc::new(std::cell::RefCell::new(Vec::new()));
    let req = request(&mut lp, opts(port), on_head).unwrap();
    let e = events.clone();
    req.on_error(&mut lp, move |_, _, err| {
        e.borrow_mut().push(format!("error {err}"))
    })
    .unwrap();
    let e = events.clone();
    req.on_close(&mut lp, move |lp, req, finished| {
        let stale = !req.is_active(lp) && req.end(lp, b"").is_err();
        e.borrow_mut()
            .push(format!("close {finished} stale={stale}"));
    })
    .unwrap();
    req.end(&mut lp, b"").unwrap();
    // Bounded: a request that never hears of its socket fails the test.
    let guard = eddy_loop::Timer::new(&mut lp);
    let e = events.clone();
    guard
        .start(&mut lp, 20_000, 0, move |lp, _| {
            e.borrow_mut().push("timed out".into());
            lp.stop();
        })
        .unwrap();
    guard.unref(&mut lp).unwrap();
    lp.run(RunMode::Default);
    let v = events.borrow().clone();
    (v, req, lp)
}

#[test]
fn a_client_request_closes_finished_after_its_response() {
    let (port, go, t) = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let (events, _, _) = client_events(port, |lp, res| {
        res.on_data(lp, |_, _, _| {}).unwrap();
    });
    assert_eq!(events, ["close true stale=true"]);
    let _ = go.send(());
    t.join().unwrap();
}

#[test]
fn a_client_request_hears_its_socket_die_while_waiting_for_the_answer() {
    let (port, go, t) = raw_server(b"");
    // The server resets as soon as it read the head.
    let _ = go.send(());
    let (events, _, _) = client_events(port, |_, _| panic!("no response"));
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("error"), "{events:?}");
    assert_eq!(events[1], "close false stale=true");
    t.join().unwrap();
}

#[test]
fn a_paused_client_response_hears_its_socket_reset() {
    let (port, go, t) = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
    let (events, _, _) = client_events(port, move |lp, res| {
        res.pause(lp).unwrap();
        // Paused: no read will meet the reset; the hang-up watch must.
        go.send(()).unwrap();
    });
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("error"), "{events:?}");
    assert_eq!(events[1], "close false stale=true");
    t.join().unwrap();
}
