//! eddy's HTTP client against servers eddy did not write: Node's `http`
//! server (`peers/node_server.js`: trailers, keep-alive, Agent limits and
//! scheduling, 100-continue, sockets the server closes (idle, or under a
//! request: GET retried, POST not), a CONNECT proxy) and
//! Python's `http.server` (HTTP/1.0, a 32 MiB body, with a Content-Length
//! and close-delimited by `peers/py_close_delimited.py`).
//!
//! Each test spawns its own peer, reads its ready line, and drives the
//! client on one loop with an unref'd watchdog timer that fails the test
//! after 20 s. Children are killed when the test ends.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use eddy_http::client::{
    request, Agent, AgentChoice, AgentOptions, ClientRequest, RequestOptions, Scheduling,
};
use eddy_loop::{Handle, Loop, RunMode, Timer};
use eddy_net::ReadEvent;

const WATCHDOG_MS: u64 = 20_000;

// ---------------------------------------------------------------------------
// Peers

/// A child process serving the test; killed on drop.
struct Peer {
    child: Child,
    /// Its first line on stdout.
    ready: String,
}

impl Peer {
    /// Spawns `cmd` and waits (at most 20 s) for its first stdout line.
    fn spawn(mut cmd: Command) -> Peer {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e} (node and python3 are installed in CI)"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the child never blocks on a full pipe.
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        });
        let mut peer = Peer {
            child,
            ready: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if !line.trim().is_empty() => peer.ready = line.trim().to_string(),
            _ => {
                let _ = peer.child.kill();
                let _ = peer.child.wait();
                panic!("{what}: no ready line; stderr:\n{}", stderr.lock().unwrap());
            }
        }
        peer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// `peers/node_server.js`: its HTTP port and its TCP echo port.
struct NodePeer {
    _peer: Peer,
    http: u16,
    echo: u16,
}

fn node_server() -> NodePeer {
    let mut cmd = Command::new("node");
    cmd.arg(peer_script("node_server.js"));
    let peer = Peer::spawn(cmd);
    let ports: Vec<u16> = peer
        .ready
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 2, "ready line {:?}", peer.ready);
    NodePeer {
        http: ports[0],
        echo: ports[1],
        _peer: peer,
    }
}

// ---------------------------------------------------------------------------
// Client helpers

/// Fails the test if the loop is still running after 20 s. Unref'd: it
/// never keeps the loop alive by itself.
fn watchdog(lp: &mut Loop, what: &'static str) {
    let t = Timer::new(lp);
    t.start(lp, WATCHDOG_MS, 0, move |_, _| {
        panic!("{what}: not finished after {WATCHDOG_MS} ms")
    })
    .unwrap();
    t.unref(lp).unwrap();
}

fn agent(lp: &mut Loop, tweak: impl FnOnce(&mut AgentOptions)) -> Agent {
    let mut o = AgentOptions {
        keep_alive: true,
        ..AgentOptions::default()
    };
    tweak(&mut o);
    Agent::new(lp, o)
}

fn opts(port: u16, method: &str, path: &str, agent: Agent) -> RequestOptions {
    RequestOptions {
        host: "127.0.0.1".into(),
        port,
        method: method.into(),
        path: path.into(),
        agent: AgentChoice::Use(agent),
        ..RequestOptions::default()
    }
}

/// One finished exchange, as the client saw it.
#[derive(Debug, Default)]
struct Got {
    status: u16,
    version: (u8, u8),
    headers: Vec<(String, String)>,
    trailers: Vec<(String, String)>,
    body: Vec<u8>,
    /// `reused_socket` when the response head arrived.
    reused: bool,
    /// The client's port on the socket that carried it.
    local_port: u16,
    /// Order of events seen: "continue", "response", "end", "close".
    events: Vec<&'static str>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The server's `X-Remote-Port` / `X-Connections` headers.
    fn num(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .parse()
            .unwrap()
    }
}

