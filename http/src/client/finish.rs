//! How a request ends, and the events on the way: the response's end and
//! the socket's return to the pool, failures (with the one retry an
//! idempotent request gets on a fresh socket), aborts, hand-offs, and the
//! final `close`. Errors and `close` are delivered from the pending phase,
//! never inside the call that caused them.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::conn::{self, ConnId};
use super::error::Error;
use super::feed::HandOff;
use super::pool;
use super::request::{live, restore_cb, state, take_cb, ClientRequest};
use super::response::{res_mut, ClientResponse};
use super::table::client;

/// The pending phase tells the request it has a socket.
pub(crate) fn socket_assigned(lp: &mut Loop, r: ClientRequest, c: ConnId) {
    if !live(lp, r).is_ok_and(|st| st.conn == Some(c)) {
        return;
    }
    let Some(stream) = conn::stream_of(lp, c) else {
        return;
    };
    if let Some(cb) = take_cb(lp, r, |cb| &mut cb.socket) {
        cb(lp, r, stream);
    }
}

/// The socket's write queue drained.
pub(crate) fn drained(lp: &mut Loop, c: ConnId) {
    if let Some(r) = conn::request_of(lp, c) {
        drain_request(lp, r);
    }
}

/// Runs the drain callback if `write` returned false since the last one.
pub(crate) fn drain_request(lp: &mut Loop, r: ClientRequest) {
    let Ok(st) = live(lp, r) else { return };
    if !std::mem::take(&mut st.out.need_drain) {
        return;
    }
    if let Some(mut cb) = take_cb(lp, r, |cb| &mut cb.drain) {
        cb(lp, r);
        restore_cb(lp, r, cb, |cb| &mut cb.drain);
    }
}

/// The request's socket was idle for its timeout.
pub(crate) fn timed_out(lp: &mut Loop, r: ClientRequest) {
    let Ok(st) = live(lp, r) else { return };
    let ms = st.opts.timeout_ms;
    match take_cb(lp, r, |cb| &mut cb.timeout) {
        Some(mut cb) => {
            cb(lp, r);
            restore_cb(lp, r, cb, |cb| &mut cb.timeout);
        }
        None => fail(lp, r, |what| Error::Timeout { what, ms }),
    }
}

/// Whether the request's response was delivered to its end.
pub(crate) fn response_ended(lp: &mut Loop, r: ClientRequest) -> bool {
    res_mut(lp, r).is_ok_and(|res| res.ended)
}

/// The parser reached the end of the final response.
pub(crate) fn response_parsed(lp: &mut Loop, r: ClientRequest) {
    let Ok(res) = res_mut(lp, r) else { return };
    if res.paused || !res.buffered.is_empty() {
        // `resume` delivers what is held, then the end.
        return;
    }
    deliver_end(lp, r);
}

fn deliver_end(lp: &mut Loop, r: ClientRequest) {
    if live(lp, r).is_err() {
        return;
    }
    let Ok(res) = res_mut(lp, r) else { return };
    if res.ended {
        return;
    }
    res.ended = true;
    if let Some(cb) = res.on_end.take() {
        cb(lp, ClientResponse { req: r });
    }
    complete(lp, r);
}

/// The exchange is over: the socket goes back to the pool if it can carry
/// another request, else it is closed; then `close`.
fn complete(lp: &mut Loop, r: ClientRequest) {
    let Ok(st) = live(lp, r) else { return };
    st.done = true;
    let ended = st.out.ended && !st.out.body_dropped && !st.close_requested;
    if let Some(c) = st.conn.take() {
        let pooled = match conn::get(lp, c) {
            Some(cn) => {
                cn.req = None;
                if let Some(p) = cn.parser.as_mut() {
                    p.reset();
                }
                cn.reusable && ended && cn.agent.is_some()
            }
            None => false,
        };
        if pooled {
            pool::release(lp, c);
        } else {
            conn::destroy_quietly(lp, c);
        }
    }
    queue_close(lp, r, None);
}

/// `resume`: hands over the body bytes held while paused, then the end
/// (if the parser saw it), else reads on.
pub(crate) fn resume_delivery(lp: &mut Loop, r: ClientRequest) {
    if live(lp, r).is_err() {
        return;
    }
    let Ok(res) = res_mut(lp, r) else { return };
    if res.paused {
        return;
    }
    let held = std::mem::take(&mut res.buffered);
    if !held.is_empty() {
        if let Some(mut cb) = res.on_data.take() {
            cb(lp, ClientResponse { req: r }, &held);
            if let Ok(res) = res_mut(lp, r) {
                res.on_data.get_or_insert(cb);
            }
        }
    }
    if live(lp, r).is_err() {
        return;
    }
    let Ok(res) = res_mut(lp, r) else { return };
    if res.paused {
        return;
    }
    if res.parsed {
        return deliver_end(lp, r);
    }
    if let Some(c) = live(lp, r).ok().and_then(|st| st.conn) {
        conn::start_reading(lp, c);
    }
}

