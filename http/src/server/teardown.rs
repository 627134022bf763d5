//! Destroying a connection: requests still receiving their body hear
//! `aborted`, then the connection leaves the table, its exchanges hear
//! `close` (`lifecycle.rs`), its stream and timer close, and its server
//! counts one connection less, by reason, with the connection's bytes.

use eddy_loop::{Handle, Loop};

use super::connection::Conn;
use super::dispatch;
use super::exchange::EndCb;
use super::handles::{ConnId, Request};
use super::lifecycle;
use super::stats::CloseReason;
use super::table::{conn, http};

/// Adds a connection leaving the table to its server's counters: its close
/// reason (the first one decided, else `reason`), its bytes, and a pause
/// for backpressure still running.
pub(crate) fn count_close(lp: &mut Loop, cn: &Conn, reason: CloseReason) {
    let now = lp.now();
    let bytes_in = cn.stream.bytes_read(lp).unwrap_or(0);
    let bytes_out = cn.stream.bytes_written(lp).unwrap_or(0);
    let Some(st) = http(lp).servers.get_mut(cn.server.id) else {
        return;
    };
    let stats = &mut st.stats;
    stats.closed.count(cn.close_reason.unwrap_or(reason));
    stats.bytes_in += bytes_in;
    stats.bytes_out += bytes_out;
    if cn.hold.by_output() {
        stats.backpressure_ms += now.saturating_sub(cn.held_since);
    }
}

/// Closes connection `c` now (a no-op for a stale id), for `reason`
/// unless an earlier one was decided.
pub(crate) fn destroy(lp: &mut Loop, c: ConnId, reason: CloseReason) {
    let Some(cn) = conn(lp, c) else { return };
    // Requests still receiving their body hear `aborted` first, while
    // their data can still be read.
    let aborts: Vec<(EndCb, u64)> = cn
        .exchanges
        .iter_mut()
        .filter(|x| !x.body.complete)
        .filter_map(|x| x.body.on_abort.take().map(|cb| (cb, x.seq)))
        .collect();
    for (cb, seq) in aborts {
        cb(lp, Request { conn: c, seq });
    }
    let h = http(lp);
    let Some(mut cn) = h.conns.remove(c) else {
        return; // an abort callback closed it already
    };
    for x in cn.exchanges.iter_mut() {
        lifecycle::dropped(lp, x);
    }
    let exchanges = std::mem::take(&mut cn.exchanges);
    http(lp).recycle_queue(exchanges);
    count_close(lp, &cn, reason);
    let written = cn.stream.bytes_written(lp).unwrap_or(0);
    lifecycle::connection_gone(lp, cn.sent, written);
    let _ = cn.stream.close(lp, |_, _| {});
    let _ = cn.timer.close(lp, |_, _| {});
    dispatch::connection_gone(lp, cn.server);
}
