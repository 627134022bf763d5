//! One request and its response on a connection, and the order in which
//! responses leave.
//!
//! A connection keeps its exchanges in a queue, in request order. Only the
//! front one writes to the socket; a later one (pipelining) composes its
//! output into its own buffer, which is written when it reaches the front.
//! When the front response finishes it leaves the queue and the next one's
//! held-back output goes out.

use eddy_loop::Loop;

use super::conn::{self, ConnId};
use super::request::{DataCb, EndCb};
use super::table::Http;
use crate::h1::{BodyEncoder, HeaderList};
use crate::parser::Method;

#[derive(Debug)]
pub(crate) struct RequestData {
    pub method: Method,
    pub target: Vec<u8>,
    pub version: (u8, u8),
    pub headers: HeaderList,
    pub keep_alive: bool,
    pub expects_continue: bool,
    /// Boxed: few requests have trailers.
    pub trailers: Option<Box<HeaderList>>,
}

impl Default for RequestData {
    fn default() -> RequestData {
        RequestData {
            method: Method::Get,
            target: Vec::new(),
            version: (1, 1),
            headers: HeaderList::default(),
            keep_alive: true,
            expects_continue: false,
            trailers: None,
        }
    }
}

impl RequestData {
    pub fn clear(&mut self) {
        self.target.clear();
        self.headers.clear();
        self.keep_alive = true;
        self.expects_continue = false;
        self.trailers = None;
    }
}

#[derive(Default)]
pub(crate) struct BodyState {
    pub on_data: Option<DataCb>,
    pub on_end: Option<EndCb>,
    pub on_abort: Option<EndCb>,
    pub complete: bool,
    pub received: u64,
}

pub(crate) type DrainCb = Box<dyn FnMut(&mut Loop)>;

pub(crate) struct ResponseState {
    pub status: u16,
    pub headers: HeaderList,
    pub head_sent: bool,
    /// How body bytes are framed (decided when the head goes out).
    pub body: BodyEncoder,
    pub finished: bool,
    pub keep_alive: bool,
    pub continue_sent: bool,
    pub trailers: HeaderList,
    pub drain_cb: Option<DrainCb>,
}

impl Default for ResponseState {
    fn default() -> ResponseState {
        ResponseState {
            status: 200,
            headers: HeaderList::default(),
            head_sent: false,
            body: BodyEncoder::None,
            finished: false,
            keep_alive: true,
            continue_sent: false,
            trailers: HeaderList::default(),
            drain_cb: None,
        }
    }
}

pub(crate) struct Exchange {
    pub seq: u64,
    pub req: RequestData,
    pub body: BodyState,
    pub res: ResponseState,
    /// Output held back until this exchange is at the front.
    pub held: Vec<u8>,
}

/// Held-back output buffers larger than this are not kept for reuse.
const KEEP_HELD: usize = 4096;

impl Exchange {
    /// An exchange for request `seq`, all else fresh.
    pub fn new(seq: u64) -> Exchange {
        Exchange {
            seq,
            req: RequestData::default(),
            body: BodyState::default(),
            res: ResponseState::default(),
            held: Vec::new(),
        }
    }

    /// Back to `new`'s state (callbacks dropped), keeping the buffers.
    pub fn reset(&mut self) {
        // Field by field (no struct rebuilt and moved in); the patterns
        // are exhaustive, so a new field cannot be forgotten here.
        {
            let BodyState {
                on_data,
                on_end,
                on_abort,
                complete,
                received,
            } = &mut self.body;
            (*on_data, *on_end, *on_abort) = (None, None, None);
            (*complete, *received) = (false, 0);
        }
        self.req.clear();
        let ResponseState {
            status,
            headers,
            head_sent,
            body,
            finished,
            keep_alive,
            continue_sent,
            trailers,
            drain_cb,
        } = &mut self.res;
        *status = 200;
        headers.clear();
        (*head_sent, *finished, *keep_alive, *continue_sent) = (false, false, true, false);
        *body = BodyEncoder::None;
        trailers.clear();
        *drain_cb = None;
        if self.held.capacity() > KEEP_HELD {
            self.held = Vec::new();
        } else {
            self.held.clear();
        }
    }
}