fn strings(list: &eddy_http::server::HeaderList) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Starts a request with `body` (ended at once) and calls `done` from the
/// request's `close` callback, after its socket went back to the pool. An
/// error fails the test.
fn fetch(
    lp: &mut Loop,
    o: RequestOptions,
    body: &[u8],
    done: impl FnOnce(&mut Loop, Got) + 'static,
) -> ClientRequest {
    let got = Rc::new(RefCell::new(Got::default()));
    let g = got.clone();
    let req = request(lp, o, move |lp, res| {
        {
            let mut got = g.borrow_mut();
            got.events.push("response");
            got.status = res.status(lp).unwrap();
            got.version = res.version(lp).unwrap();
            got.headers = strings(res.headers(lp).unwrap());
            got.reused = res.request().reused_socket(lp);
        }
        let stream = res
            .request()
            .socket(lp)
            .expect("a socket while the response runs");
        g.borrow_mut().local_port = stream.local_addr(lp).unwrap().ip().unwrap().port();
        let data = g.clone();
        res.on_data(lp, move |_, _, chunk| {
            data.borrow_mut().body.extend_from_slice(chunk)
        })
        .unwrap();
        let end = g.clone();
        res.on_end(lp, move |lp, res| {
            let mut got = end.borrow_mut();
            got.events.push("end");
            got.trailers = strings(res.trailers(lp).unwrap());
        })
        .unwrap();
    })
    .unwrap();
    let g = got.clone();
    req.on_continue(lp, move |_, _| g.borrow_mut().events.push("continue"))
        .unwrap();
    req.on_error(lp, |_, r, e| panic!("request {r:?} failed: {e}"))
        .unwrap();
    req.on_close(lp, move |lp, _, _| {
        let mut got = got.take();
        got.events.push("close");
        assert!(
            got.events.contains(&"end"),
            "closed without an end: {got:?}"
        );
        done(lp, got);
    })
    .unwrap();
    req.end(lp, body).unwrap();
    req
}

type AllDone = Box<dyn FnOnce(&mut Loop, Vec<Got>)>;

/// Makes `paths.len()` requests one after the other (each from the
/// previous one's `close`), then calls `done` with every result.
fn sequential(
    lp: &mut Loop,
    port: u16,
    agent: Agent,
    paths: Vec<String>,
    done: impl FnOnce(&mut Loop, Vec<Got>) + 'static,
) {
    fn step(
        lp: &mut Loop,
        port: u16,
        agent: Agent,
        mut paths: std::collections::VecDeque<String>,
        mut acc: Vec<Got>,
        done: AllDone,
    ) {
        let Some(path) = paths.pop_front() else {
            return done(lp, acc);
        };
        fetch(lp, opts(port, "GET", &path, agent), b"", move |lp, got| {
            acc.push(got);
            step(lp, port, agent, paths, acc, done);
        });
    }
    step(lp, port, agent, paths.into(), Vec::new(), Box::new(done));
}

/// A value filled in by a callback, taken after `run`.
type Slot<T> = Rc<RefCell<Option<T>>>;

fn slot<T>() -> (Slot<T>, Slot<T>) {
    let s = Rc::new(RefCell::new(None));
    (s.clone(), s)
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

// ---------------------------------------------------------------------------
// Node's http server

#[test]
fn node_chunked_response_with_trailers() {
    let node = node_server();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "trailers");
    let a = agent(&mut lp, |_| {});
    let (out, put) = slot();
    fetch(
        &mut lp,
        opts(node.http, "GET", "/trailers", a),
        b"",
        move |_, got| *put.borrow_mut() = Some(got),
    );
    lp.run(RunMode::Default);
    let got = out.take().expect("the response ended");
    assert_eq!(got.status, 200);
    assert_eq!(got.header("transfer-encoding"), Some("chunked"), "{got:?}");
    assert_eq!(got.header("trailer"), Some("X-Parts, X-Checksum"));
    assert_eq!(got.body, b"alpha-beta-gamma");
    assert_eq!(got.trailer("x-parts"), Some("3"), "{got:?}");
    assert_eq!(got.trailer("X-Checksum"), Some("sum-16"), "{got:?}");
    assert_eq!(got.trailers.len(), 2, "{got:?}");
    assert_eq!(got.events, ["response", "end", "close"]);
    // The chunked body ended cleanly: the socket is pooled.
    assert_eq!(a.free_sockets(&lp), 1);
}

