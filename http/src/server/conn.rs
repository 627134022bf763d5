//! The connection's behaviour: bytes from the stream go through the parser
//! (`feed.rs`), each request becomes an exchange handed to the request
//! callback, responses leave in request order (`output.rs`), and the
//! connection decides when to stop reading, answer an error, time out or
//! close. Its state and pure decisions are in `connection.rs`.
//!
//! A parse takes the parser (and the request being built) out of the
//! table for as long as it runs, so the callbacks it triggers get
//! `&mut Loop` and may do anything, even close this connection. The
//! [`ParseGuard`] does that: made, it takes them out and opens the output
//! batch; dropped, it puts them back (if the connection lives) and
//! flushes the batch it opened. Reading pauses while output waits
//! (pipelining backpressure), and input not yet parsed is kept until
//! reading resumes.

use std::rc::Rc;

use eddy_loop::{Loop, Timer};
use eddy_net::{Hangup, ReadEvent, Stream};

use super::closing::{arm, close_gracefully, hand_off_stream};
use super::connection::{
    Conn, Hold, Input, Next, Output, Parsing, Reading, Writing, MAX_PIPELINED,
};
use super::deadlines::{At, Due};
use super::dispatch;
use super::exchange::{EndCb, Exchange, RequestData, ResponsePhase, ResponseState};
use super::feed::{status_for, Feed, Stop};
use super::file_output::write_file_front;
use super::handles::{ConnId, Request, Response};
use super::hooks::Hook;
use super::lifecycle;
use super::options::ServerOptions;
use super::output::{emit, flush_batch, open_batch, write_front, Flushed, Room};
use super::progress::{RateCheck, RateWatch, SendCheck};
use super::server_state::Server;
use super::stats::CloseReason;
use super::status::reason_phrase;
use super::table::{conn, http};
use super::teardown::destroy;
use crate::parser::{ErrorKind, PauseReason};

/// Sets up a connection for a stream the server accepted.
pub(crate) fn accept(lp: &mut Loop, server: Server, opts: Rc<ServerOptions>, stream: Stream) {
    let now = lp.now();
    let timer = Timer::new(lp);
    let mut cn = Conn::new(server, opts.clone(), stream, timer);
    // Slow clients that never finish their first request are cut off by
    // the same deadlines as any request.
    cn.deadlines.headers = Some(At::new(now + opts.headers_timeout_ms));
    cn.deadlines.request = Some(At::new(now + opts.request_timeout_ms));
    cn.deadlines.armed_at = Some(At::new(now + opts.headers_timeout_ms.max(1)));
    let c = http(lp).conns.insert(cn);
    let _ = timer.start(lp, opts.headers_timeout_ms.max(1), 0, move |lp, _| {
        on_timer(lp, c)
    });
    let _ = stream.set_nodelay(lp, true);
    let _ = stream.set_high_water_mark(lp, opts.high_water_mark);
    let _ = stream.set_allow_half_open(lp, true);
    // The stream's callbacks find their connection by its data, so they
    // capture nothing and are not allocated: an idle connection holds less.
    let _ = stream.set_data(lp, c.to_bits());
    let _ = stream.on_drain(lp, |lp, s| {
        if let Some(c) = conn_of(lp, s) {
            on_drain(lp, c)
        }
    });
    // While reading is stopped (backpressure, a paused request), the
    // client's FIN or reset still reaches the connection.
    let _ = stream.on_hangup(lp, |lp, s, how| {
        if let Some(c) = conn_of(lp, s) {
            on_hangup(lp, c, how)
        }
    });
    if opts.timeout_ms > 0 {
        let _ = stream.set_timeout(lp, opts.timeout_ms, |lp, s| {
            if let Some(c) = conn_of(lp, s) {
                destroy(lp, c, CloseReason::SocketTimeout)
            }
        });
    }
    let _ = stream.read_start(lp, |lp, s, ev| {
        if let Some(c) = conn_of(lp, s) {
            on_read(lp, c, s, ev)
        }
    });
}

