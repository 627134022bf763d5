//! The parser's view of a connection: a `parser::Handler` that builds each
//! request, checks its head (version, Host, Transfer-Encoding, limits,
//! Expect, CONNECT/Upgrade) and hands it to the server's callbacks.
//!
//! It runs while the parser is out of the table, so it holds `&mut Loop`
//! and may call user code; after every callback it checks that the
//! connection still exists.

use eddy_loop::Loop;

use super::conn::{apply, get, settle, ConnId};
use super::exchange::RequestData;
use super::request::Request;
use super::response::Response;
use super::server::{self, Hook, Server};
use super::table::http;
use crate::h1::{is_valid_host, HeaderFacts};
use crate::parser::{Action, ErrorKind, Handler, HeadersAction, Method, Parser};

/// Exchanges parsed ahead of their responses before parsing pauses.
pub(super) const MAX_PIPELINED: usize = 128;

/// The status for a parse error. A version error is 505 only when the
/// start line carried a well-formed `HTTP/d.d` that eddy does not speak;
/// any other malformed start line (a bare LF, garbage) is 400.
pub(super) fn status_for(kind: ErrorKind, seen: &[u8]) -> u16 {
    match kind {
        ErrorKind::InvalidVersion if names_a_version(seen) => 505,
        k => k.status_code(),
    }
}

pub(super) fn names_a_version(seen: &[u8]) -> bool {
    seen.windows(8).any(|w| {
        w.starts_with(b"HTTP/")
            && w[5].is_ascii_digit()
            && w[6] == b'.'
            && w[7].is_ascii_digit()
            && !matches!(&w[5..], b"1.0" | b"1.1")
    })
}

/// The parser's view of a connection during `execute`.
pub(super) struct Feed<'a> {
    pub(super) lp: &'a mut Loop,
    pub(super) c: ConnId,
    pub(super) building: &'a mut RequestData,
    /// A status to answer with instead of parsing on.
    pub(super) reject: Option<u16>,
    /// The connection was destroyed by a callback.
    pub(super) gone: bool,
    /// The request's stream goes to this hook (CONNECT, Upgrade).
    pub(super) hand_off: Option<Hook>,
    /// The connection's server and body limit (fixed for its life).
    pub(super) server: Server,
    pub(super) max_body: Option<u64>,
}

/// Who a served request goes to.
enum To {
    Check(Hook),
    Request(Option<server::RequestCb>),
}

/// What to do with a request whose head is complete.
pub(super) enum Verdict {
    Serve,
    Refuse(u16),
    HandOff(Hook),
}