#[test]
fn node_keep_alive_agent_reuses_one_connection() {
    const N: usize = 6;
    let node = node_server();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "keep-alive");
    let a = agent(&mut lp, |_| {});
    let (out, put) = slot();
    let paths = (0..N).map(|i| format!("/n{i}")).collect();
    sequential(&mut lp, node.http, a, paths, move |_, all| {
        *put.borrow_mut() = Some(all)
    });
    lp.run(RunMode::Default);
    let all = out.take().expect("every request finished");
    assert_eq!(all.len(), N);
    for (i, got) in all.iter().enumerate() {
        assert_eq!(got.status, 200);
        assert_eq!(got.body, format!("ok /n{i}").as_bytes());
        assert_eq!(got.reused, i > 0, "request {i}");
        assert_eq!(
            got.num("x-connections"),
            1,
            "request {i}: server connections"
        );
        assert_eq!(got.num("x-remote-port"), got.local_port as u64);
        assert_eq!(got.local_port, all[0].local_port);
    }
    assert_eq!(a.sockets_created(&lp), 1);
    assert_eq!((a.total_sockets(&lp), a.free_sockets(&lp)), (1, 1));
}

#[test]
fn node_max_sockets_1_queues_the_second_request() {
    let node = node_server();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "max_sockets");
    let a = agent(&mut lp, |o| o.max_sockets = 1);
    let results: Rc<RefCell<Vec<(usize, Got)>>> = Rc::default();
    for i in 0..2 {
        let r = results.clone();
        fetch(
            &mut lp,
            opts(node.http, "GET", &format!("/q{i}"), a),
            b"",
            move |_, got| r.borrow_mut().push((i, got)),
        );
    }
    assert_eq!(a.waiting_requests(&lp), 1);
    assert_eq!(a.total_sockets(&lp), 1);
    lp.run(RunMode::Default);
    let results = results.take();
    assert_eq!(results.len(), 2, "both requests finished");
    // The waiting request ran after the first, on its socket.
    assert_eq!(results[0].0, 0);
    let (first, second) = (&results[0].1, &results[1].1);
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body, b"ok /q0");
    assert_eq!(second.body, b"ok /q1");
    assert!(!first.reused);
    assert!(second.reused);
    assert_eq!(second.num("x-connections"), 1);
    assert_eq!(first.num("x-remote-port"), second.num("x-remote-port"));
    assert_eq!(a.sockets_created(&lp), 1);
    assert_eq!(a.waiting_requests(&lp), 0);
}

/// Two sockets opened by two concurrent requests, then four sequential
/// requests: returns (server-side port of the socket released first, of
/// the one released last, ports of the sequential requests).
fn free_socket_order(scheduling: Scheduling) -> (u64, u64, Vec<u64>) {
    let node = node_server();
    let port = node.http;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "scheduling");
    let a = agent(&mut lp, |o| o.scheduling = scheduling);
    let released: Rc<RefCell<Vec<Got>>> = Rc::default();
    let (out, put) = slot();
    let put = Rc::new(RefCell::new(Some(put)));
    for i in 0..2 {
        let released = released.clone();
        let put = put.clone();
        fetch(
            &mut lp,
            opts(port, "GET", &format!("/c{i}"), a),
            b"",
            move |lp, got| {
                released.borrow_mut().push(got);
                if released.borrow().len() < 2 {
                    return;
                }
                // Both sockets are free now, in release order.
                assert_eq!(a.free_sockets(lp), 2);
                let put = put.take().unwrap();
                let paths = (0..4).map(|i| format!("/s{i}")).collect();
                sequential(lp, port, a, paths, move |_, all| {
                    *put.borrow_mut() = Some(all)
                });
            },
        );
    }
    lp.run(RunMode::Default);
    let seq = out.take().expect("every request finished");
    let released = released.take();
    assert_eq!(a.sockets_created(&lp), 2);
    let (first, last) = (
        released[0].num("x-remote-port"),
        released[1].num("x-remote-port"),
    );
    assert_ne!(first, last);
    for got in &seq {
        assert!(got.reused);
        assert_eq!(got.num("x-connections"), 2);
        assert_eq!(got.num("x-remote-port"), got.local_port as u64);
    }
    (
        first,
        last,
        seq.iter().map(|g| g.num("x-remote-port")).collect(),
    )
}