/// The connection ended (EOF or an error) before the response did. A
/// reused socket that said nothing gets an idempotent request sent again,
/// once, on a fresh socket; otherwise the request fails.
pub(crate) fn broken(lp: &mut Loop, r: ClientRequest, err: Option<eddy_net::Error>) {
    let Ok(st) = live(lp, r) else { return };
    let retry = !st.response_started
        && st.reused
        && !st.retried
        && st.idempotent()
        && st.replay.is_some()
        && st.agent.is_some();
    if retry {
        return retry_fresh(lp, r);
    }
    let what = st.what();
    let e = match (st.res.is_some(), err) {
        (true, _) => Error::Aborted { what },
        (false, Some(source)) => Error::Net { what, source },
        (false, None) => Error::HangUp { what },
    };
    terminate(lp, r, Some(e));
}

fn retry_fresh(lp: &mut Loop, r: ClientRequest) {
    let Ok(st) = live(lp, r) else { return };
    st.retried = true;
    st.reused = false;
    st.response_started = false;
    st.res = None;
    let mut replay = st.replay.take().unwrap_or_default();
    replay.append(&mut st.out.head);
    st.out.head = replay;
    let old = st.conn.take();
    let (Some(a), key) = (st.agent, st.key.clone()) else {
        return;
    };
    if let Some(cn) = old.and_then(|c| conn::get(lp, c)) {
        cn.req = None;
    }
    // Open first, then drop the old socket, so the count never dips below
    // what the limits allow for requests waiting.
    pool::open_fresh(lp, a, r, &key);
    if let Some(c) = old {
        conn::destroy_quietly(lp, c);
    }
}

/// Fails the request with the error `make` builds from its description.
pub(crate) fn fail(lp: &mut Loop, r: ClientRequest, make: impl FnOnce(String) -> Error) {
    let Ok(st) = live(lp, r) else { return };
    let e = make(st.what());
    terminate(lp, r, Some(e));
}

/// `abort()` / `destroy(err)`.
pub(crate) fn abort(lp: &mut Loop, r: ClientRequest, err: Option<Error>) {
    if live(lp, r).is_ok() {
        terminate(lp, r, err);
    }
}

/// Ends the request now: its socket is closed (never pooled), or it
/// leaves the queue it waits in; `err` and `close` follow.
fn terminate(lp: &mut Loop, r: ClientRequest, err: Option<Error>) {
    let Ok(st) = live(lp, r) else { return };
    st.done = true;
    let (c, agent, key) = (st.conn.take(), st.agent, st.key.clone());
    match (c, agent) {
        (Some(c), _) => conn::destroy_quietly(lp, c),
        (None, Some(a)) => pool::cancel_waiting(lp, a, &key, r),
        (None, None) => {}
    }
    queue_close(lp, r, err);
}

/// CONNECT or Upgrade succeeded: the stream goes to the hook, or is closed
/// if there is none.
pub(crate) fn handed_off(
    lp: &mut Loop,
    r: ClientRequest,
    kind: HandOff,
    stream: Stream,
    head: Vec<u8>,
) {
    let Ok(st) = live(lp, r) else {
        let _ = stream.close(lp, |_, _| {});
        return;
    };
    st.done = true;
    let cb = match kind {
        HandOff::Upgrade => take_cb(lp, r, |cb| &mut cb.upgrade),
        HandOff::Connect => take_cb(lp, r, |cb| &mut cb.connect),
    };
    match cb {
        Some(cb) => cb(lp, ClientResponse { req: r }, stream, head),
        None => {
            let _ = stream.close(lp, |_, _| {});
        }
    }
    queue_close(lp, r, None);
}

/// From the pending phase: the error (if any), then `close`; then the
/// request's state is freed and its id goes stale.
fn queue_close(lp: &mut Loop, r: ClientRequest, err: Option<Error>) {
    lp.queue_pending(move |lp| {
        if let Some(e) = err {
            if let Some(cb) = take_cb(lp, r, |cb| &mut cb.error) {
                cb(lp, r, e);
            }
        }
        let close = take_cb(lp, r, |cb| &mut cb.close);
        if state(lp, r).is_ok() {
            let t = client(lp);
            if let Some(res) = t.reqs.remove(r.index as usize).res {
                t.recycle_res(res);
            }
        }
        if let Some(cb) = close {
            cb(lp, r);
        }
    });
}
