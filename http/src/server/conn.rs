//! One server connection: bytes from the stream go through the parser,
//! each request becomes an exchange handed to the request callback, and
//! the connection decides when to stop reading, answer an error, time out
//! or close.
//!
//! The parser (and the request being built) is taken out of the table
//! while it runs, so the callbacks it triggers get `&mut Loop` and may do
//! anything, even close this connection. Reading pauses while output waits
//! (pipelining backpressure), and the input not yet parsed is kept until
//! reading resumes. One timer serves the headers, request, keep-alive and
//! linger deadlines: it is armed for the earliest and, when it fires,
//! looks at what is really due (moving a deadline later costs nothing).

use std::collections::VecDeque;
use std::rc::Rc;

use eddy_loop::{Handle, Loop, Timer};
use eddy_net::{ReadEvent, Stream};

use super::exchange::{self, BodyState, Exchange, RequestData, ResponseState};
use super::options::ServerOptions;
use super::request::Request;
use super::response::Response;
use super::server::{self, Hook, RequestHead, Server};
use super::status::reason_phrase;
use super::table::http;
use crate::parser::{Action, ErrorKind, Handler, HeadersAction, Method, Parser, PauseReason};

/// Exchanges parsed ahead of their responses before parsing pauses.
const MAX_PIPELINED: usize = 128;
/// How long a closing connection waits for the client's FIN.
const LINGER_MS: u64 = 2_000;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ConnId {
    pub index: u32,
    pub gen: u32,
}

#[derive(Default)]
struct Deadlines {
    headers: Option<u64>,
    request: Option<u64>,
    idle: Option<u64>,
    linger: Option<u64>,
    armed_at: Option<u64>,
}

impl Deadlines {
    fn earliest(&self) -> Option<u64> {
        [self.headers, self.request, self.idle, self.linger]
            .into_iter()
            .flatten()
            .min()
    }
}

pub(crate) struct Conn {
    pub gen: u32,
    pub server: Server,
    pub opts: Rc<ServerOptions>,
    pub stream: Stream,
    parser: Option<Parser>,
    building: Option<RequestData>,
    pub exchanges: VecDeque<Exchange>,
    next_seq: u64,
    body_seq: Option<u64>,
    leftover: Vec<u8>,
    /// While parsing, output for the front exchange collects here and goes
    /// out as one write when the input is consumed: a pipelined batch of
    /// requests is answered with one syscall.
    batch: Option<Vec<u8>>,
    output_paused: bool,
    user_paused: bool,
    eof: bool,
    pub no_more_requests: bool,
    lingering: bool,
    pub served: u32,
    in_message: bool,
    timer: Timer,
    deadlines: Deadlines,
}

pub(crate) fn get(lp: &mut Loop, c: ConnId) -> Option<&mut Conn> {
    http(lp)
        .conns
        .get_mut(c.index as usize)
        .filter(|cn| cn.gen == c.gen)
}

/// What the head of a response needs to know about its connection.
#[derive(Clone, Copy)]
pub(crate) struct HeadContext {
    /// The connection closes after this response.
    pub closing: bool,
    /// `Keep-Alive: timeout=N`; None when keep-alive is off.
    pub keep_alive_secs: Option<u64>,
}