/// The connection stream `s` serves (its data, set at accept).
#[inline]
fn conn_of(lp: &Loop, s: Stream) -> Option<ConnId> {
    s.data(lp).ok().map(ConnId::from_bits)
}

fn parser_settings(opts: &ServerOptions) -> crate::parser::Settings {
    crate::parser::Settings {
        lenient: opts.lenient,
        max_header_bytes: opts.max_header_size,
        max_headers: opts.max_headers_count,
        max_url_len: opts.max_url_len,
        ..crate::parser::Settings::default()
    }
}

fn on_read(lp: &mut Loop, c: ConnId, _: Stream, ev: ReadEvent<'_>) {
    match ev {
        ReadEvent::Data(bytes) => {
            let now = lp.now();
            let Some(cn) = conn(lp, c) else { return };
            cn.active_at = now;
            if cn.writing == Writing::Lingering || cn.reading == Reading::Done {
                return; // input after the last request is discarded
            }
            if !cn.leftover.is_empty() {
                cn.leftover.extend_from_slice(bytes);
                return;
            }
            parse(lp, c, bytes);
        }
        ReadEvent::Eof => on_eof(lp, c),
        ReadEvent::Error(_) => destroy(lp, c, CloseReason::Reset),
    }
}

/// How a parse ended.
enum Parsed {
    /// Every byte was parsed.
    All,
    /// Parsing paused with input left, from this offset.
    Held { from: usize },
    /// The request is refused with this status (for this parse error,
    /// if the parser refused it).
    Refused {
        status: u16,
        kind: Option<ErrorKind>,
    },
    /// The stream goes to a hook, with the request and the bytes from
    /// this offset.
    HandOff {
        hook: Hook,
        req: Box<RequestData>,
        from: usize,
    },
    /// A callback destroyed the connection.
    Gone,
}

/// The parser and the request being built, out of the table while they
/// run; dropping the guard puts them back (if the connection lives) and
/// flushes the output batch it opened.
struct ParseGuard<'l> {
    lp: &'l mut Loop,
    c: ConnId,
    /// `Parsing::Ready` (with a request record) while the guard holds it.
    parsing: Parsing,
    /// This guard opened the batch, so it flushes it.
    opened_batch: bool,
}