#[test]
fn node_lifo_reuses_the_most_recently_freed_socket() {
    let (_first, last, seq) = free_socket_order(Scheduling::Lifo);
    assert_eq!(seq, [last, last, last, last]);
}

#[test]
fn node_fifo_reuses_the_least_recently_freed_socket() {
    let (first, last, seq) = free_socket_order(Scheduling::Fifo);
    assert_eq!(seq, [first, last, first, last]);
}

#[test]
fn node_expect_100_continue_upload_is_held_then_echoed() {
    let node = node_server();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "100-continue");
    let a = agent(&mut lp, |_| {});
    let body = payload(300_000);
    let mut o = opts(node.http, "POST", "/echo", a);
    o.expect_continue = true;
    let (out, put) = slot();
    // The whole body is handed over at once: the client must hold it
    // until the server says `100 Continue`.
    fetch(&mut lp, o, &body, move |_, got| {
        *put.borrow_mut() = Some(got)
    });
    lp.run(RunMode::Default);
    let got = out.take().expect("the response ended");
    assert_eq!(got.events, ["continue", "response", "end", "close"]);
    assert_eq!(got.status, 200);
    assert_eq!(got.num("x-body-before-continue"), 0, "body sent before 100");
    assert_eq!(got.body.len(), body.len());
    assert!(got.body == body, "echoed body differs");
    assert_eq!(
        a.free_sockets(&lp),
        1,
        "a continued upload keeps its socket"
    );
}

/// Runs `then` once `cond` holds, checking every 5 ms on a loop timer
/// (which keeps the loop alive meanwhile: free sockets do not).
fn wait_until(
    lp: &mut Loop,
    cond: impl Fn(&mut Loop) -> bool + 'static,
    then: impl FnOnce(&mut Loop) + 'static,
) {
    let then = RefCell::new(Some(then));
    let t = Timer::new(lp);
    t.start(lp, 0, 5, move |lp, t| {
        if cond(lp) {
            t.close(lp, |_, _| {}).unwrap();
            if let Some(then) = then.take() {
                then(lp);
            }
        }
    })
    .unwrap();
}

#[test]
fn node_idle_socket_closed_by_the_server_is_dropped_and_a_post_goes_fresh() {
    let node = node_server();
    let port = node.http;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "server closes an idle socket");
    let a = agent(&mut lp, |_| {});
    let (out, put) = slot();
    fetch(
        &mut lp,
        opts(port, "GET", "/hold", a),
        b"",
        move |lp, held| {
            assert_eq!(held.body, b"held");
            assert_eq!(held.header("connection"), Some("keep-alive"));
            // The socket is idle in the pool, and the server still has it.
            assert_eq!((a.free_sockets(lp), a.total_sockets(lp)), (1, 1));
            // On another connection (outside the Agent), ask the server to
            // close it.
            let mut o = opts(port, "GET", "/drop-held", a);
            o.agent = AgentChoice::Fresh;
            fetch(lp, o, b"", move |lp, dropped| {
                assert_eq!(dropped.body, b"dropped");
                // Wait for the client to notice the close on its idle socket.
                wait_until(
                    lp,
                    move |lp| a.total_sockets(lp) == 0,
                    move |lp| {
                        assert_eq!(a.free_sockets(lp), 0);
                        let o = opts(port, "POST", "/echo", a);
                        fetch(lp, o, b"after the close", move |_, post| {
                            *put.borrow_mut() = Some((held, post))
                        });
                    },
                );
            });
        },
    );
    lp.run(RunMode::Default);
    let (held, post) = out.take().expect("every request finished");
    assert!(!post.reused, "the closed socket was reused");
    assert_eq!(post.status, 200);
    assert_eq!(post.body, b"after the close");
    // /hold, /drop-held, the POST.
    assert_eq!(post.num("x-connections"), 3);
    assert_ne!(held.local_port, post.local_port);
    assert_eq!(a.sockets_created(&lp), 2);
}

