//! One server connection: bytes from the stream go through the parser,
//! each request becomes an exchange handed to the request callback, and
//! the connection decides when to stop reading, answer an error, time out
//! or close.
//!
//! The parser (and the request being built) is taken out of the table
//! while it runs, so the callbacks it triggers get `&mut Loop` and may do
//! anything, even close this connection. Reading pauses while output waits
//! (pipelining backpressure), and the input not yet parsed is kept until
//! reading resumes. The parser's callbacks are in `feed.rs`; deadlines,
//! failures and closing in `lifecycle.rs`.

use std::rc::Rc;

use eddy_loop::{Loop, Timer};
use eddy_net::{ReadEvent, Stream};

use super::exchange::{Queue, RequestData};
use super::feed::{status_for, Feed, MAX_PIPELINED};
use super::lifecycle::{arm, fail, hand_off_stream, on_timer, Deadlines};
pub(crate) use super::lifecycle::{close_gracefully, destroy};
use super::options::ServerOptions;
use super::server::{self, Server};
use super::table::{conn_in, http, Http};
use crate::parser::{Parser, PauseReason};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ConnId {
    pub index: u32,
    pub gen: u32,
}

pub(crate) struct Conn {
    pub gen: u32,
    pub server: Server,
    pub opts: Rc<ServerOptions>,
    pub stream: Stream,
    /// Boxed, like `building`: taken out for every parse, they move as a
    /// pointer. `parser` is None while it runs.
    pub(crate) parser: Option<Box<Parser>>,
    /// The request being parsed; None while idle (one is taken from the
    /// pool when input comes).
    pub(crate) building: Option<Box<RequestData>>,
    pub exchanges: Queue,
    pub(crate) next_seq: u64,
    pub(crate) body_seq: Option<u64>,
    pub(crate) leftover: Vec<u8>,
    /// While parsing, output for the front exchange collects here and goes
    /// out as one write when the input is consumed: a pipelined batch of
    /// requests is answered with one syscall.
    pub(crate) batch: Option<Vec<u8>>,
    /// The stream's write queue when the batch began (nothing else writes
    /// to the stream while a batch is open).
    pub(crate) batch_base: usize,
    pub(crate) output_paused: bool,
    pub(crate) user_paused: bool,
    pub(crate) eof: bool,
    pub no_more_requests: bool,
    pub(crate) lingering: bool,
    pub served: u32,
    pub(crate) in_message: bool,
    pub(crate) timer: Timer,
    pub(crate) deadlines: Deadlines,
}

#[inline]
pub(crate) fn get(lp: &mut Loop, c: ConnId) -> Option<&mut Conn> {
    http(lp).conn_mut(c)
}

/// What the head of a response needs to know about its connection.
#[derive(Clone, Copy)]
pub(crate) struct HeadContext {
    /// The connection closes after this response.
    pub closing: bool,
    /// `Keep-Alive: timeout=N`; None when keep-alive is off.
    pub keep_alive_secs: Option<u64>,
}

/// The head context of response `seq` on `cn`.
pub(crate) fn head_context_of(cn: &Conn, seq: u64, server_closing: bool) -> HeadContext {
    let max = cn.opts.max_requests_per_socket;
    let last_allowed = max > 0 && seq + 1 >= u64::from(max);
    // No more requests will be read: the last queued response closes the
    // connection; the ones before it still go out as usual.
    let last_queued = cn.exchanges.back().map(|x| x.seq) == Some(seq) && !cn.in_message;
    let ka = cn.opts.keep_alive_timeout_ms;
    HeadContext {
        closing: server_closing || (cn.no_more_requests && last_queued) || last_allowed,
        keep_alive_secs: (ka > 0).then(|| ka.div_ceil(1000)),
    }
}

