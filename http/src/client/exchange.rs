//! The exchange: a request's life on a connection, driven by the socket's
//! events. Everything that happens to a running request starts here:
//! getting a socket (from the pool's decision, or a fresh connect), the
//! bytes read run through the parser (`feed.rs`) whose events this file
//! answers, the response's end and the socket's return to the pool,
//! failures with the one retry an idempotent request gets, hand-offs
//! (CONNECT, Upgrade), aborts and the Agent's destruction.
//!
//! A response ends in one straight line: `on_read` → `parse` →
//! `response_parsed` → `deliver_end` (the user's `on_end`) → `finish` →
//! `release`, which carries out the pool's decision (`pool::release`):
//! the next waiting request, the free list, or a close.

use std::net::{IpAddr, SocketAddr};

use eddy_loop::Loop;
use eddy_net::{Address, ConnectOptions, Hangup, Probe, ReadEvent, Stream};

use super::agent_stats::AgentStats;
use super::clock::Stage;
use super::conn::{self, Removed};
use super::deadlines;
use super::error::{Deadline, Error, InterimLimit};
use super::feed::{
    check_status_line, Events, Feed, FinalHead, HandOff, Information, Next, Outcome, Verdict,
};
use super::notify;
use super::pool::{self, Choice, Release};
use super::send;
use super::table::{
    agent, agent_ref, client, conn, live, req, res, AgentId, Body, ConnId, Connection, Fitness,
    Flow, Lent, Link, PoolKey, Replay, ReqId, ResponseParser, StatusLine, Transport, Use,
};
use crate::h1::HeaderList;
use crate::parser::Parser;

// ---------------------------------------------------------------- sockets

/// A new request asks for a socket: through its Agent, or a fresh one.
pub(crate) fn start(lp: &mut Loop, r: ReqId) {
    let Some(st) = req(lp, r) else { return };
    match st.agent {
        Some(a) => {
            let key = st.key.clone();
            place(lp, a, r, &key);
        }
        None => open(lp, r, None),
    }
}

/// Carries out the pool's choice for `r`.
fn place(lp: &mut Loop, a: AgentId, r: ReqId, key: &PoolKey) {
    let Some(ag) = agent(lp, a) else {
        return fail(lp, r, |what| Error::AgentDestroyed { what });
    };
    match pool::choose(ag, key) {
        Choice::Reuse(c) => attach(lp, r, c, true),
        Choice::Open => open_counted(lp, a, r, key),
        Choice::MakeRoom(victim) => {
            close_quietly(lp, victim);
            open_counted(lp, a, r, key);
        }
        Choice::Wait => {
            if let Some(ag) = agent(lp, a) {
                pool::enqueue(ag, key, r);
            }
        }
    }
}

/// Opens a socket of `key` for `r`, counted against the Agent's limits.
fn open_counted(lp: &mut Loop, a: AgentId, r: ReqId, key: &PoolKey) {
    if live(lp, r).is_none() {
        return;
    }
    if let Some(ag) = agent(lp, a) {
        pool::count_new(ag, key);
    }
    open(lp, r, Some((a, key.clone())));
}

/// Whether the Agent's busy sockets keep the loop running.
fn referenced(lp: &Loop, a: Option<AgentId>) -> bool {
    a.and_then(|a| agent_ref(lp, a))
        .is_none_or(|ag| ag.referenced)
}