impl<'l> ParseGuard<'l> {
    /// Takes the parser out of connection `c`; None if the connection is
    /// gone or its parser is already running (it goes on by itself).
    fn begin(lp: &'l mut Loop, c: ConnId) -> Option<ParseGuard<'l>> {
        let h = http(lp);
        let cn = h.conns.get_mut(c)?;
        if matches!(cn.parsing, Parsing::Running) {
            return None;
        }
        let parsing = match std::mem::replace(&mut cn.parsing, Parsing::Running) {
            // A new or idle connection holds neither: both from the pools.
            Parsing::Idle => {
                let settings = parser_settings(&cn.opts);
                Parsing::Ready {
                    parser: h.take_parser(settings),
                    building: h.pool.pop().unwrap_or_default(),
                }
            }
            ready => ready,
        };
        let opened_batch = open_batch(lp, c);
        Some(ParseGuard {
            lp,
            c,
            parsing,
            opened_batch,
        })
    }

    /// Runs the parser over `data`.
    fn run(&mut self, data: &[u8]) -> Parsed {
        let c = self.c;
        let Parsing::Ready { parser, building } = &mut self.parsing else {
            return Parsed::Gone;
        };
        let Some(cn) = conn(self.lp, c) else {
            return Parsed::Gone;
        };
        let (server, max_body, max_drain) =
            (cn.server, cn.opts.max_body_size, cn.opts.max_drain_bytes);
        let upgrade_goes_on = cn.opts.continue_after_ignored_upgrade;
        let mut offset = 0;
        while offset < data.len() {
            let mut feed = Feed {
                lp: &mut *self.lp,
                c,
                building,
                stop: Stop::No,
                server,
                max_body,
                max_drain,
                upgrade_goes_on,
            };
            let result = parser.execute(&mut feed, &data[offset..]);
            let stop = feed.stop;
            match (stop, result) {
                (Stop::Gone | Stop::Closed, _) => return Parsed::Gone,
                (Stop::HandOff(hook), Ok(n)) => {
                    return Parsed::HandOff {
                        hook,
                        req: std::mem::take(building),
                        from: offset + n,
                    }
                }
                (stop, Err(e)) => {
                    return match stop {
                        Stop::Refuse(status) => Parsed::Refused { status, kind: None },
                        _ => Parsed::Refused {
                            status: status_for(&e),
                            kind: Some(e.kind),
                        },
                    };
                }
                (_, Ok(n)) => {
                    offset += n;
                    if offset >= data.len() {
                        return Parsed::All;
                    }
                    match parser.pause_reason() {
                        // Upgrade without a handler, with the option to go
                        // on: served as an ordinary request, and the
                        // connection goes on as HTTP. (Without it, reading
                        // is done: what is held is dropped.)
                        Some(PauseReason::Upgrade) if upgrade_goes_on => parser.resume(),
                        _ => return Parsed::Held { from: offset },
                    }
                }
            }
        }
        Parsed::All
    }
}

impl Drop for ParseGuard<'_> {
    fn drop(&mut self) {
        let c = self.c;
        if let Some(cn) = conn(self.lp, c) {
            if matches!(cn.parsing, Parsing::Running) {
                cn.parsing = std::mem::replace(&mut self.parsing, Parsing::Running);
            }
        }
        if self.opened_batch {
            finish_batch(self.lp, c);
        }
    }
}

/// Runs the parser over `data`, batching the output it causes, and keeps
/// what a pause leaves unparsed.
fn parse(lp: &mut Loop, c: ConnId, data: &[u8]) {
    let parsed = match ParseGuard::begin(lp, c) {
        Some(mut guard) => guard.run(data),
        None => return,
    };
    match parsed {
        Parsed::All | Parsed::Gone => {}
        Parsed::Held { from } => {
            let Some(cn) = conn(lp, c) else { return };
            if cn.reading != Reading::Done {
                cn.leftover.extend_from_slice(&data[from..]);
            }
            // Input held back: read no more until it is parsed
            // (`resume_reading`), or it would grow without bound.
            let stream = cn.stream;
            let _ = stream.read_stop(lp);
        }
        Parsed::Refused { status, kind } => {
            if let Some(kind) = kind {
                count_parse_error(lp, c, kind);
            }
            fail(lp, c, status, CloseReason::for_refusal(status))
        }
        Parsed::HandOff { hook, req, from } => {
            hand_off_stream(lp, c, hook, *req, data[from..].to_vec())
        }
    }
}

/// The end of an outer parse: the batch goes out, and a connection left
/// idle gives its buffers back.
fn finish_batch(lp: &mut Loop, c: ConnId) {
    let flushed = flush_batch(lp, c);
    release_idle_buffers(lp, c);
    if flushed == Flushed::BelowWhileHeld {
        // The batch filled up but the socket took it all: no drain will
        // come from the stream, so drain here, from the next pending phase
        // (not recursively): a response waiting for its drain callback
        // (say, an echo that paused its request) goes on.
        lp.queue_pending(move |lp| on_drain(lp, c));
    }
}

