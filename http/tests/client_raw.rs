//! The HTTP client against scripted raw-socket servers (broken, odd and
//! racy answers no well-behaved server gives on demand) and against eddy's
//! own server on the same loop.
//!
//! Each test runs its client on a loop with a watchdog; the pool's free
//! sockets are unref'd, so `run` returns once the requests are done.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use eddy_http::client::{
    get, request, Agent, AgentChoice, AgentOptions, ClientRequest, Error, RequestOptions,
};
use eddy_http::server::{Server, ServerOptions};
use eddy_loop::{Handle, Loop, RunMode, Timer};

/// A listener on its own thread; each accepted connection runs `script`
/// (with its index) on a thread of its own. Requests read by `read_request`
/// are recorded.
struct RawServer {
    port: u16,
    requests: Arc<Log>,
}

/// What the server threads record; the test waits on it without spinning.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

impl Log {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
        self.grew.notify_all();
    }

    /// The lines once there are at least `n` (the test fails after 20 s).
    fn wait_for(&self, n: usize) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        let (lines, timeout) = self
            .grew
            .wait_timeout_while(lines, Duration::from_secs(20), |l| l.len() < n)
            .unwrap();
        assert!(!timeout.timed_out(), "the server recorded only {lines:?}");
        lines.clone()
    }
}

type Script = fn(usize, TcpStream, &Arc<Log>);

impl RawServer {
    fn start(script: Script) -> RawServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Log::default());
        let rq = requests.clone();
        std::thread::spawn(move || {
            for (i, s) in l.incoming().enumerate() {
                let Ok(s) = s else { return };
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let rq = rq.clone();
                std::thread::spawn(move || script(i, s, &rq));
            }
        });
        RawServer { port, requests }
    }

    fn opts(&self, path: &str, agent: AgentChoice) -> RequestOptions {
        RequestOptions {
            host: "127.0.0.1".into(),
            port: self.port,
            path: path.into(),
            agent,
            ..RequestOptions::default()
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lines.lock().unwrap().clone()
    }
}

/// Reads one request (head, and a Content-Length or chunked body) and
/// records it; None at EOF.
fn read_request(s: &mut TcpStream, log: &Arc<Log>) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let lower = head.to_ascii_lowercase();
    if let Some(i) = lower.find("content-length: ") {
        let n: usize = lower[i + 16..].split("\r\n").next()?.trim().parse().ok()?;
        let mut body = vec![0; n];
        s.read_exact(&mut body).ok()?;
        buf.extend_from_slice(&body);
    } else if lower.contains("transfer-encoding: chunked") {
        while !buf.ends_with(b"\r\n0\r\n\r\n") && !buf.ends_with(b"\r\n\r\n0\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => buf.push(byte[0]),
                _ => return None,
            }
            if buf.len() > head.len() && buf[head.len()..].starts_with(b"0\r\n\r\n") {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    log.push(text.clone());
    Some(text)
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

fn keep_alive_agent(lp: &mut Loop, max_sockets: usize) -> Agent {
    Agent::new(
        lp,
        AgentOptions {
            keep_alive: true,
            max_sockets,
            ..AgentOptions::default()
        },
    )
}

/// What a request saw, in order.
#[derive(Default, Debug)]
struct Seen {
    events: Vec<String>,
    status: u16,
    body: Vec<u8>,
    error: Option<String>,
    reused: bool,
}

type Shared = Rc<RefCell<Seen>>;

/// Ends `req` and records its response, body, end, error and close.
fn watch(lp: &mut Loop, req: ClientRequest, seen: &Shared) {
    let s = seen.clone();
    req.on_error(lp, move |_, _, e| {
        let mut s = s.borrow_mut();
        s.events.push("error".into());
        s.error = Some(e.to_string());
    })
    .unwrap();
    let s = seen.clone();
    req.on_close(lp, move |_, _, _| {
        s.borrow_mut().events.push("close".into())
    })
    .unwrap();
}

/// The response callback that records into `seen`.
fn recorder(seen: &Shared) -> impl FnOnce(&mut Loop, eddy_http::client::ClientResponse) + 'static {
    let seen = seen.clone();
    move |lp, res| {
        {
            let mut s = seen.borrow_mut();
            s.events.push("response".into());
            s.status = res.status(lp).unwrap();
            s.reused = res.request().reused_socket(lp);
        }
        let s = seen.clone();
        res.on_data(lp, move |_, _, d| s.borrow_mut().body.extend_from_slice(d))
            .unwrap();
        let s = seen.clone();
        res.on_end(lp, move |_, _| s.borrow_mut().events.push("end".into()))
            .unwrap();
    }
}

fn get_recorded(lp: &mut Loop, opts: RequestOptions) -> (ClientRequest, Shared) {
    let seen = Shared::default();
    let req = get(lp, opts, recorder(&seen)).unwrap();
    watch(lp, req, &seen);
    (req, seen)
}

#[test]
fn a_premature_close_mid_body_is_an_error_not_a_short_body() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part")
            .unwrap();
    });
    let mut lp = Loop::new().unwrap();
    let (_, seen) = get_recorded(&mut lp, server.opts("/", AgentChoice::Fresh));
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(s.events, ["response", "error", "close"], "{s:?}");
    assert_eq!(s.body, b"only-part");
    assert!(s.error.as_ref().unwrap().contains("aborted"), "{s:?}");
}