/// Connects a new socket for `r` (already counted by its Agent, if any).
fn open(lp: &mut Loop, r: ReqId, agent: Option<(AgentId, PoolKey)>) {
    let Some(st) = req(lp, r) else { return };
    let d = &st.target.dest;
    let copts = ConnectOptions {
        local_addr: d.local_address.map(|ip| SocketAddr::new(ip, 0)),
        family: d.family,
        ..ConnectOptions::default()
    };
    let (host, port, path) = (d.host.clone(), d.port, d.socket_path.clone());
    let tcp = path.is_none();
    let cb =
        move |lp: &mut Loop, s: Stream, result: eddy_net::Result<()>| connected(lp, r, s, result);
    let stream = match (path, host.parse::<IpAddr>()) {
        (Some(p), _) => Stream::connect(lp, Address::Unix(p), &copts, cb),
        (None, Ok(ip)) => Stream::connect(lp, SocketAddr::new(ip, port), &copts, cb),
        (None, Err(_)) => Stream::connect_host(lp, &host, port, &copts, cb),
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            if let Some((a, key)) = agent {
                if let Some(ag) = self::agent(lp, a) {
                    pool::uncount(ag, &key);
                }
                process_waiting(lp, a);
            }
            return fail(lp, r, |what| Error::Net { what, source: e });
        }
    };
    if !referenced(lp, agent.as_ref().map(|(a, _)| *a)) {
        let _ = stream.unref(lp);
    }
    let now = lp.now();
    deadlines::set_stage(lp, r, Stage::Connecting(now), expired);
    let c = client(lp)
        .conns
        .insert(Connection::new(stream, agent, tcp, r));
    // Set once per socket (it finds the request from the connection).
    let _ = stream.on_drain(lp, move |lp, _| drained(lp, c));
    // The request lends its socket out (`on_socket`): if someone else
    // closes it, the request and the Agent must hear of it.
    let _ = stream.on_close(lp, move |lp, _| closed_elsewhere(lp, c));
    // A paused response does not read: its server's FIN or reset must
    // still reach the request.
    let _ = stream.on_hangup(lp, move |lp, _, how| hung_up(lp, c, how));
    attach(lp, r, c, false);
}

/// The connect of `r`'s socket finished.
fn connected(lp: &mut Loop, r: ReqId, s: Stream, result: eddy_net::Result<()>) {
    let Some(Link::On(c)) = live(lp, r).map(|st| st.link) else {
        return;
    };
    let Some(cn) = conn(lp, c).filter(|cn| cn.stream == s) else {
        return;
    };
    match result {
        Ok(()) => {
            if let Use::Connecting(r) = cn.state {
                cn.state = Use::Busy(r);
            }
            if cn.transport != Transport::Unix {
                let _ = s.set_nodelay(lp, true);
            }
            start_reading(lp, c);
            deadlines::set_stage(lp, r, Stage::Sending, expired);
            sent(lp, r);
        }
        Err(e) => {
            close_quietly(lp, c);
            fail(lp, r, |what| Error::Net { what, source: e });
        }
    }
}

/// `r` takes connection `c` (fresh, or reused from the pool).
fn attach(lp: &mut Loop, r: ReqId, c: ConnId, reused: bool) {
    if live(lp, r).is_none() {
        // The request went away while it waited: the socket goes back.
        return release(lp, c);
    }
    if reused && !fit_for_reuse(lp, c) {
        // The server closed it (or sent bytes nobody asked for) since its
        // last response: pass it over and let the pool choose again.
        count(lp, r, |s| s.stale += 1);
        close_quietly(lp, c);
        return start(lp, r);
    }
    if reused {
        count(lp, r, |s| s.reused += 1);
    }
    let Some(st) = live(lp, r) else { return };
    st.link = Link::On(c);
    st.reused = reused;
    st.replay = if reused && st.target.is_idempotent() {
        Replay::Keeping(Vec::new())
    } else {
        Replay::Off
    };
    // Queued only when someone listens (`on_socket` queues it if set
    // later): an empty pending phase lets the next poll block.
    let tell = st.cbs.socket.is_some();
    let a = st.agent;
    let keep_ref = reused && referenced(lp, a);
    let Some(cn) = conn(lp, c) else { return };
    if cn.state == Use::Free {
        cn.state = Use::Busy(r);
    }
    let stream = cn.stream;
    if reused {
        if keep_ref {
            let _ = stream.ref_(lp);
        }
        // A socket handed over from a paused response may not be reading.
        start_reading(lp, c);
    }
    // The pool's idle timeout of a free socket ends here; the request's
    // deadlines are on its own timer.
    if reused {
        set_idle_timeout(lp, c, 0);
        deadlines::set_stage(lp, r, Stage::Sending, expired);
    }
    if tell {
        lp.queue_pending(move |lp| notify::socket_assigned(lp, r, c));
    }
    send::flush(lp, r);
    if reused {
        sent(lp, r);
    }
}

