//! The parser's view of a connection: a `parser::Handler` that builds each
//! request, checks its head (version, Host, Transfer-Encoding, limits,
//! Expect, CONNECT/Upgrade) and hands it to the server's callbacks.
//!
//! It runs while the parser is out of the table (`conn::ParseGuard`), so
//! it holds `&mut Loop` and may call user code; after every callback it
//! checks that the connection still exists. What it decides for the parse
//! as a whole (refuse with a status, hand the stream off, the connection
//! is gone) it leaves in its fields for the guard's owner.

use eddy_loop::Loop;

use super::closing::close_gracefully;
use super::connection::{Drained, Next, Reading, MAX_PIPELINED};
use super::deadlines::At;
use super::dispatch;
use super::exchange::RequestData;
use super::handles::{ConnId, Request, Response};
use super::hooks::Hook;
use super::output::send_continue;
use super::progress::RateWatch;
use super::server_state::Server;
use super::stats::CloseReason;
use super::table::{conn, http};
use crate::h1::{is_valid_host, HeaderFacts};
use crate::parser::{Action, ErrorKind, Handler, HeadersAction, Method, ParseError, Parser};

/// The parser's reason for a well-formed `HTTP/d.d` it does not speak
/// (checked by a test below, so a new wording cannot go unnoticed).
const UNKNOWN_VERSION: &str = "Invalid HTTP version";

/// The status for a parse error. A version error is 505 only when the
/// start line carried a well-formed `HTTP/d.d` that eddy does not speak;
/// any other malformed start line (a bare LF, garbage) is 400. Decided
/// from the error alone, so however the input was split.
pub(crate) fn status_for(e: &ParseError) -> u16 {
    match e.kind {
        ErrorKind::InvalidVersion if e.reason == UNKNOWN_VERSION => 505,
        k => k.status_code(),
    }
}

/// How a parse stopped early, as the handler saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// It did not.
    No,
    /// Answer with this status and close.
    Refuse(u16),
    /// The stream goes to this hook (CONNECT, Upgrade).
    HandOff(Hook),
    /// A callback destroyed the connection.
    Gone,
    /// Nothing more is read: the connection closes (an unread body went
    /// past the drain bound).
    Closed,
}

/// The parser's view of a connection during `execute`.
pub(crate) struct Feed<'a> {
    pub lp: &'a mut Loop,
    pub c: ConnId,
    pub building: &'a mut Box<RequestData>,
    pub stop: Stop,
    /// The connection's server and body limit (fixed for its life).
    pub server: Server,
    pub max_body: Option<u64>,
    /// `ServerOptions::max_drain_bytes`.
    pub max_drain: u64,
    /// `ServerOptions::continue_after_ignored_upgrade`.
    pub upgrade_goes_on: bool,
}

