//! A request's outgoing bytes: the head, composed once with the framing
//! the body needs, then body bytes, chunked or counted; held until a
//! socket is attached (and, with `Expect: 100-continue`, the body until
//! `100 Continue`), then written. A short request is one write.

use eddy_loop::Loop;
use eddy_net::DEFAULT_HIGH_WATER_MARK;

use super::error::{Error, Result};
use super::request::{state, ClientRequest, ReqState};
use crate::wire::push_line;

/// Bytes of a request's output kept for a retry on a fresh socket.
const REPLAY_LIMIT: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// The body is counted by a Content-Length header.
    Length,
    Chunked,
    /// No framing header: the body is empty.
    None,
}

/// What the body will be when the head is composed.
#[derive(Clone, Copy)]
pub(crate) enum BodyHint {
    /// `end(data)` with nothing written before: its length is known.
    Whole(usize),
    /// Written in pieces (or not known yet).
    Streaming,
}

#[derive(Default)]
pub(crate) struct Output {
    /// The head was composed (headers can no longer change).
    pub head_done: bool,
    pub framing: Option<Framing>,
    /// Head bytes not yet handed to a socket.
    pub head: Vec<u8>,
    /// Body bytes not yet handed to a socket.
    pub body: Vec<u8>,
    /// `Expect: 100-continue` sent, no `100` nor final answer yet.
    pub awaiting_continue: bool,
    /// A final answer came before `100 Continue`: the body is not sent.
    pub body_dropped: bool,
    /// `end` was called: the request is complete on our side.
    pub ended: bool,
    /// `write` returned false: a drain callback is owed.
    pub need_drain: bool,
}

/// Methods whose empty body needs no `Content-Length: 0` (Node's
/// `useChunkedEncodingByDefault == false`).
fn bodiless_by_default(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "DELETE" | "OPTIONS" | "TRACE" | "CONNECT"
    )
}

fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Composes the head into `st.out.head` and decides the framing.
pub(crate) fn compose(st: &mut ReqState, hint: BodyHint, keep_alive: bool) {
    let o = &st.opts;
    let mut h = Vec::with_capacity(128);
    h.extend_from_slice(o.method.as_bytes());
    h.push(b' ');
    h.extend_from_slice(o.path.as_bytes());
    h.extend_from_slice(b" HTTP/1.1\r\n");
    for (n, v) in &o.headers {
        line(&mut h, n, v);
    }
    if o.set_host && !has(&o.headers, "host") {
        o.write_host_line(&mut h);
    }
    if st.expect_continue && !has(&o.headers, "expect") {
        line(&mut h, "Expect", "100-continue");
    }
    if !has(&o.headers, "connection") {
        let c = if keep_alive { "keep-alive" } else { "close" };
        line(&mut h, "Connection", c);
    }
    let user_te = o
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    let framing = if has(&o.headers, "content-length") {
        Framing::Length
    } else if let Some((_, te)) = user_te {
        if te.to_ascii_lowercase().contains("chunked") {
            Framing::Chunked
        } else {
            Framing::None
        }
    } else {
        match hint {
            BodyHint::Whole(0) if bodiless_by_default(&o.method) => Framing::None,
            BodyHint::Whole(n) => {
                line(&mut h, "Content-Length", &n.to_string());
                Framing::Length
            }
            BodyHint::Streaming => {
                line(&mut h, "Transfer-Encoding", "chunked");
                Framing::Chunked
            }
        }
    };
    h.extend_from_slice(b"\r\n");
    st.out.head = h;
    st.out.head_done = true;
    st.out.framing = Some(framing);
}

fn line(h: &mut Vec<u8>, name: &str, value: &str) {
    push_line(h, name.as_bytes(), value.as_bytes());
}

/// Appends `data` as body bytes, framed.
fn frame(st: &mut ReqState, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let body = &mut st.out.body;
    if st.out.framing == Some(Framing::Chunked) {
        body.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    } else {
        body.extend_from_slice(data);
    }
}