/// Counts on the Agent of request `r` (if it has one).
fn count(lp: &mut Loop, r: ReqId, bump: impl FnOnce(&mut AgentStats)) {
    let Some(a) = req(lp, r).and_then(|st| st.agent) else {
        return;
    };
    if let Some(ag) = agent(lp, a) {
        bump(&mut ag.stats);
    }
}

/// Whether a pooled socket is still fit, checked without blocking (at most
/// one syscall, none when it was read in this loop iteration). A FIN
/// already in flight when the request is written is not seen: that race
/// is inherent to HTTP/1.1 reuse (an idempotent request is retried once
/// for it; any other fails with "socket hang up").
fn fit_for_reuse(lp: &Loop, c: ConnId) -> bool {
    conn::stream_of(lp, c).is_some_and(|s| matches!(s.probe(lp), Ok(Probe::Quiet)))
}

/// After output went to a ready socket: once the whole request is out,
/// the response head is due.
pub(crate) fn sent(lp: &mut Loop, r: ReqId) {
    let now = lp.now();
    let Some(st) = live(lp, r) else { return };
    if st.clock.stage == Stage::Sending && st.out.is_complete() {
        deadlines::set_stage(lp, r, Stage::AwaitingHead(now), expired);
    }
}

/// `ClientRequest::set_timeout`: the request's idle timeout.
pub(crate) fn set_request_idle(lp: &mut Loop, r: ReqId, ms: u64) {
    deadlines::set_idle(lp, r, ms, expired);
}

/// A deadline of `r` passed. The idle one goes to the request's timeout
/// callback if it has one (which decides; the next idle period starts);
/// every other fails the request.
fn expired(lp: &mut Loop, r: ReqId, kind: Deadline, ms: u64) {
    if kind == Deadline::Idle && notify::timeout(lp, r) {
        return deadlines::restart_idle(lp, r, expired);
    }
    fail(lp, r, |what| Error::Timeout { what, kind, ms });
}

/// The socket's idle timeout: the request's while busy, the pool's while
/// free (0: none).
pub(crate) fn set_idle_timeout(lp: &mut Loop, c: ConnId, ms: u64) {
    let Some(cn) = conn(lp, c) else { return };
    let (stream, lent) = (cn.stream, cn.lent.get());
    // The callback, once installed, stays for the socket's life (a socket
    // going busy and free again changes only the period), unless a user
    // had the stream and may have put theirs.
    if lent == Lent::Never && stream.set_timeout_ms(lp, ms).is_ok() {
        return;
    }
    let _ = stream.set_timeout(lp, ms, move |lp, _| on_idle(lp, c));
}

/// A free socket was idle too long (a busy one's idle time is on its
/// request's timer).
fn on_idle(lp: &mut Loop, c: ConnId) {
    if conn::request_of(lp, c).is_none() {
        close_quietly(lp, c);
    }
}

/// The socket's write queue drained.
fn drained(lp: &mut Loop, c: ConnId) {
    if let Some(r) = conn::request_of(lp, c) {
        notify::drain(lp, r);
    }
}

/// Reads on (again).
fn start_reading(lp: &mut Loop, c: ConnId) {
    let Some(cn) = conn(lp, c) else { return };
    let (stream, lent) = (cn.stream, cn.lent.get());
    // The reader, once installed, stays for the socket's life (and may be
    // running: this is often called from it), unless a user had the
    // stream and may have put theirs. (`is_reading` first: `read_resume`
    // alone measured ~110 instructions more per proxied request.)
    if lent == Lent::Never && (stream.is_reading(lp) || stream.read_resume(lp).is_ok()) {
        return;
    }
    let _ = stream.read_start(lp, move |lp, _, ev| on_read(lp, c, ev));
}

