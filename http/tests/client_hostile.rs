//! The HTTP client against a scripted hostile server (issue 16): one
//! behaviour per path, on raw sockets. Endless interim responses, silent
//! and trickling servers, huge bodies that stall, status lines out of
//! range or of another protocol, a doubled `Transfer-Encoding: chunked`,
//! a head cut mid-way, too many header lines, and a keep-alive socket the
//! server closes right after its response (the reuse race).
//!
//! Every test is bounded: the client's own deadlines end each exchange,
//! and a watchdog fails the test after 20 s. Server threads stop when the
//! client closes the socket (their writes fail). Nothing sleeps to
//! synchronise; the server only paces its trickle.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use eddy_http::client::{get, request, Agent, AgentChoice, AgentOptions, RequestOptions};
use eddy_loop::{Handle, Loop, RunMode, Timer};

/// How many connections the server closed after answering (`/close-after`).
#[derive(Default)]
struct Closed {
    count: Mutex<usize>,
    grew: Condvar,
}

impl Closed {
    fn bump(&self) {
        *self.count.lock().unwrap() += 1;
        self.grew.notify_all();
    }

    /// Blocks until `n` connections were closed (fails after 10 s).
    fn wait_for(&self, n: usize) {
        let c = self.count.lock().unwrap();
        let (_count, t) = self
            .grew
            .wait_timeout_while(c, Duration::from_secs(10), |c| *c < n)
            .unwrap();
        assert!(!t.timed_out(), "the server did not close {n} connections");
    }
}

struct Hostile {
    port: u16,
    closed: Arc<Closed>,
}

/// The request's path (None at EOF), with its body consumed.
fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    if let Some(i) = head.find("content-length: ") {
        let n: usize = head[i + 16..].split("\r\n").next()?.trim().parse().ok()?;
        let mut body = vec![0; n];
        s.read_exact(&mut body).ok()?;
    }
    Some(head.split(' ').nth(1)?.to_string())
}

/// Reads until the client closes.
fn drain(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// Writes `bytes` until the client closes (bounded by the client's caps
/// and deadlines).
fn forever(s: &mut TcpStream, bytes: &[u8]) {
    while s.write_all(bytes).is_ok() {}
}

fn behave(mut s: TcpStream, closed: &Closed) {
    while let Some(path) = read_request(&mut s) {
        match path.as_str() {
            "/ok" => {
                if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .is_err()
                {
                    return;
                }
                continue;
            }
            "/continue-forever" => forever(&mut s, b"HTTP/1.1 100 Continue\r\n\r\n"),
            "/hints-forever" => forever(
                &mut s,
                b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
            ),
            "/big-hints" => {
                let link = "x".repeat(2000);
                let hint = format!("HTTP/1.1 103 Early Hints\r\nLink: <{link}>\r\n\r\n");
                forever(&mut s, hint.as_bytes());
            }
            "/silent" => drain(&mut s),
            "/trickle" => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
                // Paced, not synchronising: a byte every 50 ms until the
                // client gives up.
                while s.write_all(b"a").is_ok() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            "/huge" => {
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n";
                if s.write_all(head).is_ok() && s.write_all(&vec![b'x'; 1 << 20]).is_ok() {
                    drain(&mut s);
                }
            }
            "/status/000" | "/status/099" | "/status/600" | "/status/999" => {
                let code = &path[8..];
                let line = format!("HTTP/1.1 {code} OK\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(line.as_bytes());
                drain(&mut s);
            }
            "/proto/rtsp" | "/proto/ice" | "/proto/h2" => {
                let line = match &path[7..] {
                    "rtsp" => "RTSP/1.0 200 OK",
                    "ice" => "ICE/1.0 200 OK",
                    _ => "HTTP/2.0 200 OK",
                };
                let resp = format!("{line}\r\nContent-Length: 2\r\n\r\nok");
                let _ = s.write_all(resp.as_bytes());
                drain(&mut s);
            }
            "/te-twice" => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\
                      Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
                );
                drain(&mut s);
            }
            "/cut-head" => {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
            }
            "/many-headers" => {
                // One write per line: each header line starts a read of
                // its own on the client, so an offset counted per read
                // would be 0.
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
                for i in 0..120 {
                    let line = format!("X-H{i:03}: v\r\n");
                    if s.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                    let _ = s.flush();
                }
                drain(&mut s);
            }
            "/close-after" => {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
                );
                drop(s);
                closed.bump();
            }
            _ => {}
        }
        return;
    }
}