/// Sets up a connection for a stream the server accepted.
pub(crate) fn accept(lp: &mut Loop, server: Server, opts: Rc<ServerOptions>, stream: Stream) {
    let now = lp.now();
    let timer = Timer::new(lp);
    let mut parser = Parser::with_settings(crate::parser::Kind::Request, parser_settings(&opts));
    parser.reset();
    let h = http(lp);
    let gen = h.next_gen();
    let index = h.conns.insert(Conn {
        gen,
        server,
        opts: opts.clone(),
        stream,
        parser: Some(Box::new(parser)),
        building: None,
        exchanges: Queue::new(),
        next_seq: 0,
        body_seq: None,
        leftover: Vec::new(),
        batch: None,
        batch_base: 0,
        output_paused: false,
        user_paused: false,
        eof: false,
        no_more_requests: false,
        lingering: false,
        served: 0,
        in_message: false,
        timer,
        deadlines: Deadlines::default(),
    }) as u32;
    let c = ConnId { index, gen };
    let _ = timer.start(lp, opts.headers_timeout_ms.max(1), 0, move |lp, _| {
        on_timer(lp, c)
    });
    if let Some(cn) = get(lp, c) {
        // Slow clients that never finish their first request are cut off
        // by the same deadlines as any request.
        cn.deadlines.headers = Some(now + opts.headers_timeout_ms);
        cn.deadlines.request = Some(now + opts.request_timeout_ms);
        cn.deadlines.armed_at = Some(now + opts.headers_timeout_ms.max(1));
    }
    let _ = stream.set_nodelay(lp, true);
    let _ = stream.set_high_water_mark(lp, opts.high_water_mark);
    let _ = stream.set_allow_half_open(lp, true);
    let _ = stream.on_drain(lp, move |lp, _| on_drain(lp, c));
    if opts.timeout_ms > 0 {
        let _ = stream.set_timeout(lp, opts.timeout_ms, move |lp, _| destroy(lp, c));
    }
    let _ = stream.read_start(lp, move |lp, s, ev| on_read(lp, c, s, ev));
}

pub(super) fn parser_settings(opts: &ServerOptions) -> crate::parser::Settings {
    crate::parser::Settings {
        lenient: opts.lenient,
        max_header_bytes: opts.max_header_size,
        max_headers: opts.max_headers_count,
        max_url_len: opts.max_url_len,
        ..crate::parser::Settings::default()
    }
}

pub(super) fn on_read(lp: &mut Loop, c: ConnId, stream: Stream, ev: ReadEvent<'_>) {
    match ev {
        ReadEvent::Data(bytes) => {
            // What the stream still has queued counts toward the batch's
            // high-water mark (nothing else writes while a batch is open).
            let base = stream.write_queue_size(lp).unwrap_or(0);
            let h = http(lp);
            let Some(cn) = conn_in(&mut h.conns, c) else {
                return;
            };
            if cn.lingering || cn.no_more_requests {
                return; // input after the last request is discarded
            }
            if !cn.leftover.is_empty() {
                cn.leftover.extend_from_slice(bytes);
                return;
            }
            let outer = cn.batch.is_none();
            if outer {
                cn.batch = Some(std::mem::take(&mut h.batch_spare));
                cn.batch_base = base;
            }
            parse_input(lp, c, bytes);
            if outer {
                finish_batch(lp, c);
            }
        }
        ReadEvent::Eof => on_eof(lp, c),
        ReadEvent::Error(_) => destroy(lp, c),
    }
}

/// Runs the parser over `data`, batching the output it causes.
pub(super) fn parse(lp: &mut Loop, c: ConnId, data: &[u8]) {
    let Some(cn) = get(lp, c) else { return };
    let outer = cn.batch.is_none();
    if outer {
        let stream = cn.stream;
        let base = stream.write_queue_size(lp).unwrap_or(0);
        let h = http(lp);
        let spare = std::mem::take(&mut h.batch_spare);
        if let Some(cn) = conn_in(&mut h.conns, c) {
            cn.batch = Some(spare);
            cn.batch_base = base;
        }
    }
    parse_input(lp, c, data);
    if outer {
        finish_batch(lp, c);
    }
}

