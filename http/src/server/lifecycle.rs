//! A connection's deadlines and endings: the one timer for the headers,
//! request, keep-alive and linger deadlines; answering a request that
//! cannot be served; the graceful (lingering) close; destruction; and the
//! hand-off of a CONNECT or Upgrade stream.

use eddy_loop::{Handle, Loop};

use super::conn::{flush_batch, get, on_read, ConnId};
use super::exchange::{self, Exchange, RequestData, ResponseState};
use super::request::Request;
use super::server::{self, Hook, RequestHead};
use super::status::reason_phrase;
use super::table::http;

/// How long a closing connection waits for the client's FIN.
pub(super) const LINGER_MS: u64 = 2_000;

#[derive(Default)]
pub(super) struct Deadlines {
    pub(super) headers: Option<u64>,
    pub(super) request: Option<u64>,
    pub(super) idle: Option<u64>,
    pub(super) linger: Option<u64>,
    pub(super) armed_at: Option<u64>,
}

impl Deadlines {
    fn earliest(&self) -> Option<u64> {
        let min = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        min(min(self.headers, self.request), min(self.idle, self.linger))
    }

    /// If the earliest deadline is sooner than what the timer is armed
    /// for: records it as armed and returns the timer's new delay.
    #[inline]
    pub(super) fn rearm_delay(&mut self, now: u64) -> Option<u64> {
        let due = self.earliest()?;
        if self.armed_at.is_some_and(|at| at <= due) {
            return None;
        }
        self.armed_at = Some(due);
        Some(due.saturating_sub(now))
    }
}

/// Arms the connection's timer for its earliest deadline if that is
/// sooner than what it is armed for.
pub(super) fn arm(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    let timer = cn.timer;
    if let Some(ms) = cn.deadlines.rearm_delay(now) {
        let _ = timer.rearm(lp, ms);
    }
}

pub(super) fn on_timer(lp: &mut Loop, c: ConnId) {
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
pub(super) fn fail(lp: &mut Loop, c: ConnId, status: u16) {
    let Some(cn) = get(lp, c) else { return };
    let server = cn.server;
    let custom = server::client_error_bytes(lp, server, status);
    let Some(cn) = get(lp, c) else { return };
    cn.no_more_requests = true;
    // Answered: the request's deadlines must not fire a second answer.
    cn.deadlines.headers = None;
    cn.deadlines.request = None;
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
        let mut x = Box::new(Exchange::new(seq));
        x.res = ResponseState {
            finished: true,
            keep_alive: false,
            head_sent: true,
            ..ResponseState::default()
        };
        cn.exchanges.push_back(x);
        exchange::emit(lp, c, seq, &bytes);
    }
    let _ = stream.read_stop(lp);
    if let Some((cb, seq)) = abort {
        cb(lp, Request { conn: c, seq });
    }
    exchange::advance(lp, c);
}

/// Shuts down our side once queued output is flushed, waits (briefly) for
/// the client's FIN, then closes: closing with unread input would send a
/// reset that can destroy the last response in flight.
pub(crate) fn close_gracefully(lp: &mut Loop, c: ConnId) {
    flush_batch(lp, c);
    let now = lp.now();
    let Some(cn) = get(lp, c) else { return };
    if cn.lingering {
        return;
    }
    cn.lingering = true;
    // First the queued output must go out (a large last response to a slow
    // client may take a while): it gets the request timeout. The short
    // linger for the client's FIN starts once our side is shut down.
    let flush_budget = cn.opts.request_timeout_ms.max(LINGER_MS);
    cn.deadlines = Deadlines {
        linger: Some(now + flush_budget),
        ..Deadlines::default()
    };
    let (stream, eof) = (cn.stream, cn.eof);
    arm(lp, c);
    let shut = stream.shutdown(lp, move |lp, _, result| {
        if result.is_err() || get(lp, c).is_some_and(|cn| cn.eof) {
            return destroy(lp, c);
        }
        let now = lp.now();
        if let Some(cn) = get(lp, c) {
            cn.deadlines.linger = Some(now + LINGER_MS);
        }
        arm(lp, c);
    });
    if shut.is_err() {
        return destroy(lp, c);
    }
    if !eof && !stream.is_reading(lp) {
        let _ = stream.read_start(lp, move |lp, s, ev| on_read(lp, c, s, ev));
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
    h.recycle_queue(cn.exchanges);
    let _ = cn.stream.close(lp, |_, _| {});
    let _ = cn.timer.close(lp, |_, _| {});
    server::connection_gone(lp, cn.server);
}

/// CONNECT or Upgrade: what is queued goes out, then the stream leaves
/// HTTP and goes to the hook with the request head and the bytes already
/// read past it.
pub(super) fn hand_off_stream(
    lp: &mut Loop,
    c: ConnId,
    hook: Hook,
    req: RequestData,
    rest: Vec<u8>,
) {
    flush_batch(lp, c);
    let h = http(lp);
    if h.conns
        .get(c.index as usize)
        .is_none_or(|cn| cn.gen != c.gen)
    {
        return;
    }
    let cn = h.conns.remove(c.index as usize);
    h.recycle_queue(cn.exchanges);
    let _ = cn.timer.close(lp, |_, _| {});
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