/// An idle keep-alive connection gives its parser, queue and request
/// buffers back to the pools, so what it holds while idle is its own small
/// state; the next request takes them again (no allocation in the steady
/// state). Between messages the parser holds nothing of the connection's:
/// the next message starts from its initial state either way.
fn release_idle_buffers(lp: &mut Loop, c: ConnId) {
    let h = http(lp);
    let Some(cn) = h.conns.get_mut(c) else { return };
    if !cn.is_idle() {
        return;
    }
    let (parser, building) = match std::mem::replace(&mut cn.parsing, Parsing::Idle) {
        Parsing::Ready { parser, building } => (parser, building),
        // Idle already; or mid-parse: the parser and the request being
        // built are in use.
        other => {
            cn.parsing = other;
            return;
        }
    };
    let queue = std::mem::take(&mut cn.exchanges);
    h.recycle_queue(queue);
    h.recycle_parser(parser);
    h.recycle(building);
}

/// Does what `Conn::settle` decided.
fn apply(lp: &mut Loop, c: ConnId, next: Next) {
    match next {
        Next::Nothing => {}
        Next::Resume => resume_reading(lp, c),
        Next::Close(reason) => close_gracefully(lp, c, reason),
        Next::Rearm(timer, ms) => {
            let _ = timer.rearm(lp, ms);
        }
        Next::Idle => {
            release_idle_buffers(lp, c);
            arm(lp, c);
            resume_reading(lp, c);
        }
    }
}

/// Settles connection `c` (its queue's front changed) and acts on it.
fn settle(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let h = http(lp);
    let Some(cn) = h.conns.get(c) else { return };
    let server_closing = h.server_closing(cn.server);
    let Some(cn) = h.conns.get_mut(c) else { return };
    let next = cn.settle(server_closing, now);
    apply(lp, c, next);
}

/// Settles the connection if nothing is in flight.
fn settle_if_idle(lp: &mut Loop, c: ConnId) {
    if conn(lp, c).is_some_and(|cn| cn.exchanges.is_empty() && !cn.in_message()) {
        settle(lp, c);
    }
}

/// Pops finished responses off the front of the queue, sending the
/// held-back output of each next one; then decides what the connection
/// does next.
pub(crate) fn advance(lp: &mut Loop, c: ConnId) {
    let lp_now = lp.now();
    loop {
        let h = http(lp);
        let Some(cn) = h.conns.get_mut(c) else { return };
        if !cn.exchanges.front().is_some_and(|x| x.res.is_finished()) {
            return settle(lp, c);
        }
        let Some(mut done) = cn.exchanges.pop_front() else {
            return settle(lp, c);
        };
        cn.served += 1;
        cn.active_at = lp_now;
        if let Some(st) = h.servers.get_mut(cn.server.id) {
            st.stats.responses.count(done.res.status);
        }
        let Some(cn) = h.conns.get_mut(c) else { return };
        if !done.body.complete {
            // Its body is still coming, unread: drained within a bound.
            let unread = done.req.unread_body(done.body.received);
            cn.finished_before_body(done.seq, unread);
        }
        // A pause belongs to its request: it ends with it.
        cn.hold = cn.hold.user(false);
        if !done.res.keep_alive {
            // Nothing more goes out on this connection: requests pipelined
            // after this one are dropped with it (those still receiving a
            // body hear `aborted` first).
            cn.reading = Reading::Done;
            let aborts: Vec<(EndCb, u64)> = cn
                .exchanges
                .iter_mut()
                .filter(|x| !x.body.complete)
                .filter_map(|x| x.body.on_abort.take().map(|cb| (cb, x.seq)))
                .collect();
            // Whether all of this response is with the kernel already
            // (nothing batched, nothing queued on the stream), should an
            // `aborted` callback destroy the connection.
            let batched = matches!(&cn.output, Output::Batch { buf, .. } if !buf.is_empty());
            let stream = cn.stream;
            let all_out = !batched && stream.write_queue_size(lp).unwrap_or(0) == 0;
            for (cb, seq) in aborts {
                cb(lp, Request { conn: c, seq });
            }
            let Some(cn) = conn(lp, c) else {
                // An `aborted` callback destroyed the connection: this
                // response, out of the queue already, is told here.
                lifecycle::tell(lp, std::mem::take(&mut done.closers), all_out);
                return;
            };
            let mut rest = std::mem::take(&mut cn.exchanges);
            for x in rest.iter_mut() {
                lifecycle::dropped(lp, x);
            }
            http(lp).recycle_queue(rest);
        }
        if !done.closers.is_empty() {
            let closers = std::mem::take(&mut done.closers);
            if done.res.phase == ResponsePhase::Short {
                // Cut short of its Content-Length: not finished.
                lifecycle::tell(lp, closers, false);
            } else {
                lifecycle::left_queue(lp, c, closers);
            }
        }
        let h = http(lp);
        let Some(cn) = h.conns.get_mut(c) else { return };
        let (next_held, next_file) = match cn.exchanges.front_mut() {
            Some(x) => (Some(std::mem::take(&mut x.held)), x.file.take()),
            None => (None, None),
        };
        let held_for_output = cn.hold.by_output();
        // An unread body is drained by the parser as it arrives; the
        // request's callbacks go with the exchange.
        h.recycle_exchange(done);
        if let Some(held) = next_held {
            // If that output had filled the mark (holding reading) but the
            // socket takes it all, no drain comes from the stream: drain
            // here, so a response waiting for it goes on.
            let wrote = !held.is_empty() || next_file.is_some();
            let mut room = match held.is_empty() {
                true => Room::Below,
                false => write_front(lp, c, &held),
            };
            // A file body goes right after its held-back head.
            if let Some(file) = next_file {
                if write_file_front(lp, c, file) == Room::Full {
                    room = Room::Full;
                }
            }
            if wrote && room == Room::Below && held_for_output {
                lp.queue_pending(move |lp| on_drain(lp, c));
            }
        }
    }
}