/// The stream was closed by someone else than this module (which removes
/// the connection first): a busy socket's request hangs up.
fn closed_elsewhere(lp: &mut Loop, c: ConnId) {
    let r = conn::request_of(lp, c);
    close_quietly(lp, c);
    if let Some(r) = r {
        fail(lp, r, |what| Error::HangUp { what });
    }
}

/// The socket hung up while not reading (a paused response). A FIN is
/// read in its turn, after the body bytes before it, once reading
/// resumes; a reset ends the request now.
fn hung_up(lp: &mut Loop, c: ConnId, how: Hangup) {
    if how == Hangup::Ended {
        if let Some(cn) = conn(lp, c) {
            cn.fitness = Fitness::Spent;
        }
        return;
    }
    let Some(r) = conn::request_of(lp, c) else {
        return close_quietly(lp, c);
    };
    if let Some(cn) = conn(lp, c) {
        cn.fitness = Fitness::Spent;
    }
    broken(lp, r, None, Cut::Clean);
}

/// Closes the socket and takes it out of its Agent. Its request, if any,
/// is detached without an event (the caller decides what it hears).
fn close_quietly(lp: &mut Loop, c: ConnId) {
    let Some(Removed { stream, agent, .. }) = conn::remove(lp, c) else {
        return;
    };
    let _ = stream.close(lp, |_, _| {});
    if let Some((a, key)) = agent {
        forget(lp, a, &key, c);
    }
}

/// A socket left the Agent (closed, or handed off): it no longer counts,
/// and waiting requests may open new ones.
fn forget(lp: &mut Loop, a: AgentId, key: &PoolKey, c: ConnId) {
    if let Some(ag) = agent(lp, a) {
        pool::forget(ag, key, c);
    }
    process_waiting(lp, a);
}

/// Opens sockets for waiting requests while the limits allow.
fn process_waiting(lp: &mut Loop, a: AgentId) {
    while let Some((key, r)) = agent(lp, a).and_then(pool::next_to_open) {
        open_counted(lp, a, r, &key);
    }
}

// ---------------------------------------------------------------- input

fn on_read(lp: &mut Loop, c: ConnId, ev: ReadEvent<'_>) {
    let Some(r) = conn::request_of(lp, c) else {
        // A free socket that hears anything (EOF, an error, bytes nobody
        // asked for) is not fit for a request.
        return close_quietly(lp, c);
    };
    match ev {
        ReadEvent::Data(bytes) => parse(lp, c, r, bytes),
        ReadEvent::Eof => ended(lp, c, r, None),
        ReadEvent::Error(e) => ended(lp, c, r, Some(e)),
    }
}

/// What the parser's events do to request `r` on connection `c`.
struct Session<'a> {
    lp: &'a mut Loop,
    c: ConnId,
    r: ReqId,
}

