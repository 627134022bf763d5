//! Server telemetry through real sockets: the counters of
//! `Server::stats`, the connection list of `Server::connections` with each
//! connection's state, and `Server::close_connection`.
//!
//! The server runs on its own thread; its handler answers `/stats` and
//! `/conns` with what the server reports, so the test reads the figures
//! over HTTP. Where a figure depends on the server having seen bytes that
//! another socket sent, the test asks again until it has (bounded by a
//! deadline), never sleeping.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{read_response, TestServer};
use eddy_http::parser::ErrorKind;
use eddy_http::server::{CloseReason, Request, Response, Server, ServerOptions};
use eddy_loop::{Handle, Loop, Timer};

thread_local! {
    static SERVER: Cell<Option<Server>> = const { Cell::new(None) };
}

fn remember(_: &mut Loop, server: Server) {
    SERVER.with(|s| s.set(Some(server)));
}

fn server() -> Server {
    SERVER.with(|s| s.get()).expect("setup ran")
}

/// `/stats`: the counters, one `name=value` per line. `/conns`: one line
/// per connection, `id peer_port state served in_flight bytes_in`.
/// `/close?ID`: closes that connection. `/slow`: answers after 30 ms.
/// `/hold`: never answers. `/body`: answers at the end of the body.
/// Anything else: 200 `ok`.
fn handler(lp: &mut Loop, req: Request, res: Response) {
    let target = req.target(lp).unwrap().to_string();
    let server = server();
    match target.as_str() {
        "/stats" => {
            let st = server.stats(lp).unwrap();
            let mut out = format!(
                "accepted={}\nopen={}\nrequests={}\n2xx={}\n4xx={}\npipelined={}\nmax_depth={}\nbytes_in={}\nbytes_out={}\nclosed={}\n",
                st.accepted,
                st.open,
                st.requests,
                st.responses.get(2),
                st.responses.get(4),
                st.pipelined,
                st.max_pipeline_depth,
                st.bytes_in,
                st.bytes_out,
                st.closed.total(),
            );
            for (reason, n) in st.closed.iter() {
                out += &format!("closed_{}={n}\n", reason.name());
            }
            for (kind, n) in &st.parse_errors {
                out += &format!("parse_{}={n}\n", kind.llhttp_name());
            }
            res.end(lp, out.as_bytes()).unwrap();
        }
        "/conns" => {
            let mut out = String::new();
            for c in server.connections(lp).unwrap() {
                let port = c.peer.and_then(|a| a.ip()).map_or(0, |a| a.port());
                out += &format!(
                    "{} {port} {} {} {} {}\n",
                    c.id.as_u64(),
                    c.state.name(),
                    c.requests_served,
                    c.in_flight,
                    c.bytes_in
                );
            }
            res.end(lp, out.as_bytes()).unwrap();
        }
        "/slow" => {
            let t = Timer::new(lp);
            t.start(lp, 30, 0, move |lp, t| {
                res.end(lp, b"slow").unwrap();
                t.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        }
        "/hold" => {}
        "/body" => {
            req.on_end(lp, move |lp, _| res.end(lp, b"got it").unwrap())
                .unwrap();
        }
        t if t.starts_with("/close?") => {
            let want: u64 = t["/close?".len()..].parse().unwrap();
            let id = server
                .connections(lp)
                .unwrap()
                .into_iter()
                .find(|c| c.id.as_u64() == want)
                .map(|c| c.id);
            let found = id.is_some();
            if let Some(id) = id {
                server.close_connection(lp, id).unwrap();
            }
            // A closed id names nothing any more.
            if let Some(id) = id {
                assert!(server.close_connection(lp, id).is_err());
            }
            res.end(lp, if found { b"closed" } else { b"none" })
                .unwrap();
        }
        _ => res.end(lp, b"ok").unwrap(),
    }
}

fn start() -> TestServer {
    TestServer::start_with(ServerOptions::default(), handler, remember)
}

fn get(s: &mut TcpStream, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    let r = read_response(s, &mut buf);
    r[r.find("\r\n\r\n").unwrap() + 4..].to_string()
}

fn figure(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map_or(0, |v| v.parse().unwrap())
}

/// Asks `path` on `s` until `done` holds for the answer (10 s at most).
fn until(s: &mut TcpStream, path: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = get(s, path);
        if done(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "never reached: {answer}");
    }
}

fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn counters_follow_requests_pipelines_parse_errors_and_closes() {
    let server = start();
    // A keep-alive request.
    let mut a = server.connect();
    assert_eq!(get(&mut a, "/"), "ok");
    // A parse error: 400 and a close, counted by kind and reason.
    let mut b = server.connect();
    b.write_all(b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n").unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut b)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    drop(b);
    // Three pipelined requests, each answered later: a pipeline of 3.
    let mut c = server.connect();
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let all = String::from_utf8_lossy(&read_to_close(&mut c)).into_owned();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 3, "{all}");
    drop(c);
    // A connection that closes without a request.
    drop(server.connect());

    let mut e = server.connect();
    let stats = until(&mut e, "/stats", |s| figure(s, "closed") >= 3);
    assert_eq!(figure(&stats, "accepted"), 5, "{stats}");
    assert_eq!(figure(&stats, "open"), 2, "{stats}");
    // a: 1, c: 3, and this /stats request (answered or not, it is counted
    // once its head is in).
    assert!(figure(&stats, "requests") >= 5, "{stats}");
    assert!(figure(&stats, "2xx") >= 4, "{stats}");
    assert_eq!(figure(&stats, "4xx"), 1, "{stats}");
    assert_eq!(figure(&stats, "pipelined"), 2, "{stats}");
    assert_eq!(figure(&stats, "max_depth"), 3, "{stats}");
    assert_eq!(figure(&stats, "closed_parse_error"), 1, "{stats}");
    assert_eq!(figure(&stats, "closed_graceful"), 1, "{stats}");
    assert_eq!(figure(&stats, "closed_eof"), 1, "{stats}");
    assert_eq!(figure(&stats, "closed"), 3, "{stats}");
    let kind = ErrorKind::InvalidHeaderToken.llhttp_name();
    assert_eq!(figure(&stats, &format!("parse_{kind}")), 1, "{stats}");
    // Bytes: at least what the requests and responses above carried.
    assert!(figure(&stats, "bytes_in") > 150, "{stats}");
    assert!(figure(&stats, "bytes_out") > 300, "{stats}");
    drop(a);
}

/// The `/conns` line of the connection whose client port is `port`.
fn line_of(conns: &str, port: u16) -> Option<Vec<String>> {
    conns
        .lines()
        .map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f[1] == port.to_string())
}

