//! A client connection: a stream opened for a request (through an Agent or
//! not), the response parser on it, and its moves between busy and free.
//!
//! Bytes read go through the parser while it is out of the table (see
//! `feed.rs`). A free socket keeps reading so that an EOF or stray bytes
//! drop it at once, and is unref'd so an idle pool does not keep the loop
//! alive.

use std::net::{IpAddr, SocketAddr};

use eddy_loop::Loop;
use eddy_net::{Address, ConnectOptions, ReadEvent, Stream};

use super::agent::Agent;
use super::error::Error;
use super::feed::{Feed, HandOff, Outcome};
use super::finish;
use super::pool;
use super::request::{live, state, ClientRequest};
use super::table::{client, PoolKey};
use crate::parser::{Kind, Parser};
use crate::server::HeaderList;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ConnId {
    pub index: u32,
    pub gen: u32,
}

pub(crate) struct ConnState {
    pub gen: u32,
    pub stream: Stream,
    /// The Agent and pool key this socket counts against.
    pub agent: Option<(Agent, PoolKey)>,
    /// Out of the table while it runs.
    pub parser: Option<Parser>,
    /// Header lines of the message being parsed.
    pub building: HeaderList,
    pub reason: Vec<u8>,
    /// The request using the socket; `None` while free.
    pub req: Option<ClientRequest>,
    /// The server's `Keep-Alive: timeout` hint, in ms.
    pub keep_alive_hint_ms: Option<u64>,
    /// Cleared by anything that makes the socket unfit for another request
    /// (EOF, stray bytes, a body the server may not have read).
    pub reusable: bool,
    pub tcp: bool,
    /// SO_KEEPALIVE is on: set at the first return to the pool, not at
    /// every one (two setsockopt calls per request otherwise).
    pub keepalive_set: bool,
}

pub(crate) fn get(lp: &mut Loop, c: ConnId) -> Option<&mut ConnState> {
    client(lp)
        .conns
        .get_mut(c.index as usize)
        .filter(|cn| cn.gen == c.gen)
}

pub(crate) fn stream_of(lp: &mut Loop, c: ConnId) -> Option<Stream> {
    get(lp, c).map(|cn| cn.stream)
}

pub(crate) fn agent_of(lp: &mut Loop, c: ConnId) -> Option<(Agent, PoolKey)> {
    get(lp, c).and_then(|cn| cn.agent.clone())
}

pub(crate) fn request_of(lp: &mut Loop, c: ConnId) -> Option<ClientRequest> {
    get(lp, c).and_then(|cn| cn.req)
}

pub(crate) fn all_of_agent(lp: &mut Loop, a: Agent) -> Vec<ConnId> {
    client(lp)
        .conns
        .iter()
        .filter(|(_, cn)| cn.agent.as_ref().is_some_and(|(x, _)| *x == a))
        .map(|(i, cn)| ConnId {
            index: i as u32,
            gen: cn.gen,
        })
        .collect()
}

/// Opens a connection for `r` (already counted by its Agent, if any).
/// The caller made sure the request exists.
pub(crate) fn open(lp: &mut Loop, r: ClientRequest, agent: Option<(Agent, PoolKey)>) {
    let Ok(st) = state(lp, r) else { return };
    let o = &st.opts;
    let copts = ConnectOptions {
        local_addr: o.local_address.map(|ip| SocketAddr::new(ip, 0)),
        family: o.family,
        ..ConnectOptions::default()
    };
    let (host, port, path) = (o.host.clone(), o.port, o.socket_path.clone());
    let t = client(lp);
    let gen = t.next_gen();
    let index = t.conns.vacant_key() as u32;
    let c = ConnId { index, gen };
    let cb =
        move |lp: &mut Loop, s: Stream, result: eddy_net::Result<()>| connected(lp, c, s, result);
    let tcp = path.is_none();
    let stream = match (path, host.parse::<IpAddr>()) {
        (Some(p), _) => Stream::connect(lp, Address::Unix(p), &copts, cb),
        (None, Ok(ip)) => Stream::connect(lp, SocketAddr::new(ip, port), &copts, cb),
        (None, Err(_)) => Stream::connect_host(lp, &host, port, &copts, cb),
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            if let Some((a, key)) = agent {
                pool::forget(lp, a, &key, c);
            }
            return finish::fail(lp, r, |what| Error::Net { what, source: e });
        }
    };
    let t = client(lp);
    let at = t.conns.insert(ConnState {
        gen,
        stream,
        agent,
        parser: Some(Parser::new(Kind::Response)),
        building: HeaderList::default(),
        reason: Vec::new(),
        req: None,
        keep_alive_hint_ms: None,
        reusable: true,
        tcp,
        keepalive_set: false,
    });
    debug_assert_eq!(at as u32, index);
    // Set once per socket (it finds the request from the connection).
    let _ = stream.on_drain(lp, move |lp, _| finish::drained(lp, c));
    // The request lends its socket out (`on_socket`): if someone else
    // closes it, the request and the Agent must hear of it.
    let _ = stream.on_close(lp, move |lp, _| closed_elsewhere(lp, c));
    attach(lp, r, c, false);
}