impl Hostile {
    fn start() -> Hostile {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let closed = Arc::new(Closed::default());
        let cl = closed.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { return };
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                let cl = cl.clone();
                std::thread::spawn(move || behave(s, &cl));
            }
        });
        Hostile { port, closed }
    }

    fn opts(&self, path: &str) -> RequestOptions {
        RequestOptions {
            host: "127.0.0.1".into(),
            port: self.port,
            path: path.into(),
            agent: AgentChoice::Fresh,
            ..RequestOptions::default()
        }
    }
}

/// Runs the loop to completion, failing the test after 20 s.
fn run(lp: &mut Loop) {
    let watchdog = Timer::new(lp);
    watchdog
        .start(lp, 20_000, 0, |_, _| panic!("watchdog: test hung"))
        .unwrap();
    watchdog.unref(lp).unwrap();
    lp.run(RunMode::Default);
    watchdog.close(lp, |_, _| {}).unwrap();
    lp.run(RunMode::NoWait);
}

/// What a request ended with: its status and body, or its error.
#[derive(Debug, Default)]
struct Ending {
    status: u16,
    body: Vec<u8>,
    error: Option<String>,
    closed: bool,
}

type Shared = Rc<RefCell<Ending>>;

fn start(lp: &mut Loop, opts: RequestOptions) -> Shared {
    let seen = Shared::default();
    let s = seen.clone();
    let req = get(lp, opts, move |lp, res| {
        s.borrow_mut().status = res.status(lp).unwrap();
        let s2 = s.clone();
        res.on_data(lp, move |_, _, d| s2.borrow_mut().body.extend_from_slice(d))
            .unwrap();
    })
    .unwrap();
    let s = seen.clone();
    req.on_error(lp, move |_, _, e| {
        s.borrow_mut().error = Some(e.to_string())
    })
    .unwrap();
    let s = seen.clone();
    req.on_close(lp, move |_, _, _| s.borrow_mut().closed = true)
        .unwrap();
    seen
}

/// Runs one request to its close; returns how it ended.
fn exchange(opts: RequestOptions) -> Ending {
    let mut lp = Loop::new().unwrap();
    let seen = start(&mut lp, opts);
    run(&mut lp);
    let e = std::mem::take(&mut *seen.borrow_mut());
    assert!(e.closed, "{e:?}");
    e
}

fn error_of(opts: RequestOptions) -> String {
    let e = exchange(opts);
    e.error.clone().unwrap_or_else(|| panic!("no error: {e:?}"))
}

fn assert_error(opts: RequestOptions, expected: &str) {
    let e = error_of(opts);
    assert!(e.contains(expected), "{e:?} does not say {expected:?}");
}

#[test]
fn endless_interim_responses_hit_the_count_cap() {
    let h = Hostile::start();
    assert_error(
        h.opts("/continue-forever"),
        "more than 32 interim (1xx) responses",
    );
    assert_error(
        h.opts("/hints-forever"),
        "more than 32 interim (1xx) responses",
    );
    let o = RequestOptions {
        max_interim: 5,
        ..h.opts("/hints-forever")
    };
    assert_error(o, "more than 5 interim (1xx) responses");
}

#[test]
fn large_interim_responses_hit_the_byte_cap() {
    let h = Hostile::start();
    let o = RequestOptions {
        max_interim_bytes: 4096,
        ..h.opts("/big-hints")
    };
    assert_error(o, "interim (1xx) responses exceed 4096 bytes");
}