impl Events for Session<'_> {
    fn owned(&mut self) -> bool {
        let c = self.c;
        live(self.lp, self.r).is_some_and(|st| st.link == Link::On(c))
    }

    fn message_begin(&mut self) {
        // A response byte arrived: the request is answered, not retried.
        if let Some(st) = live(self.lp, self.r) {
            st.replay = Replay::Off;
        }
    }

    fn refuse(&mut self, reason: &'static str) -> Option<Error> {
        let what = live(self.lp, self.r)?.what();
        Some(Error::Protocol { what, reason })
    }

    fn status_line(&mut self, protocol: &[u8], version: (u8, u8), status: u16) -> Option<Error> {
        let st = live(self.lp, self.r)?;
        let lenient = st.status_line == StatusLine::LenientVersion;
        let reason = check_status_line(protocol, version, status, lenient)?;
        Some(Error::Protocol {
            what: st.what(),
            reason,
        })
    }

    fn interim(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &HeaderList,
        bytes: usize,
    ) -> Verdict {
        let r = self.r;
        let Some(st) = live(self.lp, r) else {
            return Verdict::Gone;
        };
        let cap = &mut st.interim;
        cap.count += 1;
        cap.bytes = cap.bytes.saturating_add(bytes);
        let limit = if cap.count > cap.max_count {
            Some(InterimLimit::Count(cap.max_count))
        } else if cap.bytes > cap.max_bytes {
            Some(InterimLimit::Bytes(cap.max_bytes))
        } else {
            None
        };
        if let Some(limit) = limit {
            let what = st.what();
            return Verdict::Fail(Error::TooMuchInterim { what, limit });
        }
        if status == 100 {
            send::stop_waiting_for_continue(self.lp, r);
            if let Some(st) = live(self.lp, r) {
                st.out.continue_received();
            }
            send::flush(self.lp, r);
            notify::continue_(self.lp, r);
        } else {
            notify::information(self.lp, r, || Information {
                status,
                reason: reason.to_vec(),
                headers: headers.clone(),
            });
        }
        if self.owned() {
            Verdict::SkipBody
        } else {
            Verdict::Gone
        }
    }

    fn final_head(&mut self, head: FinalHead<'_>) -> Verdict {
        let (c, r, status) = (self.c, self.r, head.status);
        let Some(st) = live(self.lp, r) else {
            return Verdict::Gone;
        };
        let t = &st.target;
        let connect = t.method == "CONNECT" && (200..300).contains(&status);
        let upgrade = status == 101;
        if upgrade && !t.asks.upgrade {
            let what = st.what();
            let reason = "unexpected 101 Switching Protocols";
            return Verdict::Fail(Error::Protocol { what, reason });
        }
        let skip_body = t.method == "HEAD";
        let early = st.out.final_answer_received();
        send::stop_waiting_for_continue(self.lp, r);
        // A recycled record: its cleared header list becomes the one the
        // feed builds the next message (the trailers) into.
        deadlines::set_stage(self.lp, r, Stage::Body, expired);
        deadlines::progress(self.lp, r);
        let tables = client(self.lp);
        let mut res = tables.take_res();
        std::mem::swap(&mut res.headers, head.headers);
        res.status = status;
        res.reason.extend_from_slice(head.reason);
        res.version = head.version;
        if let Some(st) = tables.reqs.get_mut(r) {
            st.res = Some(res);
        }
        if let Some(cn) = tables.conns.get_mut(c) {
            cn.keep_alive_hint_ms = head.keep_alive_hint_ms;
            if early {
                // Answered before `100 Continue`: the server may still
                // expect the body, so the socket is not reused.
                cn.fitness = Fitness::Spent;
            }
        }
        if upgrade {
            return Verdict::HandOff(HandOff::Upgrade);
        }
        if connect {
            return Verdict::HandOff(HandOff::Connect);
        }
        notify::response(self.lp, r);
        if !self.owned() {
            Verdict::Gone
        } else if skip_body {
            Verdict::SkipBody
        } else {
            Verdict::Proceed
        }
    }

    fn body(&mut self, data: &[u8]) -> Next {
        let r = self.r;
        deadlines::progress(self.lp, r);
        let Some(res) = live(self.lp, r).and_then(|st| st.res.as_deref_mut()) else {
            return Next::Gone;
        };
        if res.must_hold() {
            res.held.extend_from_slice(data);
        } else {
            notify::data(self.lp, r, data);
        }
        Next::Go
    }

    fn complete(&mut self, trailers: &mut HeaderList) {
        if let Some(res) = res(self.lp, self.r) {
            std::mem::swap(&mut res.trailers, trailers);
            res.body = Body::Parsed;
        }
    }
}