#[test]
fn node_socket_destroyed_after_its_response_is_not_reused() {
    let node = node_server();
    let port = node.http;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "server closes after the response");
    let a = agent(&mut lp, |_| {});
    let (out, put) = slot();
    fetch(
        &mut lp,
        opts(port, "GET", "/close-after", a),
        b"",
        move |lp, first| {
            // The server said keep-alive, then closed the socket anyway.
            assert_eq!(first.header("connection"), Some("keep-alive"));
            assert_eq!(first.body, b"closing soon");
            wait_until(
                lp,
                move |lp| a.total_sockets(lp) == 0,
                move |lp| {
                    let o = opts(port, "POST", "/echo", a);
                    fetch(lp, o, b"after the close", move |_, second| {
                        *put.borrow_mut() = Some((first, second))
                    });
                },
            );
        },
    );
    lp.run(RunMode::Default);
    let (first, second) = out.take().expect("both requests finished");
    assert!(!first.reused);
    assert!(!second.reused, "the closed socket was reused");
    assert_eq!(second.status, 200);
    assert_eq!(second.body, b"after the close");
    assert_eq!(second.num("x-connections"), 2);
    assert_ne!(first.local_port, second.local_port);
    assert_eq!(a.sockets_created(&lp), 2);
}

/// A request sent on a kept-alive socket that the server then destroys
/// without answering: what the client makes of it.
fn on_a_doomed_socket(method: &'static str) -> (Result<Got, String>, Got, Agent, Loop) {
    let node = node_server();
    let port = node.http;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "doomed socket");
    let a = agent(&mut lp, |_| {});
    let (out, put) = slot();
    fetch(
        &mut lp,
        opts(port, "GET", "/doom", a),
        b"",
        move |lp, doom| {
            assert_eq!(doom.body, b"doomed");
            assert_eq!(a.free_sockets(lp), 1);
            let result: Slot<Result<Got, String>> = Rc::default();
            let got = Rc::new(RefCell::new(Got::default()));
            let g = got.clone();
            let req = request(lp, opts(port, method, "/echo", a), move |lp, res| {
                let mut got = g.borrow_mut();
                got.status = res.status(lp).unwrap();
                got.reused = res.request().reused_socket(lp);
                drop(got);
                let data = g.clone();
                res.on_data(lp, move |_, _, chunk| {
                    data.borrow_mut().body.extend_from_slice(chunk)
                })
                .unwrap();
            })
            .unwrap();
            let r = result.clone();
            req.on_error(lp, move |_, _, e| {
                assert_eq!(e.raw_os_error(), Some(libc::ECONNRESET), "{e}");
                *r.borrow_mut() = Some(Err(e.to_string()));
            })
            .unwrap();
            req.on_close(lp, move |lp, _, _| {
                let res = result.take().unwrap_or_else(|| Ok(got.take()));
                // What the server saw afterwards, on a fresh connection.
                let mut o = opts(port, "GET", "/after", a);
                o.agent = AgentChoice::Fresh;
                fetch(lp, o, b"", move |_, after| {
                    *put.borrow_mut() = Some((res, after))
                });
            })
            .unwrap();
            // Sent on the pooled socket, at once: the server has not closed
            // it yet, so the client cannot know.
            assert!(req.reused_socket(lp));
            req.end(lp, b"payload").unwrap();
        },
    );
    lp.run(RunMode::Default);
    let (res, after) = out.take().expect("every request finished");
    (res, after, a, lp)
}