/// Parses input kept during a pause, then reads again, unless something
/// still holds reading back.
pub(crate) fn resume_reading(lp: &mut Loop, c: ConnId) {
    let Some(cn) = conn(lp, c) else { return };
    if !cn.may_read() || matches!(cn.parsing, Parsing::Running) {
        // Held back; or called back from inside the parser: it goes on by
        // itself.
        return;
    }
    if cn.exchanges.len() >= MAX_PIPELINED {
        return;
    }
    if let Parsing::Ready { parser, .. } = &mut cn.parsing {
        parser.resume();
    }
    if !cn.leftover.is_empty() {
        let pending = std::mem::take(&mut cn.leftover);
        parse(lp, c, &pending);
        let Some(cn) = conn(lp, c) else { return };
        if !cn.leftover.is_empty() || !cn.may_read() {
            return;
        }
        if cn.input == Input::Ended {
            return settle_if_idle(lp, c);
        }
    }
    let Some(cn) = conn(lp, c) else { return };
    let stream = cn.stream;
    if cn.input == Input::Open && !stream.is_reading(lp) {
        let _ = stream.read_start(lp, move |lp, s, ev| on_read(lp, c, s, ev));
    }
}

/// The stream drained below its mark: the front response's drain
/// callback runs, and reading resumes.
fn on_drain(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let h = http(lp);
    let Some(cn) = h.conns.get_mut(c) else { return };
    if cn.hold.by_output() {
        let (server, paused) = (cn.server, now.saturating_sub(cn.held_since));
        if let Some(st) = h.servers.get_mut(server.id) {
            st.stats.backpressure_ms += paused;
        }
    }
    let Some(cn) = h.conns.get_mut(c) else { return };
    cn.hold = cn.hold.output(false);
    if let Some(seq) = cn.exchanges.front().map(|x| x.seq) {
        let res = Response { conn: c, seq };
        lp.with_cb(res, drain_slot, |lp, cb| cb(lp, res));
    }
    resume_reading(lp, c);
}

fn drain_slot(lp: &mut Loop, r: Response) -> Option<&mut Option<super::exchange::DrainCb>> {
    Some(&mut super::table::exchange(lp, r.conn, r.seq)?.res.drain_cb)
}