/// Runs `f` over the connection's parser, taken out meanwhile.
fn with_parser<T>(
    lp: &mut Loop,
    c: ConnId,
    r: ReqId,
    f: impl FnOnce(&mut Parser, &mut Feed<'_, Session<'_>>) -> T,
) -> Option<(T, Outcome)> {
    let mut p = conn::take_parser(lp, c)?;
    let ResponseParser { parser, head } = &mut *p;
    let mut feed = Feed::new(Session { lp: &mut *lp, c, r }, head);
    let out = f(parser, &mut feed);
    let outcome = feed.outcome;
    conn::park_parser(lp, c, p);
    Some((out, outcome))
}

fn parse(lp: &mut Loop, c: ConnId, r: ReqId, bytes: &[u8]) {
    let Some((result, outcome)) = with_parser(lp, c, r, |p, f| p.execute(f, bytes)) else {
        return;
    };
    let fed = conn(lp, c).map_or(0, |cn| {
        let before = cn.fed;
        cn.fed = before.saturating_add(bytes.len());
        before
    });
    match (outcome, result) {
        (Outcome::Gone, _) => {}
        (Outcome::Failed(e), _) => fail(lp, r, |_| e),
        (_, Err(mut source)) => {
            source.offset = source.offset.saturating_add(fed);
            fail(lp, r, |what| Error::Parse { what, source })
        }
        (Outcome::HandOff(kind), Ok(n)) => hand_off(lp, c, r, kind, &bytes[n..]),
        (Outcome::Complete { keep_alive }, Ok(n)) => {
            // Bytes after the response were not asked for.
            if !(keep_alive && n == bytes.len()) {
                if let Some(cn) = conn(lp, c) {
                    cn.fitness = Fitness::Spent;
                }
            }
            response_parsed(lp, r);
        }
        (Outcome::Running, Ok(_)) => {}
    }
}

/// EOF or a read error on a busy socket.
fn ended(lp: &mut Loop, c: ConnId, r: ReqId, err: Option<eddy_net::Error>) {
    if let Some(cn) = conn(lp, c) {
        cn.fitness = Fitness::Spent;
    }
    let parsed = live(lp, r)
        .and_then(|st| st.res.as_deref())
        .is_some_and(|res| res.body != Body::Incoming);
    if parsed {
        // The response is complete and waits for `resume`.
        return;
    }
    let mut cut = Cut::Clean;
    if err.is_none() {
        // A body delimited by the close ends here; a head it cuts is
        // reported as such.
        match with_parser(lp, c, r, |p, f| p.finish(f)) {
            Some((Ok(()), Outcome::Complete { .. })) => return response_parsed(lp, r),
            Some((Err(_), _)) => cut = Cut::MidMessage,
            _ => {}
        }
    }
    broken(lp, r, err, cut);
}

/// Where the close met the response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Between messages (or nothing was parsed).
    Clean,
    /// Inside a message.
    MidMessage,
}

/// CONNECT or Upgrade: the stream leaves the client and its Agent.
fn hand_off(lp: &mut Loop, c: ConnId, r: ReqId, kind: HandOff, rest: &[u8]) {
    let Some(Removed { stream, agent, .. }) = conn::remove(lp, c) else {
        return;
    };
    // The stream is the user's now: none of the client's callbacks stay.
    let _ = stream.read_stop(lp);
    let _ = stream.clear_timeout(lp);
    let _ = stream.clear_on_drain(lp);
    let _ = stream.clear_on_close(lp);
    let _ = stream.clear_on_hangup(lp);
    let _ = stream.ref_(lp);
    if let Some((a, key)) = agent {
        forget(lp, a, &key, c);
    }
    let Some(st) = live(lp, r) else {
        let _ = stream.close(lp, |_, _| {});
        return;
    };
    st.link = Link::Done;
    notify::hand_off(lp, r, kind, stream, rest.to_vec());
    notify::queue_close(lp, r, None, true);
}

// ---------------------------------------------------------------- endings

/// The parser reached the end of the final response.
fn response_parsed(lp: &mut Loop, r: ReqId) {
    let Some(res) = res(lp, r) else { return };
    if res.must_hold() {
        // `resume` delivers what is held, then the end.
        return;
    }
    deliver_end(lp, r);
}