/// The end of an outer parse: the batch goes out, and a connection left
/// idle gives its buffers back (`flush_batch` then `release_idle_buffers`,
/// in fewer lookups).
fn finish_batch(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    let (stream, paused) = (cn.stream, cn.output_paused);
    let flushed = cn.batch.take().map(|mut batch| {
        let written = if batch.is_empty() {
            Ok(true)
        } else {
            stream.write(lp, &batch)
        };
        if written.is_err() {
            write_failed(lp, c);
        }
        batch.clear();
        http(lp).batch_spare = batch;
        (written.is_ok_and(|b| b), paused)
    });
    let h = http(lp);
    let idle = conn_in(&mut h.conns, c);
    if let Some(cn) = idle.filter(|cn| is_idle(cn) && !cn.lingering) {
        if cn.parser.is_some() && cn.leftover.is_empty() {
            let queue = std::mem::take(&mut cn.exchanges);
            let building = cn.building.take();
            h.recycle_queue(queue);
            if let Some(b) = building {
                h.recycle(b);
            }
        }
    }
    match flushed {
        Some((false, _)) => pause_for_output(lp, c),
        // As in `flush_batch`.
        Some((true, true)) => lp.queue_pending(move |lp| on_drain(lp, c)),
        _ => {}
    }
}

/// Writes what the parse batched (and stops batching).
pub(crate) fn flush_batch(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    let Some(mut batch) = cn.batch.take() else {
        return;
    };
    let stream = cn.stream;
    let paused = cn.output_paused;
    let written = if batch.is_empty() {
        Ok(true)
    } else {
        stream.write(lp, &batch)
    };
    let below = written.as_ref().is_ok_and(|b| *b);
    if written.is_err() {
        write_failed(lp, c);
    }
    batch.clear();
    http(lp).batch_spare = batch;
    if !below {
        pause_for_output(lp, c);
    } else if paused {
        // The batch filled up but the socket took it all: no drain will
        // come from the stream, so drain here, from the next pending phase
        // (not recursively): a response waiting for its drain callback
        // (say, an echo that paused its request) goes on.
        lp.queue_pending(move |lp| on_drain(lp, c));
    }
}

/// Output for the front exchange: into the batch while parsing, else
/// straight to the stream. Returns false above the high-water mark.
pub(crate) fn write_out(lp: &mut Loop, c: ConnId, bytes: &[u8]) -> bool {
    let Some(cn) = get(lp, c) else { return false };
    let (stream, hwm) = (cn.stream, cn.opts.high_water_mark);
    if let Some(batch) = cn.batch.as_mut() {
        batch.extend_from_slice(bytes);
        let below = batch.len() + cn.batch_base < hwm;
        if !below {
            // Parsing pauses after this message; the flush decides when
            // reading resumes.
            cn.output_paused = true;
        }
        return below;
    }
    write_direct(lp, c, stream, bytes)
}

/// Output for the front exchange when no batch is open.
pub(crate) fn write_direct(lp: &mut Loop, c: ConnId, stream: Stream, bytes: &[u8]) -> bool {
    match stream.write(lp, bytes) {
        Ok(true) => true,
        Ok(false) => {
            pause_for_output(lp, c);
            false
        }
        Err(_) => {
            write_failed(lp, c);
            false
        }
    }
}

/// A write failed: the peer is gone. The connection closes from the next
/// pending phase (not from inside whatever is writing).
pub(super) fn write_failed(lp: &mut Loop, c: ConnId) {
    lp.queue_pending(move |lp| destroy(lp, c));
}