/// The user paused or resumed request reading.
pub(crate) fn set_user_hold(lp: &mut Loop, c: ConnId, paused: bool) {
    let Some(cn) = conn(lp, c) else { return };
    cn.hold = cn.hold.user(paused);
    let stream = cn.stream;
    if paused {
        let _ = stream.read_stop(lp);
    } else {
        resume_reading(lp, c);
    }
}

/// The client went away while reading was stopped: a reset closes the
/// connection; a FIN is its end of input, as a read would have seen it.
fn on_hangup(lp: &mut Loop, c: ConnId, how: Hangup) {
    match how {
        Hangup::Reset => destroy(lp, c, CloseReason::Reset),
        Hangup::Ended => {
            if conn(lp, c).is_some_and(|cn| cn.opts.allow_half_open) {
                // The FIN is read (after what is still unread) when
                // reading resumes.
                return;
            }
            on_eof(lp, c);
        }
    }
}

fn on_eof(lp: &mut Loop, c: ConnId) {
    let Some(cn) = conn(lp, c) else { return };
    cn.input = Input::Ended;
    if cn.writing == Writing::Lingering {
        // Once our queued output is out (the shutdown callback sees it).
        let stream = cn.stream;
        if stream.write_queue_size(lp).unwrap_or(0) == 0 {
            destroy(lp, c, CloseReason::Eof);
        }
        return;
    }
    if cn.in_message() {
        // Cut off mid-request: the request is aborted; nothing can answer.
        return destroy(lp, c, CloseReason::Eof);
    }
    if !cn.opts.allow_half_open && !cn.exchanges.is_empty() {
        // As Node without `httpAllowHalfOpen`: the client is gone, so the
        // responses not yet finished are dropped (their `close` says
        // so), what is queued goes out, and the connection closes.
        cn.reading = Reading::Done;
        let mut queue = std::mem::take(&mut cn.exchanges);
        for x in queue.iter_mut() {
            lifecycle::dropped(lp, x);
        }
        http(lp).recycle_queue(queue);
        return close_gracefully(lp, c, CloseReason::Eof);
    }
    // Half-close: the client sent its requests and ended its side; the
    // responses still go out, then the connection closes.
    settle_if_idle(lp, c);
}

fn on_timer(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = conn(lp, c) else { return };
    // It fired: whatever follows arms it afresh.
    cn.deadlines.armed_at = None;
    if cn.deadlines.send.is_some_and(|t| t.ms() <= now) {
        let stream = cn.stream;
        let written = stream.bytes_written(lp).unwrap_or(0);
        let queued = stream.write_queue_size(lp).unwrap_or(0);
        let Some(cn) = conn(lp, c) else { return };
        let timeout = cn.opts.send_timeout_ms;
        cn.deadlines.send = match cn.send_watch.check(now, written, queued, timeout) {
            SendCheck::Off => None,
            SendCheck::Until(t) => Some(At::new(t)),
            // The peer takes nothing: no graceful end can flush.
            SendCheck::Stalled => return destroy(lp, c, CloseReason::SendTimeout),
        };
    }
    let Some(cn) = conn(lp, c) else { return };
    if let (Some(rate), true) = (
        cn.opts.min_body_rate,
        cn.deadlines.body_rate.is_some_and(|t| t.ms() <= now),
    ) {
        let reading = cn.hold == Hold::Flowing && cn.leftover.is_empty();
        match cn.rate_watch.check(now, cn.body_received, reading, &rate) {
            RateCheck::Until(t) => cn.deadlines.body_rate = Some(At::new(t)),
            RateCheck::TooSlow => {
                cn.rate_watch = RateWatch::Off;
                cn.deadlines.body_rate = None;
                return fail(lp, c, 408, CloseReason::RequestTimeout);
            }
        }
    }
    let Some(cn) = conn(lp, c) else { return };
    let draining = matches!(cn.reading, Reading::Drain { .. });
    match cn.deadlines.fired(now) {
        Due::Close(reason) => destroy(lp, c, reason),
        // The response went out already: nothing to answer.
        Due::RequestTimeout(_) if draining => drop_unanswerable(lp, c),
        Due::RequestTimeout(reason) => fail(lp, c, 408, reason),
        Due::Nothing => arm(lp, c),
    }
}