pub(crate) fn head_context(lp: &mut Loop, c: ConnId, seq: u64) -> HeadContext {
    let server_closing = get(lp, c).map(|cn| cn.server);
    let server_closing = server_closing.is_some_and(|s| server::is_closing(lp, s));
    let Some(cn) = get(lp, c) else {
        return HeadContext {
            closing: true,
            keep_alive_secs: None,
        };
    };
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
    let building = h.take_request();
    let index = h.conns.insert(Conn {
        gen,
        server,
        opts: opts.clone(),
        stream,
        parser: Some(parser),
        building: Some(building),
        exchanges: VecDeque::new(),
        next_seq: 0,
        body_seq: None,
        leftover: Vec::new(),
        batch: None,
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
    let _ = stream.read_start(lp, move |lp, _, ev| on_read(lp, c, ev));
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

fn on_read(lp: &mut Loop, c: ConnId, ev: ReadEvent<'_>) {
    match ev {
        ReadEvent::Data(bytes) => {
            let Some(cn) = get(lp, c) else { return };
            if cn.lingering || cn.no_more_requests {
                return; // input after the last request is discarded
            }
            if !cn.leftover.is_empty() {
                cn.leftover.extend_from_slice(bytes);
                return;
            }
            parse(lp, c, bytes);
        }
        ReadEvent::Eof => on_eof(lp, c),
        ReadEvent::Error(_) => destroy(lp, c),
    }
}

/// Runs the parser over `data`, batching the output it causes.
fn parse(lp: &mut Loop, c: ConnId, data: &[u8]) {
    let Some(cn) = get(lp, c) else { return };
    let outer = cn.batch.is_none();
    if outer {
        let spare = std::mem::take(&mut http(lp).batch_spare);
        if let Some(cn) = get(lp, c) {
            cn.batch = Some(spare);
        }
    }
    parse_input(lp, c, data);
    if outer {
        flush_batch(lp, c);
        if get(lp, c).is_some_and(|cn| is_idle(cn) && !cn.lingering) {
            release_idle_buffers(lp, c);
        }
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
        let queued = batch.len();
        let below = queued + stream.write_queue_size(lp).unwrap_or(0) < hwm;
        if !below {
            // Parsing pauses after this message; the flush decides when
            // reading resumes.
            if let Some(cn) = get(lp, c) {
                cn.output_paused = true;
            }
        }
        return below;
    }
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
fn write_failed(lp: &mut Loop, c: ConnId) {
    lp.queue_pending(move |lp| destroy(lp, c));
}

/// Runs the parser over `data`, keeping what a pause leaves unparsed.
fn parse_input(lp: &mut Loop, c: ConnId, data: &[u8]) {
    let mut offset = 0;
    while offset < data.len() {
        let Some(cn) = get(lp, c) else { return };
        let (Some(mut parser), Some(mut building)) = (cn.parser.take(), cn.building.take()) else {
            return;
        };
        let mut feed = Feed {
            lp: &mut *lp,
            c,
            building: &mut building,
            reject: None,
            gone: false,
            hand_off: None,
        };
        let result = parser.execute(&mut feed, &data[offset..]);
        let (reject, gone, hand_off) = (feed.reject, feed.gone, feed.hand_off);
        if gone {
            return;
        }
        if let (Some(hook), Ok(n)) = (hand_off, &result) {
            let rest = data[offset + n..].to_vec();
            return hand_off_stream(lp, c, hook, building, rest);
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
                        return;
                    }
                }
            }
        }
    }
}

fn resume_parser(lp: &mut Loop, c: ConnId) {
    if let Some(p) = get(lp, c).and_then(|cn| cn.parser.as_mut()) {
        p.resume();
    }
}

/// The status for a parse error. A version error is 505 only when the
/// start line carried a well-formed `HTTP/d.d` that eddy does not speak;
/// any other malformed start line (a bare LF, garbage) is 400.
fn status_for(kind: ErrorKind, seen: &[u8]) -> u16 {
    match kind {
        ErrorKind::InvalidVersion if names_a_version(seen) => 505,
        k => k.status_code(),
    }
}

fn names_a_version(seen: &[u8]) -> bool {
    seen.windows(8).any(|w| {
        w.starts_with(b"HTTP/")
            && w[5].is_ascii_digit()
            && w[6] == b'.'
            && w[7].is_ascii_digit()
            && !matches!(&w[5..], b"1.0" | b"1.1")
    })
}

/// The parser's view of a connection during `execute`.
struct Feed<'a> {
    lp: &'a mut Loop,
    c: ConnId,
    building: &'a mut RequestData,
    /// A status to answer with instead of parsing on.
    reject: Option<u16>,
    /// The connection was destroyed by a callback.
    gone: bool,
    /// The request's stream goes to this hook (CONNECT, Upgrade).
    hand_off: Option<Hook>,
}

/// What to do with a request whose head is complete.
enum Verdict {
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

    /// Validates a request's head and decides who gets it.
    fn verdict(&mut self, parser: &Parser) -> Verdict {
        let server = match get(self.lp, self.c) {
            Some(cn) => cn.server,
            None => return Verdict::Refuse(400),
        };
        let b = &self.building;
        match b.version {
            (1, 0) | (1, 1) => {}
            // `GET /` with no version (HTTP/0.9) is a malformed request line.
            (0, 9) => return Verdict::Refuse(400),
            _ => return Verdict::Refuse(505),
        }
        if b.version == (1, 1) {
            let mut hosts = b.headers.get_all("host");
            match (hosts.next(), hosts.next()) {
                (Some(h), None) if valid_host(h) => {}
                _ => return Verdict::Refuse(400),
            }
        }
        if parser.method() == Some(Method::Connect) {
            return if server::has_hook(self.lp, server, Hook::Connect) {
                Verdict::HandOff(Hook::Connect)
            } else {
                Verdict::Refuse(501)
            };
        }
        let b = &self.building;
        if let Some(te) = b.headers.get("transfer-encoding") {
            if b.version < (1, 1) {
                return Verdict::Refuse(400);
            }
            let codings = te.split(|&x| x == b',').map(|c| c.trim_ascii());
            if codings
                .filter(|c| !c.eq_ignore_ascii_case(b"chunked"))
                .count()
                > 0
            {
                return Verdict::Refuse(501);
            }
        }
        let opts = get_opts(self);
        let b = &self.building;
        if let Some(max) = opts.and_then(|o| o.max_body_size) {
            if b.headers.get("content-length").is_some() && parser.content_length() > max {
                return Verdict::Refuse(413);
            }
        }
        if let Some(expect) = b.headers.get("expect") {
            let known = expect.eq_ignore_ascii_case(b"100-continue");
            if !known && !server::has_hook(self.lp, server, Hook::CheckExpectation) {
                return Verdict::Refuse(417);
            }
        }
        if parser.upgrade() && server::has_hook(self.lp, server, Hook::Upgrade) {
            return Verdict::HandOff(Hook::Upgrade);
        }
        Verdict::Serve
    }
}