#[test]
fn node_get_on_a_socket_the_server_destroys_is_retried_once_fresh() {
    let (res, after, a, lp) = on_a_doomed_socket("GET");
    let got = res.expect("the GET succeeded on its retry");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"payload");
    assert!(!got.reused, "the retry runs on a fresh socket");
    assert_eq!(a.sockets_created(&lp), 2);
    // /doom's socket, the retry's, and /after's.
    assert_eq!(after.num("x-connections"), 3);
}

#[test]
fn node_post_on_a_socket_the_server_destroys_fails_unretried() {
    let (res, after, a, lp) = on_a_doomed_socket("POST");
    let err = res.expect_err("a POST is not retried");
    assert!(err.contains("socket hang up"), "{err}");
    assert_eq!(a.sockets_created(&lp), 1);
    // /doom's socket and /after's: no second try.
    assert_eq!(after.num("x-connections"), 2);
}

#[test]
fn node_connect_proxy_tunnels_to_an_echo_server() {
    let node = node_server();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, "CONNECT");
    let a = agent(&mut lp, |_| {});
    let target = format!("127.0.0.1:{}", node.echo);
    let req = request(&mut lp, opts(node.http, "CONNECT", &target, a), |_, res| {
        panic!("CONNECT answered with a plain response: {res:?}")
    })
    .unwrap();
    req.on_error(&mut lp, |_, _, e| panic!("CONNECT failed: {e}"))
        .unwrap();
    const PING: &[u8] = b"ping through the tunnel\n";
    let expected = [&b"echo-ready\n"[..], PING].concat();
    let (out, put) = slot();
    let status = Rc::new(Cell::new(0u16));
    let st = status.clone();
    req.on_connect(&mut lp, move |lp, res, stream, head| {
        st.set(res.status(lp).unwrap());
        // The socket left the Agent.
        assert_eq!(a.total_sockets(lp), 0);
        let got = Rc::new(RefCell::new(head));
        stream.write(lp, PING).unwrap();
        stream
            .read_start(lp, move |lp, s, ev| match ev {
                ReadEvent::Data(bytes) => {
                    got.borrow_mut().extend_from_slice(bytes);
                    if got.borrow().len() >= expected.len() {
                        s.close(lp, |_, _| {}).unwrap();
                        *put.borrow_mut() = Some(got.take());
                    }
                }
                ReadEvent::Eof => panic!("tunnel closed early: {:?}", got.borrow()),
                ReadEvent::Error(e) => panic!("tunnel: {e}"),
            })
            .unwrap();
    })
    .unwrap();
    req.end(&mut lp, b"").unwrap();
    lp.run(RunMode::Default);
    assert_eq!(status.get(), 200);
    let got = out.take().expect("the echo came back");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "echo-ready\nping through the tunnel\n"
    );
    assert_eq!(a.sockets_created(&lp), 1);
}

// ---------------------------------------------------------------------------
// Python's http.server

const BIG: usize = 32 << 20;

/// 32 MiB of 4 KiB blocks, each starting with its index.
fn big_file() -> Vec<u8> {
    let base: Vec<u8> = (0..4096).map(|i| (i * 7 % 251) as u8).collect();
    let mut out = Vec::with_capacity(BIG);
    for k in 0..(BIG / 4096) as u64 {
        let at = out.len();
        out.extend_from_slice(&base);
        out[at..at + 8].copy_from_slice(&k.to_le_bytes());
    }
    out
}