/// Runs the parser over `data`, keeping what a pause leaves unparsed.
pub(super) fn parse_input(lp: &mut Loop, c: ConnId, data: &[u8]) {
    let mut offset = 0;
    while offset < data.len() {
        let h = http(lp);
        let Some(cn) = conn_in(&mut h.conns, c) else {
            return;
        };
        let Some(mut parser) = cn.parser.take() else {
            return; // the parser is running: it goes on by itself
        };
        let (server, max_body) = (cn.server, cn.opts.max_body_size);
        // An idle connection holds none: one from the pool (same lookup).
        let mut building = match cn.building.take() {
            Some(b) => b,
            None => h.pool.pop().unwrap_or_default(),
        };
        let mut feed = Feed {
            lp: &mut *lp,
            c,
            building: &mut building,
            reject: None,
            gone: false,
            hand_off: None,
            server,
            max_body,
        };
        let result = parser.execute(&mut feed, &data[offset..]);
        let (reject, gone, hand_off) = (feed.reject, feed.gone, feed.hand_off);
        if gone {
            return;
        }
        if let (Some(hook), Ok(n)) = (hand_off, &result) {
            let rest = data[offset + n..].to_vec();
            return hand_off_stream(lp, c, hook, *building, rest);
        }
        let Some(cn) = get(lp, c) else { return };
        let paused = parser.pause_reason();
        cn.parser = Some(parser);
        cn.building = Some(building);
        match result {
            Err(e) => {
                let seen = &data[offset..(offset + e.offset).min(data.len())];
                let status = reject.unwrap_or_else(|| status_for(e.kind, seen));
                return fail(lp, c, status);
            }
            Ok(n) => {
                offset += n;
                if offset >= data.len() {
                    return;
                }
                match paused {
                    // Upgrade without a handler: served as an ordinary
                    // request, and the connection goes on as HTTP.
                    Some(PauseReason::Upgrade) => resume_parser(lp, c),
                    _ => {
                        if !cn.no_more_requests {
                            cn.leftover.extend_from_slice(&data[offset..]);
                        }
                        // Input held back: read no more until it is parsed
                        // (`resume_reading`), or it would grow without bound.
                        let stream = cn.stream;
                        let _ = stream.read_stop(lp);
                        return;
                    }
                }
            }
        }
    }
}

pub(super) fn resume_parser(lp: &mut Loop, c: ConnId) {
    if let Some(p) = get(lp, c).and_then(|cn| cn.parser.as_mut()) {
        p.resume();
    }
}

/// Called when the front of the queue changed.
pub(crate) fn after_advance(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let next = settle(http(lp), c, now);
    apply(lp, c, next);
}

/// What a connection does once the front of its queue changed, decided
/// on the table alone (callers that hold it already need no new lookup);
/// `apply` then does what needs the loop.
pub(crate) enum Next {
    Nothing,
    Resume,
    Close,
    Rearm(Timer, u64),
    /// Idle between requests: give buffers back, arm, read on.
    Idle,
}

pub(crate) fn settle(h: &mut Http, c: ConnId, now: u64) -> Next {
    let Some(cn) = conn_in(&mut h.conns, c) else {
        return Next::Nothing;
    };
    // While the parser runs (it is out of the table), neither resuming nor
    // giving buffers back has anything to do: the parser goes on by itself.
    let parsing = cn.parser.is_none();
    let resume = if parsing { Next::Nothing } else { Next::Resume };
    if !cn.exchanges.is_empty() {
        return resume;
    }
    let max = cn.opts.max_requests_per_socket;
    if max > 0 && cn.served >= max {
        cn.no_more_requests = true;
    }
    if cn.no_more_requests {
        // Even mid-body (a final status sent without `100 Continue`):
        // nothing more will be answered here; the linger drains the rest.
        return Next::Close;
    }
    if cn.in_message {
        return resume;
    }
    if cn.eof && cn.leftover.is_empty() {
        return Next::Close;
    }
    if server::is_closing_in(&h.servers, cn.server) {
        return Next::Close;
    }
    if cn.opts.keep_alive_timeout_ms == 0 {
        return Next::Close;
    }
    cn.deadlines.idle = Some(now + cn.opts.keep_alive_timeout_ms);
    if parsing {
        return match cn.deadlines.rearm_delay(now) {
            Some(ms) => Next::Rearm(cn.timer, ms),
            None => Next::Nothing,
        };
    }
    Next::Idle
}