fn state_of(conns: &str, s: &TcpStream) -> Option<String> {
    let port = s.local_addr().unwrap().port();
    line_of(conns, port).map(|f| f[2].clone())
}

#[test]
fn connections_are_listed_with_their_state_and_one_can_be_closed() {
    let server = start();
    let mut idle = server.connect();
    assert_eq!(get(&mut idle, "/"), "ok");
    let mut held = server.connect();
    held.write_all(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut head = server.connect();
    head.write_all(b"GET / HTTP/1.1\r\nHos").unwrap();
    let mut body = server.connect();
    body.write_all(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();

    let mut me = server.connect();
    let conns = until(&mut me, "/conns", |c| {
        state_of(c, &held).as_deref() == Some("in_handler")
            && state_of(c, &head).as_deref() == Some("reading_head")
            && state_of(c, &body).as_deref() == Some("reading_body")
    });
    assert_eq!(state_of(&conns, &idle).as_deref(), Some("idle"), "{conns}");
    // The asking connection is with its handler.
    assert_eq!(
        state_of(&conns, &me).as_deref(),
        Some("in_handler"),
        "{conns}"
    );
    assert_eq!(conns.lines().count(), 5, "{conns}");
    let idle_line = line_of(&conns, idle.local_addr().unwrap().port()).unwrap();
    assert_eq!(idle_line[3], "1", "served: {conns}");
    assert_eq!(idle_line[4], "0", "in flight: {conns}");
    let held_line = line_of(&conns, held.local_addr().unwrap().port()).unwrap();
    assert_eq!(held_line[4], "1", "in flight: {conns}");
    assert!(
        held_line[5].parse::<u64>().unwrap() > 20,
        "bytes in: {conns}"
    );

    // Closing the held connection: its client sees the end, without a
    // response.
    let id = &held_line[0];
    assert_eq!(get(&mut me, &format!("/close?{id}")), "closed");
    assert!(read_to_close(&mut held).is_empty());
    assert_eq!(get(&mut me, &format!("/close?{id}")), "none");
    let conns = get(&mut me, "/conns");
    assert_eq!(state_of(&conns, &held), None, "{conns}");
    let stats = get(&mut me, "/stats");
    assert_eq!(
        figure(&stats, &format!("closed_{}", CloseReason::Closed.name())),
        1,
        "{stats}"
    );
    // The body finishes; the connection goes on.
    body.write_all(b"defghij").unwrap();
    let mut buf = Vec::new();
    assert!(read_response(&mut body, &mut buf).ends_with("got it"));
}

#[test]
fn a_stale_connection_id_and_a_gone_server_answer_plainly() {
    let mut lp = Loop::new().unwrap();
    let server = Server::new(&mut lp, ServerOptions::default(), |_, _, _| {});
    assert_eq!(server.connections(&lp).unwrap(), vec![]);
    assert_eq!(server.stats(&lp).unwrap().accepted, 0);
    server.close(&mut lp, |_| {}).unwrap();
    lp.run(eddy_loop::RunMode::Default);
    assert!(server.connections(&lp).is_none());
    assert!(server.stats(&lp).is_none());
    assert_eq!(server.connection_count(&lp), None);
}
