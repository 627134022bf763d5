//! A server on its own thread and loop, for tests that drive it with
//! blocking clients (raw sockets, curl, python, node).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Async, AsyncSender, Check, Handle, Loop, Prepare, RunMode};

pub type HandlerFn = fn(&mut Loop, Request, Response);

pub struct TestServer {
    pub port: u16,
    stop: AsyncSender,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The most output the server ever had buffered (sampled every iteration).
    pub peak_buffered: Arc<AtomicUsize>,
    /// Requests handed to the handler.
    pub requests: Arc<AtomicUsize>,
    /// Open connections, as last sampled (every loop iteration).
    pub connections: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn start(opts: ServerOptions, handler: HandlerFn) -> TestServer {
        TestServer::start_with(opts, handler, |_, _| {})
    }

    /// `start`, with `setup` run on the server's loop (to register hooks).
    pub fn start_with(
        opts: ServerOptions,
        handler: HandlerFn,
        setup: fn(&mut Loop, Server),
    ) -> TestServer {
        let (tx, rx) = mpsc::channel();
        let peak = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (pk, rq, cs) = (peak.clone(), requests.clone(), connections.clone());
        let thread = std::thread::spawn(move || {
            let mut lp = Loop::new().unwrap();
            let server = Server::new(&mut lp, opts, move |lp, req, res| {
                rq.fetch_add(1, Ordering::SeqCst);
                handler(lp, req, res)
            });
            setup(&mut lp, server);
            let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
            let port = server.listen(&mut lp, addr).unwrap().ip().unwrap().port();
            // Sampled before polling (output written by pending callbacks)
            // and after (output written by I/O callbacks).
            let sampler = Check::new(&mut lp);
            let pk2 = pk.clone();
            sampler
                .start(&mut lp, move |lp, _| {
                    let now = server.buffered_output(lp);
                    pk.fetch_max(now, Ordering::SeqCst);
                    cs.store(server.connection_count(lp).unwrap_or(0), Ordering::SeqCst);
                })
                .unwrap();
            sampler.unref(&mut lp).unwrap();
            let before_poll = Prepare::new(&mut lp);
            before_poll
                .start(&mut lp, move |lp, _| {
                    let now = server.buffered_output(lp);
                    pk2.fetch_max(now, Ordering::SeqCst);
                })
                .unwrap();
            before_poll.unref(&mut lp).unwrap();
            let stop = Async::new(&mut lp, move |lp, me| {
                me.close(lp, |_, _| {}).unwrap();
                let _ = server.close_all_connections(lp);
                let _ = server.close(lp, |_| {});
                sampler.close(lp, |_, _| {}).unwrap();
                before_poll.close(lp, |_, _| {}).unwrap();
            });
            tx.send((port, stop.sender(&mut lp).unwrap())).unwrap();
            lp.run(RunMode::Default);
        });
        let (port, stop) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        TestServer {
            port,
            stop,
            thread: Some(thread),
            peak_buffered: peak,
            requests,
            connections,
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// Waits (bounded: 30 s) until `n` connections are open.
    pub fn wait_connections(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.connections.load(Ordering::SeqCst) != n {
            assert!(
                std::time::Instant::now() < deadline,
                "still {} connections, waiting for {n}",
                self.connections.load(Ordering::SeqCst)
            );
            std::thread::yield_now();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends `request` on a fresh connection and reads until the server closes.
pub fn exchange_until_close(server: &TestServer, request: &[u8]) -> String {
    let mut s = server.connect();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one response (head + Content-Length body) from `s`.
pub fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let whole = String::from_utf8_lossy(&buf[..end + 4 + len]).into_owned();
                buf.drain(..end + 4 + len);
                return whole;
            }
        }
        let mut chunk = [0u8; 65536];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed mid-response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A hello handler: 200 with a small body.
pub fn hello(lp: &mut Loop, _req: Request, res: Response) {
    res.set_header(lp, "Content-Type", "text/plain").unwrap();
    res.end(lp, b"hello").unwrap();
}

/// Streams the request body back.
pub fn echo(lp: &mut Loop, req: Request, res: Response) {
    req.on_data(lp, move |lp, _, bytes| {
        res.write(lp, bytes).unwrap();
    })
    .unwrap();
    req.on_end(lp, move |lp, _| res.end(lp, b"").unwrap())
        .unwrap();
}