fn deliver_end(lp: &mut Loop, r: ReqId) {
    let Some(res) = live(lp, r).and_then(|st| st.res.as_deref_mut()) else {
        return;
    };
    if res.body == Body::Delivered {
        return;
    }
    res.body = Body::Delivered;
    notify::end(lp, r);
    finish(lp, r);
}

/// The exchange is over: the socket goes back to the pool if it can carry
/// another request, else it is closed; then `close`.
fn finish(lp: &mut Loop, r: ReqId) {
    let Some(st) = live(lp, r) else { return };
    let complete = st.out.is_complete() && !st.target.asks.close;
    if let Link::On(c) = std::mem::replace(&mut st.link, Link::Done) {
        let pooled = conn(lp, c)
            .is_some_and(|cn| cn.fitness == Fitness::Reusable && complete && cn.agent.is_some());
        conn::end_use(lp, c);
        if pooled {
            release(lp, c);
        } else {
            close_quietly(lp, c);
        }
    }
    notify::queue_close(lp, r, None, true);
}

/// Carries out the pool's decision for a socket whose response ended.
fn release(lp: &mut Loop, c: ConnId) {
    let Some((a, key)) = conn(lp, c).and_then(|cn| cn.agent.clone()) else {
        return close_quietly(lp, c);
    };
    let Some(ag) = agent(lp, a) else {
        return close_quietly(lp, c);
    };
    let (msecs, timeout) = (ag.opts.keep_alive_msecs, ag.opts.timeout_ms);
    match pool::release(ag, &key, c) {
        Release::HandTo(r) => attach(lp, r, c, true),
        Release::Close => close_quietly(lp, c),
        Release::KeepFree => {
            let idle = conn::make_free(lp, c, msecs, timeout);
            set_idle_timeout(lp, c, idle);
            start_reading(lp, c);
        }
    }
}

/// `resume`: hands over the body bytes held while paused, then the end
/// (if the parser saw it), else reads on.
pub(crate) fn resume_delivery(lp: &mut Loop, r: ReqId) {
    let Some(res) = live(lp, r).and_then(|st| st.res.as_deref_mut()) else {
        return;
    };
    if res.flow == Flow::Paused {
        return;
    }
    let held = std::mem::take(&mut res.held);
    if !held.is_empty() {
        notify::data(lp, r, &held);
    }
    let Some(st) = live(lp, r) else { return };
    let link = st.link;
    let Some(res) = st.res.as_deref() else { return };
    if res.flow == Flow::Paused {
        return;
    }
    if res.body != Body::Incoming {
        return deliver_end(lp, r);
    }
    if let Link::On(c) = link {
        start_reading(lp, c);
    }
}

/// The connection ended (EOF or an error) before the response did. A
/// reused socket that said nothing gets an idempotent request sent again,
/// once, on a fresh socket; otherwise the request fails.
fn broken(lp: &mut Loop, r: ReqId, err: Option<eddy_net::Error>, cut: Cut) {
    let Some(st) = live(lp, r) else { return };
    if matches!(st.replay, Replay::Keeping(_)) && st.agent.is_some() {
        return retry_fresh(lp, r);
    }
    let what = st.what();
    let e = match (st.res.is_some(), err) {
        (true, _) => Error::Aborted { what },
        (false, Some(source)) => Error::Net { what, source },
        (false, None) if cut == Cut::MidMessage => Error::HeadCut { what },
        (false, None) => Error::HangUp { what },
    };
    terminate(lp, r, Some(e));
}