/// Counts a request the parser refused, by kind.
fn count_parse_error(lp: &mut Loop, c: ConnId, kind: ErrorKind) {
    let h = http(lp);
    let Some(cn) = h.conns.get(c) else { return };
    let server = cn.server;
    if let Some(st) = h.servers.get_mut(server.id) {
        st.stats.parse_error(kind);
    }
}

/// A request whose response is out already went wrong (its drained body
/// was bad or late): no answer, the connection closes.
fn drop_unanswerable(lp: &mut Loop, c: ConnId) {
    let Some(cn) = conn(lp, c) else { return };
    cn.reading = Reading::Done;
    cn.leftover = Vec::new();
    close_gracefully(lp, c, CloseReason::ParseError);
}

/// Answers the request being parsed with `status` (if no response to it
/// has begun), then closes once earlier responses are out.
fn fail(lp: &mut Loop, c: ConnId, status: u16, reason: CloseReason) {
    let Some(cn) = conn(lp, c) else { return };
    if matches!(cn.reading, Reading::Drain { .. }) {
        return drop_unanswerable(lp, c);
    }
    cn.decide_close(reason);
    let server = cn.server;
    let custom = dispatch::client_error_bytes(lp, server, status);
    let Some(cn) = conn(lp, c) else { return };
    let failing = cn.body_seq();
    cn.reading = Reading::Done;
    // Answered: the request's deadlines must not fire a second answer.
    cn.deadlines.headers = None;
    cn.deadlines.request = None;
    cn.deadlines.body_rate = None;
    cn.rate_watch = RateWatch::Off;
    cn.leftover = Vec::new();
    let stream = cn.stream;
    let bytes = custom.unwrap_or_else(|| {
        format!(
            "HTTP/1.1 {status} {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            reason_phrase(status)
        )
        .into_bytes()
    });
    let started = failing
        .and_then(|seq| cn.exchanges.iter().find(|x| x.seq == seq))
        .is_some_and(|x| x.res.head_sent());
    let abort = failing.and_then(|seq| {
        let x = cn.exchanges.iter_mut().find(|x| x.seq == seq)?;
        x.body.on_abort.take().map(|cb| (cb, seq))
    });
    // The failing exchange leaves the queue unless its response is
    // finished (then it goes out, and the connection closes after it).
    let dropped: Option<Box<Exchange>> = failing.and_then(|seq| {
        let pos = cn
            .exchanges
            .iter()
            .position(|x| x.seq == seq && !x.res.is_finished())?;
        cn.exchanges.remove(pos)
    });
    if let Some(x) = cn.exchanges.iter_mut().find(|x| Some(x.seq) == failing) {
        x.res.keep_alive = false;
    }
    if !started {
        let seq = cn.next_seq;
        cn.next_seq += 1;
        let mut x = Box::new(Exchange::new(seq));
        x.res = ResponseState {
            status,
            phase: ResponsePhase::Finished,
            keep_alive: false,
            ..ResponseState::default()
        };
        cn.exchanges.push_back(x);
        emit(lp, c, seq, &bytes);
    }
    if let Some(mut x) = dropped {
        lifecycle::dropped(lp, &mut x);
        http(lp).recycle_exchange(x);
    }
    let _ = stream.read_stop(lp);
    if let Some((cb, seq)) = abort {
        cb(lp, Request { conn: c, seq });
    }
    advance(lp, c);
}