pub(crate) fn apply(lp: &mut Loop, c: ConnId, next: Next) {
    match next {
        Next::Nothing => {}
        Next::Resume => resume_reading(lp, c),
        Next::Close => close_gracefully(lp, c),
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

/// An idle keep-alive connection gives its queue and request buffers back
/// to the pools, so what it holds while idle is its own small state; the
/// next request takes them again (no allocation in the steady state).
pub(super) fn release_idle_buffers(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    if cn.parser.is_none() || !cn.leftover.is_empty() {
        return; // mid-parse: the request being built is in use
    }
    let queue = std::mem::take(&mut cn.exchanges);
    let building = cn.building.take();
    let h = http(lp);
    h.recycle_queue(queue);
    if let Some(b) = building {
        h.recycle(b);
    }
}

pub(crate) fn pause_for_output(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    cn.output_paused = true;
    let stream = cn.stream;
    let _ = stream.read_stop(lp);
}

pub(crate) fn set_user_paused(lp: &mut Loop, c: ConnId, paused: bool) {
    let Some(cn) = get(lp, c) else { return };
    cn.user_paused = paused;
    let stream = cn.stream;
    if paused {
        let _ = stream.read_stop(lp);
    } else {
        resume_reading(lp, c);
    }
}

pub(super) fn on_drain(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    cn.output_paused = false;
    let drain = cn.exchanges.front_mut().and_then(|x| x.res.drain_cb.take());
    let seq = cn.exchanges.front().map(|x| x.seq);
    if let (Some(mut cb), Some(seq)) = (drain, seq) {
        cb(lp);
        if let Some(x) = super::request::exchange(lp, c, seq) {
            x.res.drain_cb.get_or_insert(cb);
        }
    }
    resume_reading(lp, c);
}

/// Parses input kept during a pause, then reads again, unless something
/// still holds reading back.
pub(super) fn resume_reading(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    if cn.output_paused || cn.user_paused || cn.lingering || cn.no_more_requests {
        return;
    }
    if cn.parser.is_none() {
        // Called back from inside the parser: it goes on by itself.
        return;
    }
    if cn.exchanges.len() >= MAX_PIPELINED {
        return;
    }
    resume_parser(lp, c);
    let Some(cn) = get(lp, c) else { return };
    if !cn.leftover.is_empty() {
        let pending = std::mem::take(&mut cn.leftover);
        parse(lp, c, &pending);
        let Some(cn) = get(lp, c) else { return };
        if !cn.leftover.is_empty() || cn.output_paused || cn.user_paused {
            return;
        }
        if cn.eof {
            return after_advance_if_idle(lp, c);
        }
    }
    let Some(cn) = get(lp, c) else { return };
    let stream = cn.stream;
    if !cn.eof && !stream.is_reading(lp) {
        let _ = stream.read_start(lp, move |lp, s, ev| on_read(lp, c, s, ev));
    }
}

pub(super) fn after_advance_if_idle(lp: &mut Loop, c: ConnId) {
    if get(lp, c).is_some_and(|cn| cn.exchanges.is_empty() && !cn.in_message) {
        after_advance(lp, c);
    }
}

pub(super) fn on_eof(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    cn.eof = true;
    if cn.lingering {
        // Once our queued output is out (the shutdown callback sees `eof`).
        let stream = cn.stream;
        if stream.write_queue_size(lp).unwrap_or(0) == 0 {
            destroy(lp, c);
        }
        return;
    }
    if cn.in_message {
        // Cut off mid-request: the request is aborted; nothing can answer.
        return destroy(lp, c);
    }
    // Half-close: the client sent its requests and ended its side; the
    // responses still go out, then the connection closes.
    after_advance_if_idle(lp, c);
}

/// Whether the connection is idle (no request in flight, not closing):
/// server close ends such connections at once (gracefully).
pub(crate) fn is_idle(cn: &Conn) -> bool {
    cn.exchanges.is_empty() && !cn.in_message && cn.leftover.is_empty() && !cn.lingering
}