/// FNV-1a over 8-byte words (fast enough in a debug build).
#[derive(Clone, Copy)]
struct Checksum {
    h: u64,
    len: usize,
    tail: [u8; 8],
    tail_len: usize,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            h: 0xcbf2_9ce4_8422_2325,
            len: 0,
            tail: [0; 8],
            tail_len: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len();
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().unwrap()));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    fn finish(mut self) -> (usize, u64) {
        if self.tail_len > 0 {
            let mut last = [0u8; 8];
            last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
            self.word(u64::from_le_bytes(last) ^ (self.tail_len as u64) << 56);
        }
        (self.len, self.h)
    }
}

/// A directory with `big.bin`, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn with_big_file(name: &str) -> (TempDir, (usize, u64)) {
        let dir =
            std::env::temp_dir().join(format!("eddy-client-peers-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = big_file();
        let mut sum = Checksum::new();
        sum.update(&data);
        std::fs::write(dir.join("big.bin"), &data).unwrap();
        (TempDir(dir), sum.finish())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Downloads `/big.bin` from `port`: the response's status, version,
/// headers, and the body's length and checksum.
fn download_big(port: u16, what: &'static str) -> (Got, (usize, u64), Agent, Loop) {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, what);
    let a = agent(&mut lp, |_| {});
    let sum = Rc::new(RefCell::new(Checksum::new()));
    let (out, put) = slot();
    let s = sum.clone();
    let req = request(&mut lp, opts(port, "GET", "/big.bin", a), move |lp, res| {
        let got = Got {
            status: res.status(lp).unwrap(),
            version: res.version(lp).unwrap(),
            headers: strings(res.headers(lp).unwrap()),
            ..Got::default()
        };
        res.on_data(lp, move |_, _, chunk| s.borrow_mut().update(chunk))
            .unwrap();
        res.on_end(lp, move |_, _| *put.borrow_mut() = Some(got))
            .unwrap();
    })
    .unwrap();
    req.on_error(&mut lp, |_, _, e| panic!("download failed: {e}"))
        .unwrap();
    req.end(&mut lp, b"").unwrap();
    lp.run(RunMode::Default);
    let got = out.take().expect("the download ended");
    let sum = sum.borrow().finish();
    (got, sum, a, lp)
}

#[test]
fn python_http_server_sends_32_mib_intact() {
    let (dir, expected) = TempDir::with_big_file("plain");
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
        .arg("--directory")
        .arg(&dir.0);
    let peer = Peer::spawn(cmd);
    // "Serving HTTP on 127.0.0.1 port 40999 (http://127.0.0.1:40999/) ..."
    let port: u16 = peer
        .ready
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("ready line {:?}", peer.ready));
    let (got, sum, a, lp) = download_big(port, "python http.server");
    assert_eq!(got.status, 200);
    assert_eq!(got.version, (1, 0));
    assert_eq!(got.header("content-length"), Some(BIG.to_string().as_str()));
    assert_eq!(sum, expected, "length and checksum");
    // An HTTP/1.0 answer without keep-alive: the socket is not pooled.
    assert_eq!((a.free_sockets(&lp), a.total_sockets(&lp)), (0, 0));
}

#[test]
fn python_close_delimited_32_mib_body_is_intact() {
    let (dir, expected) = TempDir::with_big_file("close");
    let mut cmd = Command::new("python3");
    cmd.arg("-u")
        .arg(peer_script("py_close_delimited.py"))
        .arg(&dir.0);
    let peer = Peer::spawn(cmd);
    let port: u16 = peer
        .ready
        .parse()
        .unwrap_or_else(|_| panic!("ready line {:?}", peer.ready));
    let (got, sum, a, lp) = download_big(port, "python close-delimited");
    assert_eq!(got.status, 200);
    assert_eq!(got.version, (1, 0));
    assert_eq!(got.header("content-length"), None, "{:?}", got.headers);
    assert_eq!(sum, expected, "length and checksum");
    assert_eq!((a.free_sockets(&lp), a.total_sockets(&lp)), (0, 0));
}