#[test]
fn a_chunked_body_cut_short_is_an_error_too() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .unwrap();
    });
    let mut lp = Loop::new().unwrap();
    let (_, seen) = get_recorded(&mut lp, server.opts("/", AgentChoice::Fresh));
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(s.events, ["response", "error", "close"], "{s:?}");
    assert_eq!(s.body, b"hello");
}

#[test]
fn an_invalid_status_line_is_an_error() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let (_, seen) = get_recorded(&mut lp, server.opts("/", AgentChoice::Fresh));
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(s.events, ["error", "close"], "{s:?}");
    let e = s.error.as_ref().unwrap();
    assert!(e.contains("invalid response"), "{e}");
    assert!(
        e.contains(&format!("GET 127.0.0.1:{}/", server.port)),
        "{e}"
    );
}

#[test]
fn informational_responses_come_before_the_final_one() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(
            b"HTTP/1.1 102 Processing\r\n\r\n\
              HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok",
        )
        .unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let seen = Shared::default();
    let s2 = seen.clone();
    let req = request(
        &mut lp,
        server.opts("/", AgentChoice::Fresh),
        move |lp, res| {
            assert_eq!(res.header(lp, "x-final"), Some(&b"yes"[..]));
            assert!(res.header(lp, "link").is_none());
            recorder(&s2)(lp, res)
        },
    )
    .unwrap();
    let s = seen.clone();
    req.on_information(&mut lp, move |_, _, info| {
        let link = String::from_utf8(info.headers.get("Link").unwrap_or_default().to_vec());
        let reason = String::from_utf8(info.reason).unwrap();
        s.borrow_mut()
            .events
            .push(format!("{} {reason} {}", info.status, link.unwrap()));
    })
    .unwrap();
    watch(&mut lp, req, &seen);
    req.end(&mut lp, b"").unwrap();
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(
        s.events,
        [
            "102 Processing ",
            "103 Early Hints </style.css>; rel=preload",
            "response",
            "end",
            "close"
        ]
    );
    assert_eq!((s.status, s.body.as_slice()), (200, &b"ok"[..]));
}