#[test]
fn interim_responses_are_not_progress_for_the_head_or_idle_timeouts() {
    let h = Hostile::start();
    // No caps: the head deadline ends the flood.
    let uncapped = |path: &str| RequestOptions {
        max_interim: usize::MAX,
        max_interim_bytes: usize::MAX,
        ..h.opts(path)
    };
    let o = RequestOptions {
        head_timeout_ms: Some(300),
        ..uncapped("/continue-forever")
    };
    assert_error(o, "response head not received within 300 ms");
    // Nor do they reset the idle timeout.
    let o = RequestOptions {
        head_timeout_ms: Some(0),
        timeout_ms: 200,
        ..uncapped("/hints-forever")
    };
    assert_error(o, "timed out after 200 ms");
}

#[test]
fn a_silent_server_meets_the_head_timeout_by_name() {
    let h = Hostile::start();
    let o = RequestOptions {
        head_timeout_ms: Some(200),
        ..h.opts("/silent")
    };
    assert_error(o, "response head not received within 200 ms");
    // The Agent's option is the default of its requests.
    let mut lp = Loop::new().unwrap();
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            head_timeout_ms: 150,
            ..AgentOptions::default()
        },
    );
    let seen = start(
        &mut lp,
        RequestOptions {
            agent: agent.into(),
            ..h.opts("/silent")
        },
    );
    run(&mut lp);
    let e = seen.borrow().error.clone().unwrap();
    assert!(
        e.contains("response head not received within 150 ms"),
        "{e}"
    );
}

#[test]
fn a_trickling_head_meets_the_head_timeout() {
    let h = Hostile::start();
    let o = RequestOptions {
        head_timeout_ms: Some(300),
        ..h.opts("/trickle")
    };
    assert_error(o, "response head not received within 300 ms");
}

#[test]
fn a_huge_body_that_stalls_meets_the_total_and_idle_deadlines() {
    let h = Hostile::start();
    let o = RequestOptions {
        total_timeout_ms: Some(500),
        ..h.opts("/huge")
    };
    let e = exchange(o);
    assert_eq!(e.status, 200);
    assert_eq!(e.body.len(), 1 << 20, "the megabyte arrived first");
    let err = e.error.unwrap();
    assert!(
        err.contains("exchange not complete within 500 ms (total deadline)"),
        "{err}"
    );
    let o = RequestOptions {
        timeout_ms: 200,
        ..h.opts("/huge")
    };
    assert_error(o, "timed out after 200 ms");
}

#[test]
fn a_connect_that_never_completes_meets_the_connect_timeout() {
    // A listener whose accept queue is full drops further SYNs: the
    // connect neither completes nor fails.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket this test owns, to shrink its backlog.
    let rc = unsafe { libc::listen(l.as_raw_fd(), 0) };
    assert_eq!(rc, 0);
    let addr = l.local_addr().unwrap();
    let mut filler = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => filler.push(s),
            Err(_) => break,
        }
    }
    let o = RequestOptions {
        host: "127.0.0.1".into(),
        port: addr.port(),
        agent: AgentChoice::Fresh,
        connect_timeout_ms: Some(200),
        ..RequestOptions::default()
    };
    assert_error(o, "connection not established within 200 ms");
    drop(filler);
}

#[test]
fn status_codes_outside_100_to_599_are_refused_and_the_socket_dropped() {
    let h = Hostile::start();
    for code in ["000", "099", "600", "999"] {
        let mut lp = Loop::new().unwrap();
        let agent = Agent::new(
            &mut lp,
            AgentOptions {
                keep_alive: true,
                ..AgentOptions::default()
            },
        );
        let o = RequestOptions {
            agent: agent.into(),
            ..h.opts(&format!("/status/{code}"))
        };
        let seen = start(&mut lp, o);
        run(&mut lp);
        let e = seen.borrow().error.clone().unwrap();
        assert!(e.contains("status code outside 100-599"), "{code}: {e}");
        assert_eq!(agent.total_sockets(&lp), 0, "{code}: not pooled");
    }
}

