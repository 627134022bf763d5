//! Destroying a connection: requests still receiving their body hear
//! `aborted`, then the connection leaves the table, its exchanges hear
//! `close` (`lifecycle.rs`), its stream and timer close, and its server
//! counts one connection less.

use eddy_loop::{Handle, Loop};

use super::dispatch;
use super::exchange::EndCb;
use super::handles::{ConnId, Request};
use super::lifecycle;
use super::table::{conn, http};

/// Closes connection `c` now (a no-op for a stale id).
pub(crate) fn destroy(lp: &mut Loop, c: ConnId) {
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
    http(lp).recycle_queue(cn.exchanges);
    let written = cn.stream.bytes_written(lp).unwrap_or(0);
    lifecycle::connection_gone(lp, cn.sent, written);
    let _ = cn.stream.close(lp, |_, _| {});
    let _ = cn.timer.close(lp, |_, _| {});
    dispatch::connection_gone(lp, cn.server);
}