#[test]
fn request_framing_follows_node() {
    // Each connection answers one request, then closes.
    let server = RawServer::start(|_, mut s, log| {
        if read_request(&mut s, log).is_some() {
            s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let done = Rc::new(Cell::new(0));
    let start = |lp: &mut Loop, method: &str, body: &[&[u8]], headers: &[(&str, &str)]| {
        let mut o = server.opts("/p", AgentChoice::Fresh);
        o.method = method.into();
        o.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let d = done.clone();
        let r = request(lp, o, move |_, _| d.set(d.get() + 1)).unwrap();
        let (last, pieces) = body.split_last().unwrap();
        for p in pieces {
            r.write(lp, p).unwrap();
        }
        r.end(lp, last).unwrap();
        // One request at a time, so the log's order is ours.
        run(lp);
    };
    start(&mut lp, "GET", &[b""], &[]);
    start(&mut lp, "POST", &[b"hello"], &[("X-Case", "KeEp")]);
    start(&mut lp, "POST", &[b""], &[]);
    start(&mut lp, "PUT", &[b"ab", b"cde"], &[]);
    start(
        &mut lp,
        "POST",
        &[b"ab", b"cde"],
        &[("Content-Length", "5")],
    );
    assert_eq!(done.get(), 5);
    let log = server.requests();
    let host = format!("Host: 127.0.0.1:{}\r\n", server.port);
    assert_eq!(
        log[0],
        format!("GET /p HTTP/1.1\r\n{host}Connection: close\r\n\r\n")
    );
    assert_eq!(
        log[1],
        format!("POST /p HTTP/1.1\r\nX-Case: KeEp\r\n{host}Connection: close\r\nContent-Length: 5\r\n\r\nhello")
    );
    assert!(log[2].contains("Content-Length: 0\r\n"), "{}", log[2]);
    assert!(
        log[3].ends_with("Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        "{}",
        log[3]
    );
    assert!(log[4].contains("\r\nContent-Length: 5\r\n"), "{}", log[4]);
    assert!(log[4].ends_with("\r\n\r\nabcde"), "{}", log[4]);
    assert!(!log[4].contains("chunked"), "{}", log[4]);
}

#[test]
fn a_reused_socket_that_hangs_up_is_retried_once_for_get_but_not_for_post() {
    for (method, retried) in [("GET", true), ("POST", false)] {
        // Connection 0 answers one request, then closes when the second one
        // arrives (the keep-alive race); later connections answer properly.
        let server = RawServer::start(|i, mut s, log| {
            let mut served = 0;
            while read_request(&mut s, log).is_some() {
                if i == 0 && served == 1 {
                    return;
                }
                served += 1;
                let body = format!("conn {i}");
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(resp.as_bytes()).unwrap();
            }
        });
        let mut lp = Loop::new().unwrap();
        let agent = keep_alive_agent(&mut lp, 1);
        let (_, first) = get_recorded(&mut lp, server.opts("/", agent.into()));
        run(&mut lp);
        assert_eq!(first.borrow().body, b"conn 0");
        let mut o = server.opts("/", agent.into());
        o.method = method.into();
        let (_, second) = get_recorded(&mut lp, o);
        run(&mut lp);
        let s = second.borrow();
        if retried {
            assert_eq!(s.events, ["response", "end", "close"], "{s:?}");
            assert_eq!(s.body, b"conn 1");
            assert!(!s.reused, "a retry runs on a fresh socket");
            assert_eq!(agent.sockets_created(&lp), 2);
            let stats = agent.stats(&lp).unwrap();
            assert_eq!((stats.reused, stats.retried), (1, 1), "{stats:?}");
        } else {
            let stats = agent.stats(&lp).unwrap();
            assert_eq!((stats.reused, stats.retried), (1, 0), "{stats:?}");
            assert_eq!(s.events, ["error", "close"], "{s:?}");
            assert!(
                s.error.as_ref().unwrap().contains("socket hang up"),
                "{s:?}"
            );
        }
    }
}

#[test]
fn a_free_socket_closed_by_the_server_is_dropped_and_not_reused() {
    let server = RawServer::start(|i, mut s, log| {
        read_request(&mut s, log).unwrap();
        let body = format!("conn {i}");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).unwrap();
        // The server's keep-alive timeout, as far as the client can tell.
        drop(s);
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let (_, first) = get_recorded(&mut lp, server.opts("/", agent.into()));
    // The free socket is unref'd, so `run` returns once the response ends;
    // run again until the EOF has dropped it.
    run(&mut lp);
    assert_eq!(first.borrow().body, b"conn 0");
    let poll = Timer::new(&mut lp);
    poll.start(&mut lp, 1, 1, move |lp, t| {
        if agent.free_sockets(lp) == 0 {
            t.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    run(&mut lp);
    assert_eq!(agent.total_sockets(&lp), 0);
    let mut o = server.opts("/", agent.into());
    o.method = "POST".into();
    let (_, second) = get_recorded(&mut lp, o);
    run(&mut lp);
    let s = second.borrow();
    assert_eq!(s.events, ["response", "end", "close"], "{s:?}");
    assert_eq!(s.body, b"conn 1");
    assert_eq!(agent.sockets_created(&lp), 2);
}

#[test]
fn head_responses_have_no_body_and_keep_the_socket() {
    let server = RawServer::start(|_, mut s, log| {
        while let Some(req) = read_request(&mut s, log) {
            let head = req.starts_with("HEAD");
            let resp: &[u8] = if head {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            };
            s.write_all(resp).unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let mut o = server.opts("/", agent.into());
    o.method = "HEAD".into();
    let (_, head) = get_recorded(&mut lp, o);
    let (_, body) = get_recorded(&mut lp, server.opts("/", agent.into()));
    run(&mut lp);
    assert_eq!(head.borrow().events, ["response", "end", "close"]);
    assert_eq!(head.borrow().body, b"");
    assert_eq!(body.borrow().body, b"hello");
    assert!(body.borrow().reused);
    assert_eq!(agent.sockets_created(&lp), 1);
}

#[test]
fn pause_holds_the_body_and_resume_delivers_it_in_order() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        s.write_all(head.as_bytes()).unwrap();
        let _ = s.write_all(&body);
    });
    let mut lp = Loop::new().unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let pauses = Rc::new(Cell::new(0));
    let ended = Rc::new(Cell::new(false));
    let (g, p, e) = (got.clone(), pauses.clone(), ended.clone());
    get(
        &mut lp,
        server.opts("/", AgentChoice::Fresh),
        move |lp, res| {
            let (g2, p2) = (g.clone(), p.clone());
            res.on_data(lp, move |lp, res, d| {
                g2.borrow_mut().extend_from_slice(d);
                // Every fourth delivery, pause and resume from a timer.
                p2.set(p2.get() + 1);
                if p2.get() % 4 == 0 {
                    res.pause(lp).unwrap();
                    let t = Timer::new(lp);
                    t.start(lp, 1, 0, move |lp, t| {
                        res.resume(lp).unwrap();
                        t.close(lp, |_, _| {}).unwrap();
                    })
                    .unwrap();
                }
            })
            .unwrap();
            res.on_end(lp, move |_, _| e.set(true)).unwrap();
        },
    )
    .unwrap();
    run(&mut lp);
    assert!(ended.get());
    let got = got.borrow();
    assert_eq!(got.len(), 2_000_000);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    assert!(pauses.get() >= 4);
}

#[test]
fn abort_mid_response_closes_quietly_and_the_socket_is_not_pooled() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 4);
    let seen = Shared::default();
    let s2 = seen.clone();
    let req = get(&mut lp, server.opts("/", agent.into()), move |lp, res| {
        s2.borrow_mut().events.push("response".into());
        res.on_data(lp, |lp, res, _| res.request().abort(lp).unwrap())
            .unwrap();
    })
    .unwrap();
    watch(&mut lp, req, &seen);
    run(&mut lp);
    assert_eq!(seen.borrow().events, ["response", "close"]);
    assert!(!req.is_active(&lp));
    assert_eq!(agent.total_sockets(&lp), 0);
    assert!(matches!(req.end(&mut lp, b""), Err(Error::Closed(_))));
}

#[test]
fn an_idle_request_times_out() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let mut o = server.opts("/", AgentChoice::Fresh);
    o.timeout_ms = 50;
    let (_, seen) = get_recorded(&mut lp, o);
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(s.events, ["error", "close"]);
    assert!(
        s.error.as_ref().unwrap().contains("timed out after 50 ms"),
        "{s:?}"
    );
}

#[test]
fn an_early_final_answer_to_expect_continue_drops_the_body() {
    let server = RawServer::start(|_, mut s, log| {
        let head = read_head_only(&mut s);
        log.push(head);
        s.write_all(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        // Whatever else arrives (nothing should) is recorded.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        log.push(String::from_utf8_lossy(&rest).into_owned());
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let mut o = server.opts("/up", agent.into());
    o.method = "PUT".into();
    o.expect_continue = true;
    o.headers = vec![("Content-Length".into(), "4".into())];
    let seen = Shared::default();
    let req = request(&mut lp, o, recorder(&seen)).unwrap();
    watch(&mut lp, req, &seen);
    req.end(&mut lp, b"body").unwrap();
    run(&mut lp);
    assert_eq!(seen.borrow().status, 417);
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
    // The socket was not pooled: the server saw EOF, and no body.
    let log = server.requests.wait_for(2);
    assert!(log[0].contains("Expect: 100-continue\r\n"), "{}", log[0]);
    assert_eq!(log[1], "");
    assert_eq!(agent.total_sockets(&lp), 0);
}

fn read_head_only(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn an_idle_pool_does_not_keep_the_loop_alive() {
    let server = RawServer::start(|_, mut s, log| {
        while read_request(&mut s, log).is_some() {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let (_, seen) = get_recorded(&mut lp, server.opts("/", agent.into()));
    // No watchdog here: `run` must return by itself.
    lp.run(RunMode::Default);
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
    assert_eq!(agent.free_sockets(&lp), 1);
    agent.destroy(&mut lp).unwrap();
    lp.run(RunMode::Default);
    assert!(agent.destroy(&mut lp).is_err());
}

#[test]
fn an_unrefd_agent_lets_the_loop_end_until_it_is_refd_again() {
    let server = RawServer::start(|_, mut s, log| {
        while read_request(&mut s, log).is_some() {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    assert!(agent.has_ref(&lp));
    agent.unref(&mut lp).unwrap();
    assert!(!agent.has_ref(&lp));
    let (req, seen) = get_recorded(&mut lp, server.opts("/", agent.into()));
    // Nothing referenced: `run` returns before the answer is read.
    lp.run(RunMode::Default);
    assert!(req.is_active(&lp));
    assert!(seen.borrow().events.is_empty());
    agent.ref_(&mut lp).unwrap();
    run(&mut lp);
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
    assert_eq!(seen.borrow().body, b"ok");
    agent.destroy(&mut lp).unwrap();
    assert!(!agent.is_active(&lp));
    assert!(matches!(agent.unref(&mut lp), Err(Error::Closed(_))));
    assert!(!agent.has_ref(&lp) && agent.options(&lp).is_none());
}

#[test]
fn ten_thousand_requests_over_eight_pooled_sockets_to_eddys_server() {
    let mut lp = Loop::new().unwrap();
    let server = Server::new(&mut lp, ServerOptions::default(), |lp, req, res| {
        let path = req.path(lp).unwrap_or("").to_string();
        res.end(lp, path.as_bytes()).unwrap();
    });
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let port = server.listen(&mut lp, addr).unwrap().ip().unwrap().port();
    let agent = keep_alive_agent(&mut lp, 8);
    const TOTAL: usize = 10_000;
    struct Run {
        started: usize,
        done: usize,
        reused: usize,
        created_after_warmup: Option<u64>,
    }
    let state = Rc::new(RefCell::new(Run {
        started: 0,
        done: 0,
        reused: 0,
        created_after_warmup: None,
    }));
    fn next(lp: &mut Loop, port: u16, agent: Agent, st: Rc<RefCell<Run>>, server: Server) {
        let n = {
            let mut s = st.borrow_mut();
            if s.started == TOTAL {
                return;
            }
            s.started += 1;
            s.started
        };
        let o = RequestOptions {
            host: "127.0.0.1".into(),
            port,
            path: format!("/{n}"),
            agent: agent.into(),
            ..RequestOptions::default()
        };
        let st2 = st.clone();
        let req = get(lp, o, move |lp, res| {
            let body = Rc::new(RefCell::new(Vec::new()));
            let b = body.clone();
            res.on_data(lp, move |_, _, d| b.borrow_mut().extend_from_slice(d))
                .unwrap();
            let reused = res.request().reused_socket(lp);
            res.on_end(lp, move |_, _| {
                assert_eq!(*body.borrow(), format!("/{n}").into_bytes());
                let mut s = st2.borrow_mut();
                s.done += 1;
                s.reused += reused as usize;
            })
            .unwrap();
        })
        .unwrap();
        req.on_error(lp, |_, _, e| panic!("request failed: {e}"))
            .unwrap();
        req.on_close(lp, move |lp, _, _| {
            let done = st.borrow().done;
            if done >= 100 && st.borrow().created_after_warmup.is_none() {
                st.borrow_mut().created_after_warmup = Some(agent.sockets_created(lp));
            }
            if done == TOTAL {
                let _ = server.close(lp, |_| {});
            } else {
                next(lp, port, agent, st, server);
            }
        })
        .unwrap();
    }
    for _ in 0..8 {
        next(&mut lp, port, agent, state.clone(), server);
    }
    run(&mut lp);
    let s = state.borrow();
    assert_eq!(s.done, TOTAL);
    assert_eq!(s.created_after_warmup, Some(8));
    assert_eq!(
        agent.sockets_created(&lp),
        8,
        "no new connections after warm-up"
    );
    assert_eq!(s.reused, TOTAL - 8);
}

#[test]
fn stale_handles_give_errors_not_panics() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
    });
    let mut lp = Loop::new().unwrap();
    let keep = Rc::new(Cell::new(None));
    let k = keep.clone();
    let req = get(
        &mut lp,
        server.opts("/", AgentChoice::Fresh),
        move |_, res| k.set(Some(res)),
    )
    .unwrap();
    run(&mut lp);
    let res = keep.get().unwrap();
    assert!(!req.is_active(&lp));
    assert!(res.status(&lp).is_none());
    assert!(matches!(res.pause(&mut lp), Err(Error::Closed(_))));
    assert!(matches!(req.write(&mut lp, b"x"), Err(Error::Closed(_))));
    assert!(req.on_close(&mut lp, |_, _, _| {}).is_err());
    assert!(matches!(req.abort(&mut lp), Err(Error::Closed(_))));
    assert!(req.socket(&lp).is_none() && !req.reused_socket(&lp) && !req.headers_sent(&lp));
}

#[test]
fn upgrade_hands_the_stream_and_head_to_the_callback() {
    let server = RawServer::start(|_, mut s, log| {
        let req = read_request(&mut s, log).unwrap();
        assert!(req.contains("Upgrade: line\r\n"), "{req}");
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: line\r\n\r\nhello ",
        )
        .unwrap();
        // Echo what the client sends in the new protocol.
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        s.write_all(&buf[..n]).unwrap();
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 4);
    let mut o = server.opts("/", agent.into());
    o.headers = vec![
        ("Connection".into(), "Upgrade".into()),
        ("Upgrade".into(), "line".into()),
    ];
    let req = request(&mut lp, o, |_, _| panic!("no response event for a 101")).unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    req.on_upgrade(&mut lp, move |lp, res, stream, head| {
        assert_eq!(res.status(lp), Some(101));
        assert_eq!(res.header(lp, "upgrade"), Some(&b"line"[..]));
        g.borrow_mut().extend_from_slice(&head);
        stream.write(lp, b"world").unwrap();
        let g = g.clone();
        stream
            .read_start(lp, move |lp, s, ev| match ev {
                eddy_net::ReadEvent::Data(d) => g.borrow_mut().extend_from_slice(d),
                _ => s.close(lp, |_, _| {}).unwrap(),
            })
            .unwrap();
    })
    .unwrap();
    req.end(&mut lp, b"").unwrap();
    run(&mut lp);
    assert_eq!(*got.borrow(), b"hello world");
    // The socket left the Agent.
    assert_eq!(agent.total_sockets(&lp), 0);
}

#[test]
fn a_101_nobody_asked_for_is_an_error() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
        )
        .unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let (_, seen) = get_recorded(&mut lp, server.opts("/", AgentChoice::Fresh));
    run(&mut lp);
    let s = seen.borrow();
    assert_eq!(s.events, ["error", "close"]);
    assert!(
        s.error.as_ref().unwrap().contains("unexpected 101"),
        "{s:?}"
    );
}

#[test]
fn requests_over_a_unix_socket() {
    let mut lp = Loop::new().unwrap();
    let path = std::env::temp_dir().join(format!("eddy-client-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = Server::new(&mut lp, ServerOptions::default(), |lp, req, res| {
        let host = req.header_joined(lp, "host").unwrap_or_default();
        res.end(lp, format!("host={host}").as_bytes()).unwrap();
    });
    server
        .listen(&mut lp, eddy_net::Address::Unix(path.clone()))
        .unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let opts = || RequestOptions {
        socket_path: Some(path.clone()),
        agent: agent.into(),
        ..RequestOptions::default()
    };
    let (_, a) = get_recorded(&mut lp, opts());
    let (_, b) = get_recorded(&mut lp, opts());
    let done = Rc::new(Cell::new(0));
    let d = done.clone();
    let check = eddy_loop::Check::new(&mut lp);
    check
        .start(&mut lp, move |lp, me| {
            if d.get() == 0 && agent.free_sockets(lp) == 1 && agent.waiting_requests(lp) == 0 {
                d.set(1);
                let _ = server.close(lp, |_| {});
                me.close(lp, |_, _| {}).unwrap();
            }
        })
        .unwrap();
    run(&mut lp);
    assert_eq!(a.borrow().body, b"host=localhost");
    assert_eq!(b.borrow().body, b"host=localhost");
    assert!(b.borrow().reused);
    assert_eq!(agent.sockets_created(&lp), 1);
}

#[test]
fn max_total_sockets_makes_room_across_destinations() {
    let script: Script = |_, mut s, log| {
        while read_request(&mut s, log).is_some() {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
        }
    };
    let (one, two) = (RawServer::start(script), RawServer::start(script));
    let mut lp = Loop::new().unwrap();
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            max_total_sockets: 1,
            ..AgentOptions::default()
        },
    );
    let (_, a) = get_recorded(&mut lp, one.opts("/", agent.into()));
    let (_, b) = get_recorded(&mut lp, two.opts("/", agent.into()));
    assert_eq!(agent.waiting_requests(&lp), 1);
    assert_eq!(agent.total_sockets(&lp), 1);
    run(&mut lp);
    assert_eq!(a.borrow().events, ["response", "end", "close"]);
    assert_eq!(b.borrow().events, ["response", "end", "close"]);
    // The first destination's socket was closed to make room.
    assert_eq!(agent.sockets_created(&lp), 2);
    assert_eq!(agent.total_sockets(&lp), 1);
    // A request to the first destination now takes the only slot from the
    // second's free socket.
    let (_, c) = get_recorded(&mut lp, one.opts("/", agent.into()));
    run(&mut lp);
    assert_eq!(c.borrow().body, b"ok");
    assert_eq!(agent.sockets_created(&lp), 3);
    assert_eq!(agent.total_sockets(&lp), 1);
}

#[test]
fn a_free_socket_closes_before_the_servers_keep_alive_timeout() {
    let server = RawServer::start(|_, mut s, log| {
        read_request(&mut s, log).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        // The server would wait forever; the client leaves first.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        log.push("client closed".into());
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let (_, seen) = get_recorded(&mut lp, server.opts("/", agent.into()));
    run(&mut lp);
    assert_eq!(seen.borrow().body, b"ok");
    assert_eq!(agent.free_sockets(&lp), 1);
    let started = lp.now();
    // The free socket's timer is unref'd too: keep the loop alive until
    // the pool is empty.
    let poll = Timer::new(&mut lp);
    poll.start(&mut lp, 10, 10, move |lp, t| {
        if agent.free_sockets(lp) == 0 {
            t.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    run(&mut lp);
    // 750 ms: a quarter before the hint (no upper bound: a loaded machine
    // may run the timer late).
    let waited = lp.now() - started;
    assert!(waited >= 700, "closed after {waited} ms");
    let log = server.requests.wait_for(2);
    assert_eq!(log[1], "client closed");
}

#[test]
fn a_body_written_while_waiting_for_a_socket_drains_once_it_is_sent() {
    let server = RawServer::start(|_, mut s, log| {
        while read_request(&mut s, log).is_some() {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let (_, first) = get_recorded(&mut lp, server.opts("/", agent.into()));
    let mut o = server.opts("/up", agent.into());
    o.method = "POST".into();
    let seen = Shared::default();
    let req = request(&mut lp, o, recorder(&seen)).unwrap();
    watch(&mut lp, req, &seen);
    assert_eq!(agent.waiting_requests(&lp), 1);
    let big = vec![b'x'; 40_000];
    assert!(
        !req.write(&mut lp, &big).unwrap(),
        "over the mark while waiting"
    );
    let drained = Rc::new(Cell::new(false));
    let d = drained.clone();
    req.on_drain(&mut lp, move |lp, r| {
        d.set(true);
        r.end(lp, b"").unwrap();
    })
    .unwrap();
    run(&mut lp);
    assert_eq!(first.borrow().events, ["response", "end", "close"]);
    assert!(drained.get());
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
    let log = server.requests();
    assert!(log[1].starts_with("POST /up HTTP/1.1\r\n"));
    assert!(log[1].len() > 40_000);
}

#[test]
fn local_address_set_host_and_the_socket_event() {
    let server = RawServer::start(|_, mut s, log| {
        let peer = s.peer_addr().unwrap().ip().to_string();
        let req = read_request(&mut s, log).unwrap();
        let body = format!("{peer}|{}", req.contains("Host:"));
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let mut o = server.opts("/", AgentChoice::Fresh);
    o.local_address = Some("127.0.0.2".parse().unwrap());
    o.set_host = false;
    let (req, seen) = get_recorded(&mut lp, o);
    let socket_seen = Rc::new(Cell::new(false));
    let ss = socket_seen.clone();
    req.on_socket(&mut lp, move |lp, r, stream| {
        assert_eq!(r.socket(lp), Some(stream));
        let local = stream.local_addr(lp).unwrap().ip().unwrap().ip();
        assert_eq!(local.to_string(), "127.0.0.2");
        ss.set(true);
    })
    .unwrap();
    run(&mut lp);
    assert!(socket_seen.get());
    assert_eq!(seen.borrow().body, b"127.0.0.2|false");
}

/// Answers every request on a connection with "ok".
fn ok_forever(_: usize, mut s: TcpStream, log: &Arc<Log>) {
    while read_request(&mut s, log).is_some() {
        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

/// A socket handed to a user (`on_socket`, or `ClientRequest::socket`)
/// may carry the user's own idle timeout: back in the pool, it gets the
/// Agent's again, which closes it once it has been free too long.
#[test]
fn a_lent_socket_gets_the_agents_idle_timeout_back_in_the_pool() {
    for by_query in [false, true] {
        let server = RawServer::start(ok_forever);
        let mut lp = Loop::new().unwrap();
        let agent = Agent::new(
            &mut lp,
            AgentOptions {
                keep_alive: true,
                timeout_ms: 50,
                ..AgentOptions::default()
            },
        );
        let (req, seen) = get_recorded(&mut lp, server.opts("/", agent.into()));
        let lent = Rc::new(Cell::new(None));
        if by_query {
            let stream = req.socket(&lp).expect("a socket, connecting");
            stream.set_timeout(&mut lp, 60_000, |_, _| {}).unwrap();
            lent.set(Some(stream));
        } else {
            let l = lent.clone();
            req.on_socket(&mut lp, move |lp, _, stream| {
                stream.set_timeout(lp, 60_000, |_, _| {}).unwrap();
                l.set(Some(stream));
            })
            .unwrap();
        }
        // Ten of the Agent's idle periods later, the free socket is closed.
        let open_after = Rc::new(Cell::new(None));
        let o = open_after.clone();
        lp.set_timeout(500, move |lp, _| {
            o.set(lent.get().map(|s| s.is_active(lp)));
        });
        run(&mut lp);
        assert_eq!(seen.borrow().events, ["response", "end", "close"]);
        assert_eq!(
            open_after.get(),
            Some(false),
            "closed by the Agent's timeout (lent by {})",
            if by_query { "socket()" } else { "on_socket" }
        );
    }
}

#[test]
fn a_waiting_request_gets_a_socket_whose_last_response_was_paused() {
    let server = RawServer::start(ok_forever);
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let seen = Shared::default();
    let record = recorder(&seen);
    let req = get(&mut lp, server.opts("/", agent.into()), move |lp, res| {
        // Paused before the body: resumed later, from a timer.
        res.pause(lp).unwrap();
        record(lp, res);
        let t = Timer::new(lp);
        t.start(lp, 5, 0, move |lp, t| {
            res.resume(lp).unwrap();
            t.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    })
    .unwrap();
    watch(&mut lp, req, &seen);
    let (_, second) = get_recorded(&mut lp, server.opts("/", agent.into()));
    run(&mut lp);
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
    assert_eq!(second.borrow().events, ["response", "end", "close"]);
    assert!(second.borrow().reused);
}

#[test]
fn nothing_but_close_follows_an_abort_after_resume() {
    let server = RawServer::start(ok_forever);
    let mut lp = Loop::new().unwrap();
    let seen = Shared::default();
    let record = recorder(&seen);
    let req = get(
        &mut lp,
        server.opts("/", AgentChoice::Fresh),
        move |lp, res| {
            res.pause(lp).unwrap();
            record(lp, res);
            let t = Timer::new(lp);
            t.start(lp, 5, 0, move |lp, t| {
                res.resume(lp).unwrap();
                res.request().abort(lp).unwrap();
                t.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        },
    )
    .unwrap();
    watch(&mut lp, req, &seen);
    run(&mut lp);
    assert_eq!(seen.borrow().events, ["response", "close"]);
    assert_eq!(seen.borrow().body, b"");
}

#[test]
fn closing_the_lent_socket_fails_the_request_and_frees_the_slot() {
    let server = RawServer::start(|_, mut s, log| {
        // Never answers the first connection's request.
        if read_request(&mut s, log).is_some() {
            let _ = s.read(&mut [0; 16]);
        }
    });
    let other = RawServer::start(ok_forever);
    let mut lp = Loop::new().unwrap();
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            max_total_sockets: 1,
            ..AgentOptions::default()
        },
    );
    let (req, first) = get_recorded(&mut lp, server.opts("/", agent.into()));
    req.on_socket(&mut lp, |lp, _, stream| {
        stream.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    let (_, second) = get_recorded(&mut lp, other.opts("/", agent.into()));
    run(&mut lp);
    let f = first.borrow();
    assert_eq!(f.events, ["error", "close"], "{f:?}");
    // Closed while connecting: the connect is cancelled; later, a hang-up.
    let e = f.error.as_ref().unwrap();
    assert!(
        e.contains("stream was closed") || e.contains("socket hang up"),
        "{f:?}"
    );
    assert_eq!(second.borrow().events, ["response", "end", "close"]);
    assert_eq!(agent.total_sockets(&lp), 1);
}

#[test]
fn a_body_held_for_100_continue_counts_against_the_mark() {
    let server = RawServer::start(|_, mut s, log| {
        let head = read_head_only(&mut s);
        log.push(head);
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        let mut body = vec![0u8; 40_000];
        s.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let _ = s.read(&mut [0; 16]);
    });
    let mut lp = Loop::new().unwrap();
    let mut o = server.opts("/", AgentChoice::Fresh);
    o.method = "PUT".into();
    o.expect_continue = true;
    o.headers = vec![("Content-Length".into(), "40000".into())];
    let seen = Shared::default();
    let req = request(&mut lp, o, recorder(&seen)).unwrap();
    watch(&mut lp, req, &seen);
    assert!(!req.write(&mut lp, &[7u8; 40_000]).unwrap());
    let drained = Rc::new(Cell::new(false));
    let d = drained.clone();
    req.on_drain(&mut lp, move |lp, r| {
        d.set(true);
        r.end(lp, b"").unwrap();
    })
    .unwrap();
    run(&mut lp);
    assert!(drained.get());
    assert_eq!(seen.borrow().events, ["response", "end", "close"]);
}

#[test]
fn hosts_that_could_inject_headers_are_refused() {
    let mut lp = Loop::new().unwrap();
    for host in ["a\r\nEvil: 1", "a b", "a/b", "user@a", ""] {
        let o = RequestOptions {
            host: host.into(),
            ..RequestOptions::default()
        };
        assert!(
            matches!(get(&mut lp, o, |_, _| {}), Err(Error::InvalidUrl(_))),
            "{host:?}"
        );
    }
}

#[test]
fn no_body_for_204_and_304_even_with_a_content_length() {
    let server = RawServer::start(|_, mut s, log| {
        while let Some(req) = read_request(&mut s, log) {
            let resp: &[u8] = if req.starts_with("GET /204") {
                b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            } else if req.starts_with("GET /304") {
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
            };
            s.write_all(resp).unwrap();
        }
    });
    let mut lp = Loop::new().unwrap();
    let agent = keep_alive_agent(&mut lp, 1);
    let (_, a) = get_recorded(&mut lp, server.opts("/204", agent.into()));
    let (_, b) = get_recorded(&mut lp, server.opts("/304", agent.into()));
    let (_, c) = get_recorded(&mut lp, server.opts("/", agent.into()));
    run(&mut lp);
    assert_eq!((a.borrow().status, a.borrow().body.len()), (204, 0));
    assert_eq!((b.borrow().status, b.borrow().body.len()), (304, 0));
    assert_eq!(c.borrow().body, b"final");
    assert_eq!(agent.sockets_created(&lp), 1);
}

#[test]
fn max_free_sockets_and_the_agents_free_socket_timeout() {
    let server = RawServer::start(ok_forever);
    let mut lp = Loop::new().unwrap();
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            max_free_sockets: 1,
            timeout_ms: 50,
            ..AgentOptions::default()
        },
    );
    let (_, a) = get_recorded(&mut lp, server.opts("/", agent.into()));
    let (_, b) = get_recorded(&mut lp, server.opts("/", agent.into()));
    // Both responses in: one socket kept, the other closed.
    let kept = Rc::new(Cell::new(usize::MAX));
    let k = kept.clone();
    let check = eddy_loop::Check::new(&mut lp);
    check
        .start(&mut lp, move |lp, me| {
            if agent.total_sockets(lp) == 1 && agent.free_sockets(lp) == 1 {
                k.set(agent.free_sockets(lp));
                me.close(lp, |_, _| {}).unwrap();
            }
        })
        .unwrap();
    run(&mut lp);
    assert_eq!(a.borrow().events, ["response", "end", "close"]);
    assert_eq!(b.borrow().events, ["response", "end", "close"]);
    assert_eq!(kept.get(), 1);
    assert_eq!(agent.sockets_created(&lp), 2);
    // The kept one goes after the Agent's 50 ms timeout.
    let poll = Timer::new(&mut lp);
    poll.start(&mut lp, 5, 5, move |lp, t| {
        if agent.total_sockets(lp) == 0 {
            t.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    run(&mut lp);
    assert_eq!(agent.free_sockets(&lp), 0);
}