#[test]
fn protocols_other_than_http_1_are_refused_unless_lenient() {
    let h = Hostile::start();
    for path in ["/proto/rtsp", "/proto/ice", "/proto/h2"] {
        assert_error(h.opts(path), "status line is not HTTP/1.x");
    }
    let o = RequestOptions {
        lenient_version: true,
        ..h.opts("/proto/rtsp")
    };
    let e = exchange(o);
    assert_eq!(
        (e.status, e.body.as_slice(), e.error),
        (200, &b"ok"[..], None)
    );
}

#[test]
fn transfer_encoding_chunked_twice_is_refused_as_the_server_refuses_it() {
    let h = Hostile::start();
    assert_error(h.opts("/te-twice"), "Transfer-Encoding after chunked");
}

#[test]
fn a_head_cut_mid_way_says_so() {
    let h = Hostile::start();
    assert_error(
        h.opts("/cut-head"),
        "connection closed in the middle of the response head",
    );
}

#[test]
fn too_many_headers_reports_the_offset_in_the_response() {
    let h = Hostile::start();
    // The 101st line starts after the status line and 100 lines of 11.
    let e = error_of(h.opts("/many-headers"));
    assert!(e.contains("HPE_TOO_MANY_HEADERS"), "{e}");
    assert!(e.contains("offset 1117"), "{e}");
}

#[test]
fn a_post_after_the_server_closed_the_pooled_socket_takes_a_fresh_one() {
    let h = Hostile::start();
    let results: Rc<RefCell<Vec<String>>> = Rc::default();
    for round in 1..=5 {
        let mut lp = Loop::new().unwrap();
        let agent = Agent::new(
            &mut lp,
            AgentOptions {
                keep_alive: true,
                max_sockets: 1,
                ..AgentOptions::default()
            },
        );
        // A GET whose socket the server closes right after answering; the
        // response's end waits until the server has closed it (its FIN is
        // queued, unread), and the request's close (the next loop pass)
        // sends a POST at once, which finds the socket in the pool.
        let o = RequestOptions {
            agent: agent.into(),
            ..h.opts("/close-after")
        };
        let closed = h.closed.clone();
        let port = h.port;
        let res = results.clone();
        let req = get(&mut lp, o, move |lp, r| {
            r.on_end(lp, move |_, _| closed.wait_for(round)).unwrap();
        })
        .unwrap();
        req.on_close(&mut lp, move |lp, _, _| {
            assert_eq!(agent.free_sockets(lp), 1, "the GET's socket is pooled");
            let o = RequestOptions {
                host: "127.0.0.1".into(),
                port,
                path: "/ok".into(),
                method: "POST".into(),
                agent: agent.into(),
                ..RequestOptions::default()
            };
            let r2 = res.clone();
            let post = request(lp, o, move |lp, r| {
                let status = r.status(lp).unwrap();
                let reused = r.request().reused_socket(lp);
                r2.borrow_mut().push(format!("{status} reused={reused}"));
            })
            .unwrap();
            let r3 = res.clone();
            post.on_error(lp, move |_, _, e| {
                r3.borrow_mut().push(format!("error {e}"))
            })
            .unwrap();
            post.end(lp, b"data").unwrap();
        })
        .unwrap();
        run(&mut lp);
        assert_eq!(agent.sockets_created(&lp), 2, "round {round}");
        let stats = agent.stats(&lp).unwrap();
        assert_eq!(
            (stats.created, stats.stale, stats.reused, stats.retried),
            (2, 1, 0, 0),
            "round {round}: {stats:?}"
        );
        assert!(stats.closed >= 1, "round {round}: {stats:?}");
        agent.destroy(&mut lp).unwrap();
        run(&mut lp);
    }
    assert_eq!(*results.borrow(), vec!["200 reused=false"; 5]);
}