fn get_opts(feed: &Feed<'_>) -> Option<Rc<ServerOptions>> {
    super::table::http_ref(feed.lp)?
        .conns
        .get(feed.c.index as usize)
        .map(|cn| cn.opts.clone())
}

/// A Host value that is a plausible authority: no whitespace, no '/' etc.
fn valid_host(h: &[u8]) -> bool {
    !h.is_empty()
        && h.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~:[]%!$&'()*+,;=".contains(&b))
}

impl Handler for Feed<'_> {
    fn on_message_begin(&mut self, _: &Parser) -> Action {
        if self.building.headers.is_empty() && self.building.target.capacity() == 0 {
            // Given back while idle: take buffers from the pool again.
            *self.building = http(self.lp).take_request();
        }
        self.building.clear();
        let now = self.lp.now();
        let Some(cn) = get(self.lp, self.c) else {
            self.gone = true;
            return Action::Error;
        };
        cn.in_message = true;
        cn.deadlines.idle = None;
        if cn.deadlines.headers.is_none() {
            cn.deadlines.headers = Some(now + cn.opts.headers_timeout_ms);
            cn.deadlines.request = Some(now + cn.opts.request_timeout_ms);
        }
        arm(self.lp, self.c);
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
        match self.verdict(parser) {
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
        let expect = self.building.headers.get("expect");
        let wants_continue = expect.is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"));
        let other_expectation = expect.is_some() && !wants_continue;
        self.building.expects_continue = wants_continue;
        let c = self.c;
        let Some(cn) = get(self.lp, c) else {
            self.gone = true;
            return HeadersAction::Error;
        };
        cn.deadlines.headers = None;
        let seq = cn.next_seq;
        cn.next_seq += 1;
        cn.body_seq = Some(seq);
        let server = cn.server;
        let h = http(self.lp);
        let fresh = h.take_request();
        let headers = h.take_headers();
        let req = std::mem::replace(self.building, fresh);
        let queue = http(self.lp).take_queue();
        let Some(cn) = get(self.lp, c) else {
            return HeadersAction::Error;
        };
        if cn.exchanges.capacity() == 0 {
            cn.exchanges = queue;
        } else {
            http(self.lp).recycle_queue(queue);
        }
        let Some(cn) = get(self.lp, c) else {
            return HeadersAction::Error;
        };
        cn.exchanges.push_back(Exchange {
            seq,
            req,
            body: BodyState::default(),
            res: ResponseState {
                headers,
                ..ResponseState::default()
            },
            held: Vec::new(),
        });
        let (req, res) = (Request { conn: c, seq }, Response { conn: c, seq });
        if wants_continue && server::has_hook(self.lp, server, Hook::CheckContinue) {
            server::dispatch_check(self.lp, server, Hook::CheckContinue, req, res);
        } else if other_expectation {
            server::dispatch_check(self.lp, server, Hook::CheckExpectation, req, res);
        } else {
            if wants_continue {
                // No check_continue hook: the client may send its body.
                let _ = res.write_continue(self.lp);
            }
            server::dispatch(self.lp, server, req, res);
        }
        if get(self.lp, c).is_none() {
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
        let Some(cn) = get(self.lp, c) else {
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
        if let Some((cb, seq)) = end {
            cb(self.lp, Request { conn: c, seq });
        }
        let Some(cn) = get(self.lp, c) else {
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
            after_advance(self.lp, c);
        }
        if pause {
            return Action::Pause;
        }
        Action::Continue
    }
}

/// Arms the connection's timer for its earliest deadline if that is
/// sooner than what it is armed for.
fn arm(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    let Some(due) = cn.deadlines.earliest() else {
        return;
    };
    if cn.deadlines.armed_at.is_some_and(|at| at <= due) {
        return;
    }
    cn.deadlines.armed_at = Some(due);
    let timer = cn.timer;
    let _ = timer.rearm(lp, due.saturating_sub(now));
}

fn on_timer(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    cn.deadlines.armed_at = None;
    let d = &cn.deadlines;
    let due = |t: Option<u64>| t.is_some_and(|t| t <= now);
    if due(d.linger) || due(d.idle) {
        return destroy(lp, c);
    }
    if due(d.headers) || due(d.request) {
        cn.deadlines.headers = None;
        cn.deadlines.request = None;
        return fail(lp, c, 408);
    }
    arm(lp, c);
}

/// Answers the request being parsed with `status` (if no response to it
/// has begun), then closes once earlier responses are out.
fn fail(lp: &mut Loop, c: ConnId, status: u16) {
    let Some(cn) = get(lp, c) else { return };
    let server = cn.server;
    let custom = server::client_error_bytes(lp, server, status);
    let Some(cn) = get(lp, c) else { return };
    cn.no_more_requests = true;
    cn.in_message = false;
    cn.leftover = Vec::new();
    let stream = cn.stream;
    let failing = cn.body_seq.take();
    let bytes = custom.unwrap_or_else(|| {
        format!(
            "HTTP/1.1 {status} {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            reason_phrase(status)
        )
        .into_bytes()
    });
    let started = failing
        .and_then(|seq| cn.exchanges.iter().find(|x| x.seq == seq))
        .is_some_and(|x| x.res.head_sent);
    let abort = failing.and_then(|seq| {
        let x = cn.exchanges.iter_mut().find(|x| x.seq == seq)?;
        x.body.on_abort.take().map(|cb| (cb, seq))
    });
    if started {
        // A response is under way: it cannot be replaced. Close after
        // what is already queued.
        cn.exchanges
            .retain(|x| Some(x.seq) != failing || x.res.finished);
        if let Some(x) = cn.exchanges.iter_mut().find(|x| Some(x.seq) == failing) {
            x.res.keep_alive = false;
        }
    } else {
        cn.exchanges.retain(|x| Some(x.seq) != failing);
        let seq = cn.next_seq;
        cn.next_seq += 1;
        cn.exchanges.push_back(Exchange {
            seq,
            req: RequestData::default(),
            body: BodyState::default(),
            res: ResponseState {
                finished: true,
                keep_alive: false,
                head_sent: true,
                ..ResponseState::default()
            },
            held: Vec::new(),
        });
        exchange::emit(lp, c, seq, &bytes);
    }
    let _ = stream.read_stop(lp);
    if let Some((cb, seq)) = abort {
        cb(lp, Request { conn: c, seq });
    }
    exchange::advance(lp, c);
}

/// A response ended: it leaves the queue if it is at the front.
pub(crate) fn response_finished(lp: &mut Loop, c: ConnId, seq: u64) {
    let front = get(lp, c).and_then(|cn| cn.exchanges.front().map(|x| x.seq));
    if front == Some(seq) {
        exchange::advance(lp, c);
    }
}

/// Called when the front of the queue changed.
pub(crate) fn after_advance(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    if !cn.exchanges.is_empty() {
        return resume_reading(lp, c);
    }
    let max = cn.opts.max_requests_per_socket;
    if max > 0 && cn.served >= max {
        cn.no_more_requests = true;
    }
    if cn.no_more_requests {
        // Even mid-body (a final status sent without `100 Continue`):
        // nothing more will be answered here; the linger drains the rest.
        return close_gracefully(lp, c);
    }
    if cn.in_message {
        return resume_reading(lp, c);
    }
    if cn.no_more_requests || (cn.eof && cn.leftover.is_empty()) {
        return close_gracefully(lp, c);
    }
    let server = cn.server;
    if server::is_closing(lp, server) {
        return close_gracefully(lp, c);
    }
    let Some(cn) = get(lp, c) else { return };
    if cn.opts.keep_alive_timeout_ms == 0 {
        return close_gracefully(lp, c);
    }
    cn.deadlines.idle = Some(now + cn.opts.keep_alive_timeout_ms);
    release_idle_buffers(lp, c);
    arm(lp, c);
    resume_reading(lp, c);
}

/// An idle keep-alive connection gives its queue and request buffers back
/// to the pools, so what it holds while idle is its own small state; the
/// next request takes them again (no allocation in the steady state).
fn release_idle_buffers(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    if cn.parser.is_none() || !cn.leftover.is_empty() {
        return; // mid-parse: the request being built is in use
    }
    let queue = std::mem::take(&mut cn.exchanges);
    let building = cn.building.replace(RequestData::default());
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

fn on_drain(lp: &mut Loop, c: ConnId) {
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
fn resume_reading(lp: &mut Loop, c: ConnId) {
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
        let _ = stream.read_start(lp, move |lp, _, ev| on_read(lp, c, ev));
    }
}

fn after_advance_if_idle(lp: &mut Loop, c: ConnId) {
    if get(lp, c).is_some_and(|cn| cn.exchanges.is_empty() && !cn.in_message) {
        after_advance(lp, c);
    }
}

fn on_eof(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    cn.eof = true;
    if cn.lingering {
        return destroy(lp, c);
    }
    if cn.in_message {
        // Cut off mid-request: the request is aborted; nothing can answer.
        return destroy(lp, c);
    }
    // Half-close: the client sent its requests and ended its side; the
    // responses still go out, then the connection closes.
    after_advance_if_idle(lp, c);
}

/// Shuts down our side once queued output is flushed, waits (briefly) for
/// the client's FIN, then closes: closing with unread input would send a
/// reset that can destroy the last response in flight.
fn close_gracefully(lp: &mut Loop, c: ConnId) {
    flush_batch(lp, c);
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    if cn.lingering {
        return;
    }
    cn.lingering = true;
    cn.deadlines = Deadlines {
        linger: Some(now + LINGER_MS),
        ..Deadlines::default()
    };
    let (stream, eof) = (cn.stream, cn.eof);
    arm(lp, c);
    let shut = stream.shutdown(lp, move |lp, _, result| {
        if result.is_err() || get(lp, c).is_some_and(|cn| cn.eof) {
            destroy(lp, c);
        }
    });
    if shut.is_err() {
        return destroy(lp, c);
    }
    if !eof && !stream.is_reading(lp) {
        let _ = stream.read_start(lp, move |lp, _, ev| on_read(lp, c, ev));
    }
}

/// Closes the connection now; requests still receiving their body are
/// aborted.
pub(crate) fn destroy(lp: &mut Loop, c: ConnId) {
    let Some(cn) = get(lp, c) else { return };
    // Requests still receiving their body hear `aborted` first, while
    // their data can still be read.
    let aborts: Vec<(super::request::EndCb, u64)> = cn
        .exchanges
        .iter_mut()
        .filter(|x| !x.body.complete)
        .filter_map(|x| x.body.on_abort.take().map(|cb| (cb, x.seq)))
        .collect();
    for (cb, seq) in aborts {
        cb(lp, Request { conn: c, seq });
    }
    let h = http(lp);
    if h.conns
        .get(c.index as usize)
        .is_none_or(|cn| cn.gen != c.gen)
    {
        return; // an abort callback closed it already
    }
    let cn = h.conns.remove(c.index as usize);
    for x in cn.exchanges {
        h.recycle(x.req);
    }
    let _ = cn.stream.close(lp, |_| {});
    let _ = cn.timer.close(lp, |_| {});
    server::connection_gone(lp, cn.server);
}

/// CONNECT or Upgrade: what is queued goes out, then the stream leaves
/// HTTP and goes to the hook with the request head and the bytes already
/// read past it.
fn hand_off_stream(lp: &mut Loop, c: ConnId, hook: Hook, req: RequestData, rest: Vec<u8>) {
    flush_batch(lp, c);
    let h = http(lp);
    if h.conns
        .get(c.index as usize)
        .is_none_or(|cn| cn.gen != c.gen)
    {
        return;
    }
    let cn = h.conns.remove(c.index as usize);
    for x in cn.exchanges {
        h.recycle(x.req);
    }
    let _ = cn.timer.close(lp, |_| {});
    let stream = cn.stream;
    let _ = stream.read_stop(lp);
    let _ = stream.on_drain(lp, |_, _| {});
    if cn.opts.timeout_ms > 0 {
        let _ = stream.set_timeout(lp, 0, |_, _| {});
    }
    let head = RequestHead {
        method: req.method,
        target: String::from_utf8_lossy(&req.target).into_owned(),
        version: req.version,
        headers: req.headers,
    };
    server::connection_gone(lp, cn.server);
    server::dispatch_hand_off(lp, cn.server, hook, head, stream, rest);
}

/// Whether the connection is idle (no request in flight): server close
/// ends such connections at once.
pub(crate) fn is_idle(cn: &Conn) -> bool {
    cn.exchanges.is_empty() && !cn.in_message && cn.leftover.is_empty()
}