fn connected(lp: &mut Loop, c: ConnId, s: Stream, result: eddy_net::Result<()>) {
    let Some(cn) = get(lp, c) else { return };
    let (tcp, req) = (cn.tcp, cn.req);
    match result {
        Ok(()) => {
            if tcp {
                let _ = s.set_nodelay(lp, true);
            }
            start_reading(lp, c);
        }
        Err(e) => {
            destroy_quietly(lp, c);
            if let Some(r) = req {
                finish::fail(lp, r, |what| Error::Net { what, source: e });
            }
        }
    }
}

/// `r` takes connection `c` (fresh, or reused from the pool).
pub(crate) fn attach(lp: &mut Loop, r: ClientRequest, c: ConnId, reused: bool) {
    let Ok(st) = live(lp, r) else {
        // The request went away while it waited: the socket goes back.
        return pool::release(lp, c);
    };
    st.conn = Some(c);
    st.reused = reused;
    // Queued only when someone listens (`on_socket` queues it if set
    // later): an empty pending phase lets the next poll block.
    let tell = st.cbs.socket.is_some();
    st.replay = (reused && st.idempotent() && !st.retried).then(Vec::new);
    let timeout = st.opts.timeout_ms;
    let Some(cn) = get(lp, c) else { return };
    cn.req = Some(r);
    let stream = cn.stream;
    if reused {
        let _ = stream.ref_(lp);
        // A socket handed over from a paused response may not be reading.
        start_reading(lp, c);
    }
    apply_request_timeout(lp, c, timeout);
    if tell {
        lp.queue_pending(move |lp| finish::socket_assigned(lp, r, c));
    }
    super::output::flush(lp, r);
}

pub(crate) fn apply_request_timeout(lp: &mut Loop, c: ConnId, ms: u64) {
    let Some(stream) = stream_of(lp, c) else {
        return;
    };
    let _ = stream.set_timeout(lp, ms, move |lp, _| idle(lp, c));
}

/// The socket was idle too long: the request's timeout, or a free socket's.
fn idle(lp: &mut Loop, c: ConnId) {
    match request_of(lp, c) {
        Some(r) => finish::timed_out(lp, r),
        None => destroy_quietly(lp, c),
    }
}

/// The socket joins the free list.
pub(crate) fn make_free(lp: &mut Loop, c: ConnId, keep_alive_msecs: u64, agent_timeout: u64) {
    let Some(cn) = get(lp, c) else { return };
    cn.req = None;
    let stream = cn.stream;
    // The Agent's keep-alive delay never changes: once per socket is enough.
    let set_keepalive = cn.tcp && !cn.keepalive_set;
    cn.keepalive_set |= set_keepalive;
    // Close a little before the server would.
    let hint = cn
        .keep_alive_hint_ms
        .map(|ms| ms.saturating_sub((ms / 4).min(1000)).max(1));
    let ms = match (agent_timeout, hint) {
        (0, None) => 0,
        (0, Some(h)) => h,
        (t, None) => t,
        (t, Some(h)) => t.min(h),
    };
    let _ = stream.unref(lp);
    if set_keepalive {
        let secs = (keep_alive_msecs / 1000).max(1) as u32;
        let _ = stream.set_keepalive(lp, true, secs);
    }
    apply_request_timeout(lp, c, ms);
    start_reading(lp, c);
}

pub(crate) fn start_reading(lp: &mut Loop, c: ConnId) {
    let Some(stream) = stream_of(lp, c) else {
        return;
    };
    let _ = stream.read_start(lp, move |lp, _, ev| on_read(lp, c, ev));
}

pub(crate) fn stop_reading(lp: &mut Loop, c: ConnId) {
    if let Some(stream) = stream_of(lp, c) {
        let _ = stream.read_stop(lp);
    }
}

/// Closes the socket and takes it out of its Agent. Its request, if any,
/// is detached without an event (the caller decides what it hears).
pub(crate) fn destroy_quietly(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    let (stream, agent, req) = (cn.stream, cn.agent.take(), cn.req.take());
    client(lp).conns.remove(c.index as usize);
    if let Some(st) = req.and_then(|r| client(lp).req(r)) {
        if st.conn == Some(c) {
            st.conn = None;
        }
    }
    let _ = stream.close(lp, |_, _| {});
    if let Some((a, key)) = agent {
        pool::forget(lp, a, &key, c);
    }
}