impl Feed<'_> {
    fn stop(&self) -> bool {
        self.reject.is_some() || self.gone
    }

    fn act(&self) -> Action {
        if self.stop() {
            Action::Error
        } else {
            Action::Continue
        }
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
    if b.version == (1, 1) {
        match f.host {
            Some(h) if f.hosts == 1 && is_valid_host(h) => {}
            _ => return Verdict::Refuse(400),
        }
    }
    if parser.method() == Some(Method::Connect) {
        return if server::has_hook(lp, server, Hook::Connect) {
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
    if let Some(expect) = f.expect {
        let known = expect.eq_ignore_ascii_case(b"100-continue");
        if !known && !server::has_hook(lp, server, Hook::CheckExpectation) {
            return Verdict::Refuse(417);
        }
    }
    if parser.upgrade() && server::has_hook(lp, server, Hook::Upgrade) {
        return Verdict::HandOff(Hook::Upgrade);
    }
    Verdict::Serve
}

impl Handler for Feed<'_> {
    fn on_message_begin(&mut self, _: &Parser) -> Action {
        let now = self.lp.now();
        let h = http(self.lp);
        self.building.clear();
        let Some(cn) = h.conn_mut(self.c) else {
            self.gone = true;
            return Action::Error;
        };
        cn.in_message = true;
        cn.deadlines.idle = None;
        if cn.deadlines.headers.is_none() {
            cn.deadlines.headers = Some(now + cn.opts.headers_timeout_ms);
            cn.deadlines.request = Some(now + cn.opts.request_timeout_ms);
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
        let b = &mut *self.building;
        b.method = parser.method().unwrap_or(Method::Get);
        b.version = parser.version();
        b.keep_alive = parser.should_keep_alive();
        let facts = HeaderFacts::of(&self.building.headers);
        let verdict = verdict(
            self.lp,
            self.server,
            self.max_body,
            self.building,
            parser,
            &facts,
        );
        let wants_continue = facts
            .expect
            .is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"));
        let other_expectation = facts.expect.is_some() && !wants_continue;
        match verdict {
            Verdict::Serve => {}
            Verdict::Refuse(status) => {
                self.reject = Some(status);
                return HeadersAction::Error;
            }
            Verdict::HandOff(hook) => {
                self.hand_off = Some(hook);
                return HeadersAction::Upgrade;
            }
        }
        self.building.expects_continue = wants_continue;
        let c = self.c;
        let h = http(self.lp);
        let Some(cn) = h.conn_mut(c) else {
            self.gone = true;
            return HeadersAction::Error;
        };
        cn.deadlines.headers = None;
        let seq = cn.next_seq;
        cn.next_seq += 1;
        cn.body_seq = Some(seq);
        let server = cn.server;
        // The exchange's old request record (reset, with its buffers)
        // becomes the one the next request is built in.
        let mut x = h.take_exchange(seq);
        std::mem::swap(&mut x.req, self.building);
        let Some(cn) = h.conns.get_mut(c.index as usize) else {
            return HeadersAction::Error;
        };
        if cn.exchanges.capacity() == 0 {
            // Given back while idle: take one from the pool again.
            cn.exchanges = h.queue_pool.pop().unwrap_or_default();
        }
        cn.exchanges.push_back(x);
        // Who gets the request, decided (and the request callback taken
        // out of its slot) in this same lookup.
        let to = if wants_continue && server::has_hook_in(&h.servers, server, Hook::CheckContinue) {
            To::Check(Hook::CheckContinue)
        } else if other_expectation {
            To::Check(Hook::CheckExpectation)
        } else {
            To::Request(server::take_request_cb(&mut h.servers, server))
        };
        let (req, res) = (Request { conn: c, seq }, Response { conn: c, seq });
        let alive = match to {
            To::Check(hook) => {
                server::dispatch_check(self.lp, server, hook, req, res);
                get(self.lp, c).is_some()
            }
            To::Request(cb) => {
                if wants_continue {
                    // No check_continue hook: the client may send its body.
                    let _ = res.write_continue(self.lp);
                }
                match cb {
                    Some(mut cb) => {
                        cb(self.lp, req, res);
                        let h = http(self.lp);
                        server::restore_request_cb(&mut h.servers, server, cb);
                        h.conn_mut(c).is_some()
                    }
                    None => get(self.lp, c).is_some(),
                }
            }
        };
        if !alive {
            self.gone = true;
            return HeadersAction::Error;
        }
        HeadersAction::Proceed
    }

    fn on_body(&mut self, data: &[u8]) {
        if self.stop() {
            return;
        }
        let Some(seq) = get(self.lp, self.c).and_then(|cn| cn.body_seq) else {
            return;
        };
        let c = self.c;
        let Some(cn) = get(self.lp, c) else { return };
        let max = cn.opts.max_body_size;
        let Some(x) = cn.exchanges.iter_mut().find(|x| x.seq == seq) else {
            return; // response already finished: the body is drained
        };
        x.body.received += data.len() as u64;
        if max.is_some_and(|m| x.body.received > m) {
            self.reject = Some(413);
            return;
        }
        let Some(mut cb) = x.body.on_data.take() else {
            return;
        };
        cb(self.lp, Request { conn: c, seq }, data);
        if let Some(x) =
            get(self.lp, c).and_then(|cn| cn.exchanges.iter_mut().find(|x| x.seq == seq))
        {
            x.body.on_data.get_or_insert(cb);
        } else if get(self.lp, c).is_none() {
            self.gone = true;
        }
    }

    fn on_chunk_header(&mut self, _: &Parser) -> Action {
        self.act()
    }

    fn on_message_complete(&mut self, parser: &Parser) -> Action {
        if self.hand_off.is_some() {
            return Action::Continue; // the parser stops for the hand-off
        }
        if self.stop() {
            return Action::Error;
        }
        let c = self.c;
        let now = self.lp.now();
        let h = http(self.lp);
        let Some(cn) = h.conn_mut(c) else {
            self.gone = true;
            return Action::Error;
        };
        cn.in_message = false;
        cn.deadlines.headers = None;
        cn.deadlines.request = None;
        let seq = cn.body_seq.take();
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
        let h = match end {
            Some((cb, seq)) => {
                cb(self.lp, Request { conn: c, seq });
                http(self.lp)
            }
            None => h,
        };
        let Some(cn) = h.conn_mut(c) else {
            self.gone = true;
            return Action::Error;
        };
        if !parser.should_keep_alive() {
            cn.no_more_requests = true;
        }
        let pause = cn.no_more_requests
            || cn.output_paused
            || cn.user_paused
            || cn.exchanges.len() >= MAX_PIPELINED;
        if cn.exchanges.is_empty() {
            // Answered already: the connection is idle again (or closes).
            let next = settle(h, c, now);
            apply(self.lp, c, next);
        }
        if pause {
            return Action::Pause;
        }
        Action::Continue
    }
}
