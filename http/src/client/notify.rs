//! Running a request's and its response's user callbacks. Each is taken
//! out of its slot while it runs (`Loop::with_cb` for those that run more
//! than once), so it can do anything with the loop, its own request
//! included; it is put back only if the request still lives. Errors and
//! `close` are delivered from the pending phase, never inside the call
//! that caused them.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::conn;
use super::deadlines;
use super::error::Error;
use super::feed::{HandOff, Information};
use super::output::Drain;
use super::table::{client, conn as conn_record, live, req, res, ConnId, Lent, Link, ReqId};

/// From the pending phase: the request got socket `c`.
pub(crate) fn socket_assigned(lp: &mut Loop, r: ReqId, c: ConnId) {
    if !live(lp, r).is_some_and(|st| st.link == Link::On(c)) {
        return;
    }
    let Some(stream) = conn::stream_of(lp, c) else {
        return;
    };
    if let Some(cb) = req(lp, r).and_then(|st| st.cbs.socket.take()) {
        if let Some(cn) = conn_record(lp, c) {
            cn.lent.set(Lent::Seen);
        }
        cb(lp, r, stream);
    }
}

/// Runs the drain callback if `write` returned false since the last one.
pub(crate) fn drain(lp: &mut Loop, r: ReqId) {
    let Some(st) = live(lp, r) else { return };
    if std::mem::replace(&mut st.out.drain, Drain::NotOwed) == Drain::NotOwed {
        return;
    }
    lp.with_cb(
        r,
        |lp, r| Some(&mut req(lp, r)?.cbs.drain),
        |lp, cb| cb(lp, r),
    );
}

/// Runs the timeout callback; false if there is none.
pub(crate) fn timeout(lp: &mut Loop, r: ReqId) -> bool {
    lp.with_cb(
        r,
        |lp, r| Some(&mut req(lp, r)?.cbs.timeout),
        |lp, cb| cb(lp, r),
    )
    .is_some()
}

/// `100 Continue` arrived.
pub(crate) fn continue_(lp: &mut Loop, r: ReqId) {
    lp.with_cb(
        r,
        |lp, r| Some(&mut req(lp, r)?.cbs.continue_),
        |lp, cb| cb(lp, r),
    );
}

/// Another 1xx arrived; `make` builds it only if someone listens.
pub(crate) fn information(lp: &mut Loop, r: ReqId, make: impl FnOnce() -> Information) {
    lp.with_cb(
        r,
        |lp, r| Some(&mut req(lp, r)?.cbs.information),
        |lp, cb| cb(lp, r, make()),
    );
}

/// The final head arrived (the response record is in place).
pub(crate) fn response(lp: &mut Loop, r: ReqId) {
    if let Some(cb) = req(lp, r).and_then(|st| st.cbs.response.take()) {
        cb(lp, r);
    }
}

/// Body bytes for `on_data` (dropped without one).
pub(crate) fn data(lp: &mut Loop, r: ReqId, bytes: &[u8]) {
    lp.with_cb(
        r,
        |lp, r| Some(&mut res(lp, r)?.on_data),
        |lp, cb| cb(lp, r, bytes),
    );
}

/// The body ended.
pub(crate) fn end(lp: &mut Loop, r: ReqId) {
    if let Some(cb) = res(lp, r).and_then(|res| res.on_end.take()) {
        cb(lp, r);
    }
}

/// CONNECT or Upgrade succeeded: the stream goes to the hook, or is
/// closed if there is none.
pub(crate) fn hand_off(lp: &mut Loop, r: ReqId, kind: HandOff, stream: Stream, head: Vec<u8>) {
    let cb = req(lp, r).and_then(|st| match kind {
        HandOff::Upgrade => st.cbs.upgrade.take(),
        HandOff::Connect => st.cbs.connect.take(),
    });
    match cb {
        Some(cb) => cb(lp, r, stream, head),
        None => {
            let _ = stream.close(lp, |_, _| {});
        }
    }
}

/// From the pending phase: the error (if any), then `close` with whether
/// the exchange `finished`; the request's record is freed just before
/// `close` runs, so its id is stale from then on.
pub(crate) fn queue_close(lp: &mut Loop, r: ReqId, err: Option<Error>, finished: bool) {
    lp.queue_pending(move |lp| {
        if let Some(e) = err {
            if let Some(cb) = req(lp, r).and_then(|st| st.cbs.error.take()) {
                cb(lp, r, e);
            }
        }
        let t = client(lp);
        let Some(st) = t.reqs.remove(r) else { return };
        deadlines::retire_timer(lp, st.timer);
        if let Some(id) = st.continue_timer {
            lp.clear_timer(id);
        }
        let t = client(lp);
        if let Some(res) = st.res {
            t.recycle_res(res);
        }
        t.recycle_target(st.target);
        for cb in st.cbs.close.into_iter().chain(st.cbs.close_watchers) {
            cb(lp, r, finished);
        }
    });
}