/// The stream was closed by someone else than this module (which removes
/// the connection first): a busy socket's request hangs up.
fn closed_elsewhere(lp: &mut Loop, c: ConnId) {
    let Some(r) = request_of(lp, c) else {
        return destroy_quietly(lp, c);
    };
    destroy_quietly(lp, c);
    finish::fail(lp, r, |what| Error::HangUp { what });
}

fn on_read(lp: &mut Loop, c: ConnId, ev: ReadEvent<'_>) {
    let Some(cn) = get(lp, c) else { return };
    let Some(r) = cn.req else {
        // A free socket that hears anything (EOF, an error, bytes nobody
        // asked for) is not fit for a request.
        return destroy_quietly(lp, c);
    };
    match ev {
        ReadEvent::Data(bytes) => feed(lp, c, r, bytes),
        ReadEvent::Eof => ended(lp, c, r, None),
        ReadEvent::Error(e) => ended(lp, c, r, Some(e)),
    }
}

/// Runs the parser over `bytes` with the connection's state taken out.
fn run<T>(
    lp: &mut Loop,
    c: ConnId,
    r: ClientRequest,
    f: impl FnOnce(&mut Parser, &mut Feed<'_>) -> T,
) -> Option<(T, Outcome)> {
    let cn = get(lp, c)?;
    let mut parser = cn.parser.take()?;
    let mut building = std::mem::take(&mut cn.building);
    let mut reason = std::mem::take(&mut cn.reason);
    let mut feed = Feed {
        lp,
        c,
        r,
        building: &mut building,
        reason: &mut reason,
        outcome: Outcome::Running,
    };
    let out = f(&mut parser, &mut feed);
    let outcome = std::mem::replace(&mut feed.outcome, Outcome::Running);
    if let Some(cn) = get(lp, c) {
        cn.parser = Some(parser);
        cn.building = building;
        cn.reason = reason;
    }
    Some((out, outcome))
}

fn feed(lp: &mut Loop, c: ConnId, r: ClientRequest, bytes: &[u8]) {
    let Some((result, outcome)) = run(lp, c, r, |p, f| p.execute(f, bytes)) else {
        return;
    };
    match (outcome, result) {
        (Outcome::Gone, _) => {}
        (Outcome::Failed(e), _) => finish::fail(lp, r, |_| e),
        (_, Err(source)) => finish::fail(lp, r, |what| Error::Parse { what, source }),
        (Outcome::HandOff(kind), Ok(n)) => hand_off(lp, c, r, kind, &bytes[n..]),
        (Outcome::Complete { keep_alive }, Ok(n)) => {
            if let Some(cn) = get(lp, c) {
                // Bytes after the response were not asked for.
                cn.reusable &= keep_alive && n == bytes.len();
            }
            finish::response_parsed(lp, r);
        }
        (Outcome::Running, Ok(_)) => {}
    }
}

/// EOF or a read error on a busy socket.
fn ended(lp: &mut Loop, c: ConnId, r: ClientRequest, err: Option<eddy_net::Error>) {
    if let Some(cn) = get(lp, c) {
        cn.reusable = false;
    }
    let parsed = live(lp, r).is_ok_and(|st| st.res.as_ref().is_some_and(|res| res.parsed));
    if parsed {
        // The response is complete and waits for `resume`.
        return;
    }
    if err.is_none() {
        // A body delimited by the close ends here.
        if let Some((Ok(()), Outcome::Complete { .. })) = run(lp, c, r, |p, f| p.finish(f)) {
            return finish::response_parsed(lp, r);
        }
    }
    finish::broken(lp, r, err);
}

/// CONNECT or Upgrade: the stream leaves the client.
fn hand_off(lp: &mut Loop, c: ConnId, r: ClientRequest, kind: HandOff, head: &[u8]) {
    let Some(cn) = get(lp, c) else { return };
    let (stream, agent) = (cn.stream, cn.agent.take());
    client(lp).conns.remove(c.index as usize);
    let _ = stream.read_stop(lp);
    let _ = stream.set_timeout(lp, 0, |_, _| {});
    let _ = stream.on_drain(lp, |_, _| {});
    let _ = stream.ref_(lp);
    if let Some(st) = client(lp).req(r) {
        st.conn = None;
    }
    if let Some((a, key)) = agent {
        pool::forget(lp, a, &key, c);
    }
    finish::handed_off(lp, r, kind, stream, head.to_vec());
}
