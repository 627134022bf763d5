//! A client connection's record operations that need no callback: its
//! stream, its parser taken out and parked again, the move to the free
//! list (unref'd, TCP keep-alive, the idle time it may stay), and its
//! removal. The callbacks that drive a connection are installed by the
//! exchange (`exchange.rs`).

use eddy_loop::Loop;
use eddy_net::Stream;

use super::table::{
    client, conn, conn_ref, req, AgentId, ConnId, Link, ParserSlot, PoolKey, ReqId, ResponseParser,
    Transport, Use,
};

/// What a removed connection leaves behind.
pub(crate) struct Removed {
    pub stream: Stream,
    /// The Agent it counted against: the caller makes it forget the socket.
    pub agent: Option<(AgentId, PoolKey)>,
}

/// The connection's stream.
pub(crate) fn stream_of(lp: &Loop, c: ConnId) -> Option<Stream> {
    conn_ref(lp, c).map(|cn| cn.stream)
}

/// The request the connection carries (or connects for).
pub(crate) fn request_of(lp: &Loop, c: ConnId) -> Option<ReqId> {
    conn_ref(lp, c)?.request()
}

/// Takes the parser out to run it; the connection says `InUse` meanwhile.
pub(crate) fn take_parser(lp: &mut Loop, c: ConnId) -> Option<Box<ResponseParser>> {
    let cn = conn(lp, c)?;
    match std::mem::replace(&mut cn.parser, ParserSlot::InUse) {
        ParserSlot::Parked(p) => Some(p),
        ParserSlot::InUse => None,
    }
}

/// Puts the parser back, if the connection still exists.
pub(crate) fn park_parser(lp: &mut Loop, c: ConnId, p: Box<ResponseParser>) {
    if let Some(cn) = conn(lp, c) {
        cn.parser = ParserSlot::Parked(p);
    }
}

/// The connection stops carrying its request: its parser is reset for the
/// next response.
pub(crate) fn end_use(lp: &mut Loop, c: ConnId) {
    if let Some(cn) = conn(lp, c) {
        cn.state = Use::Free;
        cn.fed = 0;
        if let ParserSlot::Parked(p) = &mut cn.parser {
            p.parser.reset();
        }
    }
}

/// The socket joins its Agent's free list: it is unref'd (an idle pool
/// does not keep the loop running) and gets TCP keep-alive. Returns how
/// long it may stay idle (ms, 0: no limit): the Agent's timeout, or a
/// little less than the server's `Keep-Alive: timeout` hint.
pub(crate) fn make_free(
    lp: &mut Loop,
    c: ConnId,
    keep_alive_msecs: u64,
    agent_timeout: u64,
) -> u64 {
    let Some(cn) = conn(lp, c) else { return 0 };
    cn.state = Use::Free;
    let stream = cn.stream;
    let set_keepalive = matches!(
        cn.transport,
        Transport::Tcp {
            keepalive_on: false
        }
    );
    if set_keepalive {
        // The Agent's keep-alive delay never changes: once per socket.
        cn.transport = Transport::Tcp { keepalive_on: true };
    }
    let hint = cn
        .keep_alive_hint_ms
        .map(|ms| ms.saturating_sub((ms / 4).min(1000)).max(1));
    let _ = stream.unref(lp);
    if set_keepalive {
        let secs = (keep_alive_msecs / 1000).max(1) as u32;
        let _ = stream.set_keepalive(lp, true, secs);
    }
    match (agent_timeout, hint) {
        (0, None) => 0,
        (0, Some(h)) => h,
        (t, None) => t,
        (t, Some(h)) => t.min(h),
    }
}

/// Stops reading the socket (`pause`).
pub(crate) fn stop_reading(lp: &mut Loop, c: ConnId) {
    if let Some(stream) = stream_of(lp, c) {
        let _ = stream.read_stop(lp);
    }
}

/// Takes the connection out of the table (its stream stays open: the
/// caller closes it or hands it off). Its request, if it still links to
/// it, is detached without an event.
pub(crate) fn remove(lp: &mut Loop, c: ConnId) -> Option<Removed> {
    let cn = client(lp).conns.remove(c)?;
    let r = cn.request();
    if let Some(st) = r.and_then(|r| req(lp, r)) {
        if st.link == Link::On(c) {
            st.link = Link::Waiting;
        }
    }
    Some(Removed {
        stream: cn.stream,
        agent: cn.agent,
    })
}