/// Whether the loop's default or given Agent keeps sockets alive, as the
/// `Connection` header must say.
fn keep_alive(lp: &mut Loop, r: ClientRequest) -> bool {
    let agent = state(lp, r).ok().and_then(|st| st.agent);
    agent.is_some_and(|a| super::agent::agent_state(lp, a).is_some_and(|a| a.opts.keep_alive))
}

/// Composes the head now if it is not yet (`flush_headers`, 100-continue).
pub(crate) fn ensure_head(lp: &mut Loop, r: ClientRequest, hint: BodyHint) -> Result<()> {
    if state(lp, r)?.out.head_done {
        return Ok(());
    }
    let ka = keep_alive(lp, r);
    let st = state(lp, r)?;
    compose(st, hint, ka);
    st.out.awaiting_continue = st.expect_continue;
    Ok(())
}

/// `ClientRequest::write`.
pub(crate) fn write(lp: &mut Loop, r: ClientRequest, data: &[u8]) -> Result<bool> {
    let st = state(lp, r)?;
    if st.out.ended {
        return Err(Error::WriteAfterEnd);
    }
    ensure_head(lp, r, BodyHint::Streaming)?;
    let st = state(lp, r)?;
    if !st.out.body_dropped {
        frame(st, data);
    }
    let below = flush(lp, r);
    if !below {
        if let Ok(st) = state(lp, r) {
            st.out.need_drain = true;
        }
    }
    Ok(below)
}

/// `ClientRequest::end`.
pub(crate) fn end(lp: &mut Loop, r: ClientRequest, data: &[u8]) -> Result<()> {
    let st = state(lp, r)?;
    if st.out.ended {
        return Err(Error::WriteAfterEnd);
    }
    ensure_head(lp, r, BodyHint::Whole(data.len()))?;
    let st = state(lp, r)?;
    if !st.out.body_dropped {
        frame(st, data);
        if st.out.framing == Some(Framing::Chunked) {
            st.out.body.extend_from_slice(b"0\r\n\r\n");
        }
    }
    st.out.ended = true;
    flush(lp, r);
    Ok(())
}

/// Hands what may go out to the socket, in one write. Returns whether the
/// bytes waiting (in the socket's queue, or here) are below the
/// high-water mark.
pub(crate) fn flush(lp: &mut Loop, r: ClientRequest) -> bool {
    let Ok(st) = state(lp, r) else { return true };
    let Some(c) = st.conn else {
        return st.out.head.len() + st.out.body.len() < DEFAULT_HIGH_WATER_MARK;
    };
    let held = st.out.awaiting_continue.then_some(st.out.body.len());
    let mut bytes = std::mem::take(&mut st.out.head);
    if held.is_none() {
        if bytes.is_empty() {
            bytes = std::mem::take(&mut st.out.body);
        } else {
            bytes.append(&mut st.out.body);
        }
    }
    // A body held for `100 Continue` counts against the mark.
    let held_below = !matches!(held, Some(n) if n >= DEFAULT_HIGH_WATER_MARK);
    if bytes.is_empty() {
        return held_below;
    }
    if let Some(replay) = st.replay.as_mut() {
        if replay.len() + bytes.len() <= REPLAY_LIMIT {
            replay.extend_from_slice(&bytes);
        } else {
            st.replay = None;
        }
    }
    let Some(stream) = super::conn::stream_of(lp, c) else {
        return true;
    };
    // A failed write reaches the read side, which fails the request.
    let below = stream.write_vec(lp, bytes).unwrap_or(true) && held_below;
    if below && state(lp, r).is_ok_and(|st| st.out.need_drain) {
        // Held bytes went out below the mark: the socket will not report a
        // drain, so the request does.
        lp.queue_pending(move |lp| super::finish::drain_request(lp, r));
    }
    below
}
