//! The end of each exchange, told exactly once (Node's `close` event on
//! `ServerResponse` and `IncomingMessage`, with `writableFinished`):
//! - finished (`true`) once the last byte of the response was handed to
//!   the kernel: a response that left the queue waits here ([`Waiter`])
//!   until the stream's `bytes_written` passes its mark; an empty marker
//!   write queued behind its bytes says when;
//! - not finished (`false`) when the exchange is dropped first: the
//!   connection is destroyed (reset, EOF mid-request, a timeout,
//!   `close_all_connections`), or a failure or the peer's end drops the
//!   exchanges still queued.
//!
//! Callbacks run from the pending phase, never inside the call that
//! caused them; the exchange (and so its handles) is gone by then.

use eddy_loop::Loop;

use super::connection::{Marker, Output, Waiter};
use super::exchange::{Closers, Exchange};
use super::handles::ConnId;
use super::table::conn;

/// Tells `closers` (from the pending phase) how the exchange ended.
pub(crate) fn tell(lp: &mut Loop, closers: Closers, finished: bool) {
    if closers.is_empty() {
        return;
    }
    lp.queue_pending(move |lp| {
        let Closers { res, req, watchers } = closers;
        for cb in res.into_iter().chain(req).chain(watchers) {
            cb(lp, finished);
        }
    });
}

/// An exchange dropped before its response was out.
pub(crate) fn dropped(lp: &mut Loop, x: &mut Exchange) {
    let closers = std::mem::take(&mut x.closers);
    tell(lp, closers, false);
}

/// A finished response left the queue: all its bytes are in the stream's
/// queue or the open batch. Its closers hear `true` once they are out.
pub(crate) fn left_queue(lp: &mut Loop, c: ConnId, closers: Closers) {
    if closers.is_empty() {
        return;
    }
    let Some(cn) = conn(lp, c) else {
        return tell(lp, closers, false);
    };
    let stream = cn.stream;
    let batch = match &cn.output {
        Output::Batch { buf, .. } => buf.len(),
        Output::Direct => 0,
    };
    let written = stream.bytes_written(lp).unwrap_or(0);
    let queued = stream.write_queue_size(lp).unwrap_or(0);
    let mark = written + (queued + batch) as u64;
    let Some(cn) = conn(lp, c) else { return };
    cn.sent.push_back(Waiter { mark, closers });
    watch(lp, c);
}

/// Tells the waiters whose bytes are out; arms a marker for the others
/// (once the batch, if one is open, is written).
pub(crate) fn watch(lp: &mut Loop, c: ConnId) {
    let Some(cn) = conn(lp, c) else { return };
    if cn.sent.is_empty() {
        return;
    }
    let stream = cn.stream;
    let written = stream.bytes_written(lp).unwrap_or(0);
    while let Some(closers) = take_done(lp, c, written) {
        tell(lp, closers, true);
    }
    let Some(cn) = conn(lp, c) else { return };
    if cn.sent.is_empty() || cn.marker == Marker::Armed {
        return;
    }
    if matches!(cn.output, Output::Batch { .. }) {
        return; // `flush_batch` watches again after writing it
    }
    cn.marker = Marker::Armed;
    let armed = stream.write_with(lp, Vec::new(), move |lp, _, result| {
        let Some(cn) = conn(lp, c) else { return };
        cn.marker = Marker::Idle;
        if result.is_ok() {
            watch(lp, c);
        }
    });
    if armed.is_err() {
        // A failed or shut stream: its close tells the waiters.
        if let Some(cn) = conn(lp, c) {
            cn.marker = Marker::Idle;
        }
    }
}

fn take_done(lp: &mut Loop, c: ConnId, written: u64) -> Option<Closers> {
    let cn = conn(lp, c)?;
    if cn.sent.front()?.mark > written {
        return None;
    }
    cn.sent.pop_front().map(|w| w.closers)
}

/// The connection is going: waiters whose bytes are out hear `true`, the
/// others `false`. (`bytes_written` is of the stream still open.)
pub(crate) fn connection_gone(
    lp: &mut Loop,
    waiters: std::collections::VecDeque<Waiter>,
    written: u64,
) {
    for w in waiters {
        tell(lp, w.closers, w.mark <= written);
    }
}