/// A connection's exchanges, in request order. Boxed: pushing and popping
/// move a pointer, and a finished exchange (with its buffers) is reused.
pub(crate) type Queue = std::collections::VecDeque<Box<Exchange>>;

/// Sends `bytes` for exchange `seq`: now if it is at the front, else into
/// its held-back buffer. Returns false once the connection's buffered
/// output reaches the high-water mark.
pub(crate) fn emit(lp: &mut Loop, c: ConnId, seq: u64, bytes: &[u8]) -> bool {
    let Some(cn) = conn::get(lp, c) else {
        return false;
    };
    let front = cn.exchanges.front().map(|x| x.seq);
    if front == Some(seq) {
        return conn::write_out(lp, c, bytes);
    }
    let hwm = cn.opts.high_water_mark;
    let Some(x) = cn.exchanges.iter_mut().find(|x| x.seq == seq) else {
        return false;
    };
    x.held.extend_from_slice(bytes);
    let held: usize = cn.exchanges.iter().map(|x| x.held.len()).sum();
    if held >= hwm {
        conn::pause_for_output(lp, c);
        return false;
    }
    true
}

/// `advance` for a caller holding the table: pops finished responses off
/// the front and settles the connection, as long as that needs nothing of
/// the loop (a response closing the connection, or held-back output to
/// write, does). None: `advance` is to finish the job.
pub(crate) fn advance_in(h: &mut Http, c: ConnId, now: u64) -> Option<conn::Next> {
    loop {
        let cn = h.conn_mut(c)?;
        match cn.exchanges.front() {
            Some(x) if x.res.finished => {
                if !x.res.keep_alive || cn.exchanges.get(1).is_some_and(|n| !n.held.is_empty()) {
                    return None;
                }
            }
            _ => return Some(conn::settle(h, c, now)),
        }
        let done = cn.exchanges.pop_front()?;
        cn.served += 1;
        if let Some(next) = cn.exchanges.front_mut() {
            // As `advance` takes it (empty here).
            drop(std::mem::take(&mut next.held));
        }
        h.recycle_exchange(done);
    }
}

/// Pops finished responses off the front, sending the held-back output of
/// each next one; then decides what the connection does next.
pub(crate) fn advance(lp: &mut Loop, c: ConnId) {
    loop {
        let now = lp.now();
        let mut h = super::table::http(lp);
        let Some(cn) = h.conn_mut(c) else { return };
        match cn.exchanges.front() {
            Some(x) if x.res.finished => {}
            _ => {
                let next = conn::settle(h, c, now);
                return conn::apply(lp, c, next);
            }
        }
        let Some(done) = cn.exchanges.pop_front() else {
            return conn::after_advance(lp, c);
        };
        cn.served += 1;
        if !done.res.keep_alive {
            // Nothing more goes out on this connection: requests pipelined
            // after this one are dropped with it (those still receiving a
            // body hear `aborted` first).
            cn.no_more_requests = true;
            let aborts: Vec<(super::request::EndCb, u64)> = cn
                .exchanges
                .iter_mut()
                .filter(|x| !x.body.complete)
                .filter_map(|x| x.body.on_abort.take().map(|cb| (cb, x.seq)))
                .collect();
            for (cb, seq) in aborts {
                cb(lp, super::request::Request { conn: c, seq });
            }
            let Some(cn) = conn::get(lp, c) else { return };
            cn.exchanges.clear();
            h = super::table::http(lp);
        }
        let Some(cn) = h.conn_mut(c) else { return };
        let next_held = cn
            .exchanges
            .front_mut()
            .map(|x| std::mem::take(&mut x.held));
        let paused = cn.output_paused;
        // An unread body is drained by the parser as it arrives; the
        // request's callbacks go with the exchange.
        h.recycle_exchange(done);
        if let Some(held) = next_held {
            // If that output had filled the mark (pausing the connection)
            // but the socket takes it all, no drain comes from the stream:
            // drain here, so a response waiting for it goes on.
            if !held.is_empty() && conn::write_out(lp, c, &held) && paused {
                lp.queue_pending(move |lp| conn::on_drain(lp, c));
            }
        }
    }
}