fn retry_fresh(lp: &mut Loop, r: ReqId) {
    let Some(st) = live(lp, r) else { return };
    let Replay::Keeping(sent) = std::mem::replace(&mut st.replay, Replay::Off) else {
        return;
    };
    let Some(a) = st.agent else { return };
    if let Some(ag) = agent(lp, a) {
        ag.stats.retried += 1;
    }
    let Some(st) = live(lp, r) else { return };
    st.reused = false;
    st.res = None;
    st.out.resend_first(sent);
    let key = st.key.clone();
    let old = std::mem::replace(&mut st.link, Link::Waiting);
    if let Link::On(c) = old {
        if let Some(cn) = conn(lp, c) {
            cn.state = Use::Free;
        }
    }
    // Open first, then drop the old socket, so the count never dips below
    // what the limits allow for requests waiting.
    open_counted(lp, a, r, &key);
    if let Link::On(c) = old {
        close_quietly(lp, c);
    }
}

/// Fails the request with the error `make` builds from its description.
pub(crate) fn fail(lp: &mut Loop, r: ReqId, make: impl FnOnce(String) -> Error) {
    let Some(st) = live(lp, r) else { return };
    let e = make(st.what());
    terminate(lp, r, Some(e));
}

/// Ends the request now: its socket is closed (never pooled), or it
/// leaves the queue it waits in; `err` and `close` follow.
pub(crate) fn terminate(lp: &mut Loop, r: ReqId, err: Option<Error>) {
    let Some(st) = live(lp, r) else { return };
    let link = std::mem::replace(&mut st.link, Link::Done);
    match (link, st.agent) {
        (Link::On(c), _) => close_quietly(lp, c),
        (_, Some(a)) => {
            let key = st.key.clone();
            if let Some(ag) = agent(lp, a) {
                pool::cancel_waiting(ag, &key, r);
            }
        }
        (_, None) => {}
    }
    notify::queue_close(lp, r, err, false);
}

/// Ends the request after what it wrote (a body short of its
/// `Content-Length`): its socket leaves the Agent and closes once those
/// bytes are out, never reused; `err` and `close` follow.
pub(crate) fn cut(lp: &mut Loop, r: ReqId, err: Error) {
    let Some(st) = live(lp, r) else { return };
    let link = std::mem::replace(&mut st.link, Link::Done);
    let Link::On(c) = link else {
        return terminate(lp, r, Some(err));
    };
    if let Some(Removed { stream, agent, .. }) = conn::remove(lp, c) {
        // The stream is ours alone now: none of the request's callbacks
        // stay; `end` flushes, shuts down and closes it.
        let _ = stream.clear_timeout(lp);
        let _ = stream.clear_on_drain(lp);
        let _ = stream.clear_on_close(lp);
        let _ = stream.clear_on_hangup(lp);
        let _ = stream.read_start(lp, |_, _, _| {});
        if stream.end(lp).is_err() {
            let _ = stream.close(lp, |_, _| {});
        }
        if let Some((a, key)) = agent {
            forget(lp, a, &key, c);
        }
    }
    notify::queue_close(lp, r, Some(err), false);
}

/// Closes every socket of the Agent, free or busy (their requests fail
/// with [`Error::AgentDestroyed`]), and fails requests still waiting.
/// The Agent's record goes first, so nothing can join it meanwhile.
pub(crate) fn destroy_agent(lp: &mut Loop, a: AgentId) {
    let Some(mut rec) = client(lp).agents.remove(a) else {
        return;
    };
    let waiting = pool::take_all_waiting(&mut rec);
    let tables = client(lp);
    if tables.global == Some(a) {
        tables.global = None;
    }
    let conns: Vec<ConnId> = tables
        .conns
        .iter()
        .filter(|(_, cn)| cn.agent.as_ref().is_some_and(|(x, _)| *x == a))
        .map(|(c, _)| c)
        .collect();
    for r in waiting {
        fail(lp, r, |what| Error::AgentDestroyed { what });
    }
    for c in conns {
        // A request whose response already ended (destroy called from its
        // `on_end`) has nothing left to fail.
        let running = conn::request_of(lp, c)
            .filter(|&r| !res(lp, r).is_some_and(|res| res.body == Body::Delivered));
        match running {
            Some(r) => fail(lp, r, |what| Error::AgentDestroyed { what }),
            None => close_quietly(lp, c),
        }
    }
}