/// The body length a request's head declares (see
/// `RequestData::declared_length`).
fn declared_length(facts: &HeaderFacts) -> Option<u64> {
    if facts.transfer_encoding.is_some() {
        return None;
    }
    std::str::from_utf8(facts.content_length?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether the connection goes on after the request being parsed. A GET
/// or HEAD body framed by Content-Length is read to its end like any
/// other (by its handler, or drained), so within the drain bound it
/// keeps the connection, as in Node; a chunked one, or a longer one,
/// closes it.
fn keeps_alive(parser: &Parser, max_drain: u64) -> bool {
    let drainable =
        parser.flags() & crate::parser::flags::CHUNKED == 0 && parser.content_length() <= max_drain;
    parser.should_keep_alive() || (drainable && parser.keep_alive_if_body_read())
}

/// An Upgrade nobody took (a taken one is handed off first): nothing after
/// this request is parsed, unless the options say go on.
fn stops_at(parser: &Parser, upgrade_goes_on: bool) -> bool {
    parser.upgrade() && parser.method() != Some(Method::Connect) && !upgrade_goes_on
}

/// Whether the request being parsed has a body to come.
fn has_body(parser: &Parser) -> bool {
    parser.content_length() > 0 || parser.flags() & crate::parser::flags::CHUNKED != 0
}

/// What to do with a request whose head is complete.
enum Verdict {
    Serve,
    Refuse(u16),
    HandOff(Hook),
}

impl Feed<'_> {
    /// See [`stops_at`].
    fn stops_at(&self, parser: &Parser) -> bool {
        stops_at(parser, self.upgrade_goes_on)
    }

    fn stopped(&self) -> bool {
        matches!(self.stop, Stop::Refuse(_) | Stop::Gone | Stop::Closed)
    }

    fn act(&self) -> Action {
        if self.stopped() {
            Action::Error
        } else {
            Action::Continue
        }
    }
}

/// What follows a settled connection while its parser runs: resuming and
/// giving buffers back wait for the parse to end; closing and re-arming
/// happen now.
fn apply_while_parsing(lp: &mut Loop, c: ConnId, next: Next) {
    match next {
        Next::Close(reason) => close_gracefully(lp, c, reason),
        Next::Rearm(timer, ms) => {
            let _ = timer.rearm(lp, ms);
        }
        Next::Nothing | Next::Resume | Next::Idle => {}
    }
}

/// Validates a request's head and decides who gets it.
fn verdict(
    lp: &mut Loop,
    server: Server,
    max_body: Option<u64>,
    b: &RequestData,
    parser: &Parser,
    f: &HeaderFacts<'_>,
) -> Verdict {
    match b.version {
        (1, 0) | (1, 1) => {}
        // `GET /` with no version (HTTP/0.9) is a malformed request line.
        (0, 9) => return Verdict::Refuse(400),
        _ => return Verdict::Refuse(505),
    }
    // An absolute-form target's authority takes precedence over Host
    // (RFC 9112 section 3.2.2) and is checked the same way; HTTP/1.1
    // still needs exactly one Host line (section 3.2).
    let authority = b.authority();
    if authority.is_some_and(|a| !is_valid_host(a)) {
        return Verdict::Refuse(400);
    }
    if b.version == (1, 1) {
        match f.host {
            Some(h) if f.hosts == 1 && (authority.is_some() || is_valid_host(h)) => {}
            _ => return Verdict::Refuse(400),
        }
    }
    if parser.method() == Some(Method::Connect) {
        return if dispatch::has_hook(lp, server, Hook::Connect) {
            Verdict::HandOff(Hook::Connect)
        } else {
            Verdict::Refuse(501)
        };
    }
    if let Some(te) = f.transfer_encoding {
        if b.version < (1, 1) {
            return Verdict::Refuse(400);
        }
        let mut codings = te.split(|&x| x == b',').map(|c| c.trim_ascii());
        if codings.any(|c| !c.eq_ignore_ascii_case(b"chunked")) {
            return Verdict::Refuse(501);
        }
    }
    if let Some(max) = max_body {
        if f.content_length.is_some() && parser.content_length() > max {
            return Verdict::Refuse(413);
        }
    }
    // RFC 9110 section 10.1.1: an expectation in an HTTP/1.0 request is
    // ignored (Node does the same): no 100, no 417.
    if let Some(expect) = f.expect.filter(|_| b.version == (1, 1)) {
        let known = expect.eq_ignore_ascii_case(b"100-continue");
        if !known && !dispatch::has_hook(lp, server, Hook::CheckExpectation) {
            return Verdict::Refuse(417);
        }
    }
    if parser.upgrade() && dispatch::has_hook(lp, server, Hook::Upgrade) {
        return Verdict::HandOff(Hook::Upgrade);
    }
    Verdict::Serve
}

impl Handler for Feed<'_> {
    fn on_message_begin(&mut self, _: &Parser) -> Action {
        let now = self.lp.now();
        self.building.clear();
        let Some(cn) = conn(self.lp, self.c) else {
            self.stop = Stop::Gone;
            return Action::Error;
        };
        if cn.reading != Reading::Done {
            cn.reading = Reading::Head;
        }
        cn.deadlines.idle = None;
        if cn.deadlines.headers.is_none() {
            cn.deadlines.headers = Some(At::new(now + cn.opts.headers_timeout_ms));
            cn.deadlines.request = Some(At::new(now + cn.opts.request_timeout_ms));
        }
        let timer = cn.timer;
        if let Some(ms) = cn.deadlines.rearm_delay(now) {
            let _ = timer.rearm(self.lp, ms);
        }
        Action::Continue
    }

    fn on_url(&mut self, data: &[u8]) {
        self.building.target.extend_from_slice(data);
    }

    fn on_header_field(&mut self, data: &[u8]) {
        self.building.headers.name_piece(data);
    }

    fn on_header_field_complete(&mut self, _: &Parser) -> Action {
        self.building.headers.name_done();
        Action::Continue
    }

    fn on_header_value(&mut self, data: &[u8]) {
        self.building.headers.value_piece(data);
    }

    fn on_header_value_complete(&mut self, _: &Parser) -> Action {
        self.building.headers.value_done();
        Action::Continue
    }

    fn on_headers_complete(&mut self, parser: &Parser) -> HeadersAction {
        let stops = self.stops_at(parser);
        let b = &mut *self.building;
        b.method = parser.method().unwrap_or(Method::Get);
        b.version = parser.version();
        b.keep_alive = keeps_alive(parser, self.max_drain) && !stops;
        b.body_follows = has_body(parser);
        if parser.method() != Some(Method::Connect) {
            b.locate_target();
        }
        let facts = HeaderFacts::of(&self.building.headers);
        self.building.declared_length = declared_length(&facts);
        let verdict = verdict(
            self.lp,
            self.server,
            self.max_body,
            self.building,
            parser,
            &facts,
        );
        let expect = facts.expect.filter(|_| self.building.version == (1, 1));
        let wants_continue = expect.is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"));
        let other_expectation = expect.is_some() && !wants_continue;
        match verdict {
            Verdict::Serve => {}
            Verdict::Refuse(status) => {
                self.stop = Stop::Refuse(status);
                return HeadersAction::Error;
            }
            Verdict::HandOff(hook) => {
                self.stop = Stop::HandOff(hook);
                return HeadersAction::Upgrade;
            }
        }
        self.building.expects_continue = wants_continue;
        let c = self.c;
        let now = self.lp.now();
        let h = http(self.lp);
        let Some(cn) = h.conns.get_mut(c) else {
            self.stop = Stop::Gone;
            return HeadersAction::Error;
        };
        cn.deadlines.headers = None;
        if let Some(rate) = cn.opts.min_body_rate.filter(|_| has_body(parser)) {
            // The body's rate is watched from now (opt-in).
            cn.rate_watch = RateWatch::start(now, &rate);
            cn.deadlines.body_rate = cn.rate_watch.next().map(At::new);
            let timer = cn.timer;
            if let Some(ms) = cn.deadlines.rearm_delay(now) {
                let _ = timer.rearm(self.lp, ms);
            }
        }
        let h = http(self.lp);
        let Some(cn) = h.conns.get_mut(c) else {
            self.stop = Stop::Gone;
            return HeadersAction::Error;
        };
        let seq = cn.next_seq;
        cn.next_seq += 1;
        if cn.reading != Reading::Done {
            cn.reading = Reading::Body { seq };
        }
        let server = cn.server;
        let reuse_queue = cn.exchanges.capacity() == 0;
        // The exchange's old request record (reset, with its buffers)
        // becomes the one the next request is built in.
        let mut x = h.take_exchange(seq);
        std::mem::swap(&mut x.req, self.building);
        let queue = if reuse_queue {
            // Given back while idle: take one from the pool again.
            h.queue_pool.pop()
        } else {
            None
        };
        let Some(cn) = h.conns.get_mut(c) else {
            return HeadersAction::Error;
        };
        if let Some(q) = queue {
            cn.exchanges = q;
        }
        cn.exchanges.push_back(x);
        let depth = cn.exchanges.len() as u64;
        let mut check_continue = false;
        if let Some(st) = h.servers.get_mut(server.id) {
            check_continue = wants_continue && st.hooks.has(Hook::CheckContinue);
            let stats = &mut st.stats;
            stats.requests += 1;
            if depth > 1 {
                stats.pipelined += 1;
                stats.max_pipeline_depth = stats.max_pipeline_depth.max(depth);
            }
        }
        let (req, res) = (Request { conn: c, seq }, Response { conn: c, seq });
        // Who gets the request.
        if check_continue {
            dispatch::check(self.lp, server, Hook::CheckContinue, req, res);
        } else if other_expectation {
            dispatch::check(self.lp, server, Hook::CheckExpectation, req, res);
        } else {
            if wants_continue {
                // No check_continue hook: the client may send its body.
                send_continue(self.lp, c, seq);
            }
            dispatch::request(self.lp, server, req, res);
        }
        if conn(self.lp, c).is_none() {
            self.stop = Stop::Gone;
            return HeadersAction::Error;
        }
        HeadersAction::Proceed
    }

    fn on_body(&mut self, data: &[u8]) {
        if self.stopped() {
            return;
        }
        let c = self.c;
        let Some(cn) = conn(self.lp, c) else { return };
        cn.body_received += data.len() as u64;
        let Some(seq) = cn.body_seq() else { return };
        let max = cn.opts.max_body_size;
        let Some(x) = cn.exchanges.iter_mut().find(|x| x.seq == seq) else {
            // Response already finished: the body is drained, within the
            // bound.
            if cn.drained(data.len() as u64) == Drained::OverBound {
                self.stop = Stop::Closed;
                close_gracefully(self.lp, c, CloseReason::Limit);
            }
            return;
        };
        x.body.received += data.len() as u64;
        if max.is_some_and(|m| x.body.received > m) {
            self.stop = Stop::Refuse(413);
            return;
        }
        let Some(mut cb) = x.body.on_data.take() else {
            return;
        };
        cb(self.lp, Request { conn: c, seq }, data);
        match conn(self.lp, c) {
            Some(cn) => {
                if let Some(x) = cn.exchanges.iter_mut().find(|x| x.seq == seq) {
                    x.body.on_data.get_or_insert(cb);
                }
            }
            None => self.stop = Stop::Gone,
        }
    }

    fn on_chunk_header(&mut self, _: &Parser) -> Action {
        self.act()
    }

    fn on_message_complete(&mut self, parser: &Parser) -> Action {
        if matches!(self.stop, Stop::HandOff(_)) {
            return Action::Continue; // the parser stops for the hand-off
        }
        if self.stopped() {
            return Action::Error;
        }
        let c = self.c;
        let now = self.lp.now();
        let Some(cn) = conn(self.lp, c) else {
            self.stop = Stop::Gone;
            return Action::Error;
        };
        let seq = cn.body_seq();
        if cn.reading != Reading::Done {
            cn.reading = Reading::Idle;
        }
        cn.deadlines.headers = None;
        cn.deadlines.request = None;
        cn.deadlines.body_rate = None;
        cn.rate_watch = RateWatch::Off;
        let trailers = &mut self.building.headers;
        let end = seq.and_then(|seq| {
            let x = cn.exchanges.iter_mut().find(|x| x.seq == seq)?;
            x.body.complete = true;
            if !trailers.is_empty() {
                // Lines after a chunked body's last chunk: its trailers.
                x.req.trailers = Some(Box::new(std::mem::take(trailers)));
            }
            x.body.on_end.take().map(|cb| (cb, seq))
        });
        if let Some((cb, seq)) = end {
            cb(self.lp, Request { conn: c, seq });
        }
        let goes_on = keeps_alive(parser, self.max_drain) && !self.stops_at(parser);
        let h = http(self.lp);
        let Some(cn) = h.conns.get_mut(c) else {
            self.stop = Stop::Gone;
            return Action::Error;
        };
        if !goes_on {
            cn.reading = Reading::Done;
        }
        let pause = cn.reading == Reading::Done
            || cn.hold != super::connection::Hold::Flowing
            || cn.exchanges.len() >= MAX_PIPELINED;
        if cn.exchanges.is_empty() {
            // Answered already: the connection is idle again (or closes).
            let server_closing = h.servers.get(cn.server.id).is_none_or(|st| st.is_closing());
            let Some(cn) = h.conns.get_mut(c) else {
                return Action::Error;
            };
            let next = cn.settle(server_closing, now);
            apply_while_parsing(self.lp, c, next);
        }
        if pause {
            return Action::Pause;
        }
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::{Kind, Parser};

    struct Nothing;
    impl Handler for Nothing {}

    fn status(input: &[u8], split: usize) -> u16 {
        let mut p = Parser::new(Kind::Request);
        let first = p.execute(&mut Nothing, &input[..split]);
        let e = match first {
            Err(e) => e,
            Ok(_) => p.execute(&mut Nothing, &input[split..]).unwrap_err(),
        };
        status_for(&e)
    }

    #[test]
    fn an_unknown_version_is_505_however_split_and_a_malformed_one_400() {
        let unknown = b"GET / HTTP/1.2\r\nHost: x\r\n\r\n";
        for split in 1..unknown.len() {
            assert_eq!(status(unknown, split), 505, "split at {split}");
        }
        for bad in [
            &b"GET / HTTP/1.x\r\n"[..],
            b"GET / HTTP/1.1x\r\n",
            b"GET / HTTX/1.1\r\n",
        ] {
            assert_eq!(status(bad, bad.len()), 400, "{bad:?}");
        }
    }
}
