//! A request's bytes to its socket: the head composed with the
//! `Connection` its Agent implies, body pieces framed, and what is ready
//! handed to the stream in one write (a short request is one `send`).
//! Bytes written before a socket is attached wait in the request.

use eddy_loop::Loop;
use eddy_net::DEFAULT_HIGH_WATER_MARK;

use super::conn;
use super::deadlines;
use super::error::{Error, Result};
use super::notify;
use super::output::{Drain, Gate};
use super::table::{agent, client, live, req, Link, Replay, ReqId};
use crate::h1::BodyKnown;

/// Bytes of a request's output kept for a retry on a fresh socket.
const REPLAY_LIMIT: usize = 1 << 20;

/// Composes the head now if it is not yet (`flush_headers`, the first
/// write, `end`, 100-continue).
pub(crate) fn ensure_head(lp: &mut Loop, r: ReqId, body: BodyKnown) -> Result<()> {
    let st = live(lp, r).ok_or_else(|| Error::Closed("request"))?;
    if st.out.is_head_composed() {
        return Ok(());
    }
    // What `Connection` says: keep-alive through an Agent that keeps
    // sockets, else close.
    let a = st.agent;
    let keep_alive = a.is_some_and(|a| agent(lp, a).is_some_and(|a| a.opts.keep_alive));
    let t = client(lp);
    let st = t.reqs.get_mut(r).ok_or_else(|| Error::Closed("request"))?;
    st.out
        .compose_head(&st.target, body, keep_alive, &mut t.head_extra);
    if st.out.gate == Gate::AwaitingContinue {
        // A server that never sends `100 Continue` must not stall the
        // body for ever: after the wait, it goes anyway (curl's rule).
        let ms = st.continue_timeout_ms;
        let id = lp.set_timeout(ms, move |lp, _| continue_waited(lp, r));
        if let Some(st) = req(lp, r) {
            st.continue_timer = Some(id);
        }
    }
    Ok(())
}

/// The wait for `100 Continue` is over: the body goes.
fn continue_waited(lp: &mut Loop, r: ReqId) {
    let Some(st) = live(lp, r) else { return };
    st.continue_timer = None;
    if st.out.gate != Gate::AwaitingContinue {
        return;
    }
    st.out.continue_received();
    flush(lp, r);
}

/// `100 Continue` or a final answer came: the wait is over.
pub(crate) fn stop_waiting_for_continue(lp: &mut Loop, r: ReqId) {
    if let Some(id) = req(lp, r).and_then(|st| st.continue_timer.take()) {
        lp.clear_timer(id);
    }
}

/// `ClientRequest::write`: returns whether the bytes waiting are below
/// the high-water mark.
pub(crate) fn write(lp: &mut Loop, r: ReqId, data: &[u8]) -> Result<bool> {
    ensure_head(lp, r, BodyKnown::Streaming)?;
    live(lp, r)
        .ok_or_else(|| Error::Closed("request"))?
        .out
        .write(data)?;
    let below = flush(lp, r);
    if !below {
        if let Some(st) = req(lp, r) {
            st.out.drain = Drain::Owed;
        }
    }
    Ok(below)
}

/// `ClientRequest::end`.
pub(crate) fn end(lp: &mut Loop, r: ReqId, data: &[u8]) -> Result<()> {
    ensure_head(lp, r, BodyKnown::Whole(data.len() as u64))?;
    let ended = live(lp, r)
        .ok_or_else(|| Error::Closed("request"))?
        .out
        .end(data);
    if let Err(Error::ContentLengthExceeded(_)) = ended {
        return ended; // nothing of it taken
    }
    // Ended, whole or short: what was written goes out.
    flush(lp, r);
    ended
}

/// Hands what may go out to the socket, in one write. Returns whether the
/// bytes waiting (in the socket's queue, or here) are below the
/// high-water mark.
pub(crate) fn flush(lp: &mut Loop, r: ReqId) -> bool {
    let Some(st) = req(lp, r) else { return true };
    let Link::On(c) = st.link else {
        return st.out.is_below_mark();
    };
    let ready = st.out.take_ready();
    // A body held for `100 Continue` counts against the mark.
    let held_below = ready.held < DEFAULT_HIGH_WATER_MARK;
    if ready.bytes.is_empty() {
        return held_below;
    }
    // Bytes kept for a retry are written from here (the stream copies
    // only what the kernel does not take at once), then kept: no copy.
    let keep = match &st.replay {
        Replay::Keeping(copy) if copy.len() + ready.bytes.len() <= REPLAY_LIMIT => true,
        Replay::Keeping(_) => {
            st.replay = Replay::Off;
            false
        }
        Replay::Off => false,
    };
    let Some(stream) = conn::stream_of(lp, c) else {
        return true;
    };
    deadlines::progress(lp, r);
    // A failed write reaches the read side, which fails the request.
    let written = if keep {
        let written = stream.write(lp, &ready.bytes);
        if let Some(Replay::Keeping(copy)) = req(lp, r).map(|st| &mut st.replay) {
            if copy.is_empty() {
                *copy = ready.bytes;
            } else {
                copy.extend_from_slice(&ready.bytes);
            }
        }
        written
    } else {
        stream.write_vec(lp, ready.bytes)
    };
    let below = written.unwrap_or(true) && held_below;
    if below && req(lp, r).is_some_and(|st| st.out.drain == Drain::Owed) {
        // Held bytes went out below the mark: the socket will not report a
        // drain, so the request does.
        lp.queue_pending(move |lp| notify::drain(lp, r));
    }
    below
}
