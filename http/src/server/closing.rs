//! A connection's graceful end and its hand-off: arming its one timer, the
//! lingering close (shut our side down once queued output is out, wait
//! briefly for the client's FIN, then close), and handing a CONNECT or
//! Upgrade stream to its hook.

use eddy_loop::{Handle, Loop};
use eddy_net::{ReadEvent, Stream};

use super::connection::{Input, Writing};
use super::deadlines::{At, Deadlines};
use super::dispatch;
use super::exchange::RequestData;
use super::handles::ConnId;
use super::hooks::{Hook, RequestHead};
use super::lifecycle;
use super::output::flush_batch;
use super::stats::CloseReason;
use super::table::{conn, http};
use super::teardown::{count_close, destroy};

/// How long a closing connection waits for the client's FIN.
pub(crate) const LINGER_MS: u64 = 2_000;

/// Arms the connection's timer for its earliest deadline if that is
/// sooner than what it is armed for.
pub(crate) fn arm(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let Some(cn) = conn(lp, c) else { return };
    let timer = cn.timer;
    if let Some(ms) = cn.deadlines.rearm_delay(now) {
        let _ = timer.rearm(lp, ms);
    }
}

/// Shuts down our side once queued output is flushed, waits (briefly) for
/// the client's FIN, then closes: closing with unread input would send a
/// reset that can destroy the last response in flight.
pub(crate) fn close_gracefully(lp: &mut Loop, c: ConnId, reason: CloseReason) {
    // Closing: what the flush says about room no longer matters.
    let _ = flush_batch(lp, c);
    let now = lp.now();
    let Some(cn) = conn(lp, c) else { return };
    cn.decide_close(reason);
    if cn.writing == Writing::Lingering {
        return;
    }
    cn.writing = Writing::Lingering;
    // First the queued output must go out (a large last response to a slow
    // client may take a while): it gets the request timeout. The short
    // linger for the client's FIN starts once our side is shut down.
    let flush_budget = cn.opts.request_timeout_ms.max(LINGER_MS);
    // The send timeout goes on watching the output.
    cn.deadlines = Deadlines {
        linger: Some(At::new(now + flush_budget)),
        send: cn.deadlines.send,
        ..Deadlines::default()
    };
    let (stream, input) = (cn.stream, cn.input);
    arm(lp, c);
    let shut = stream.shutdown(lp, move |lp, _, result| {
        if result.is_err() || conn(lp, c).is_some_and(|cn| cn.input == Input::Ended) {
            return destroy(lp, c, CloseReason::Eof);
        }
        let now = lp.now();
        if let Some(cn) = conn(lp, c) {
            cn.deadlines.linger = Some(At::new(now + LINGER_MS));
        }
        arm(lp, c);
    });
    if shut.is_err() {
        return destroy(lp, c, CloseReason::Reset);
    }
    if input == Input::Open {
        // Reading replaces whatever read callback was installed: while
        // lingering, input is discarded until the FIN.
        let _ = stream.read_start(lp, move |lp, s, ev| on_linger_read(lp, c, s, ev));
    }
}

/// Reading while lingering: input is dropped; the FIN (once our queued
/// output is out) or an error closes.
fn on_linger_read(lp: &mut Loop, c: ConnId, stream: Stream, ev: ReadEvent<'_>) {
    match ev {
        ReadEvent::Data(_) => {}
        ReadEvent::Eof => {
            let Some(cn) = conn(lp, c) else { return };
            cn.input = Input::Ended;
            // Else once our queued output is out (the shutdown callback
            // sees the FIN).
            if stream.write_queue_size(lp).unwrap_or(0) == 0 {
                destroy(lp, c, CloseReason::Eof);
            }
        }
        ReadEvent::Error(_) => destroy(lp, c, CloseReason::Reset),
    }
}

/// CONNECT or Upgrade: what is queued goes out, then the stream leaves
/// HTTP and goes to the hook with the request head and the bytes already
/// read past it.
pub(crate) fn hand_off_stream(
    lp: &mut Loop,
    c: ConnId,
    hook: Hook,
    req: RequestData,
    rest: Vec<u8>,
) {
    let _ = flush_batch(lp, c);
    let h = http(lp);
    let Some(mut cn) = h.conns.remove(c) else {
        return;
    };
    for x in cn.exchanges.iter_mut() {
        lifecycle::dropped(lp, x);
    }
    let exchanges = std::mem::take(&mut cn.exchanges);
    http(lp).recycle_queue(exchanges);
    let _ = cn.timer.close(lp, |_, _| {});
    let stream = cn.stream;
    count_close(lp, &cn, CloseReason::HandedOff);
    let written = stream.bytes_written(lp).unwrap_or(0);
    lifecycle::connection_gone(lp, cn.sent, written);
    let _ = stream.read_stop(lp);
    let _ = stream.clear_on_drain(lp);
    let _ = stream.clear_on_hangup(lp);
    if cn.opts.timeout_ms > 0 {
        let _ = stream.clear_timeout(lp);
    }
    let head = RequestHead {
        method: req.method,
        target: String::from_utf8_lossy(&req.target).into_owned(),
        version: req.version,
        headers: req.headers,
    };
    dispatch::connection_gone(lp, cn.server);
    dispatch::hand_off(lp, cn.server, hook, head, stream, rest);
}
