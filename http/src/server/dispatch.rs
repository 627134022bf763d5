//! Calling a server's callbacks from the connection code: each is taken
//! out of its slot while it runs (`Loop::with_cb`) and put back if the
//! server still lives; and the server's end, when its last connection is
//! gone after `close`.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::handles::{Request, Response};
use super::hooks::{ClientError, ConnectionCb, HandOffCb, Hook, RequestCb, RequestHead};
use super::server_state::Phase;
use super::server_state::Server;
use super::table::http;

/// Whether server `s` has `hook` set.
pub(crate) fn has_hook(lp: &mut Loop, s: Server, hook: Hook) -> bool {
    http(lp)
        .servers
        .get(s.id)
        .is_some_and(|st| st.hooks.has(hook))
}

fn request_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<RequestCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.on_request)
}

fn check_continue_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<RequestCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.hooks.check_continue)
}

fn check_expectation_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<RequestCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.hooks.check_expectation)
}

fn connect_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<HandOffCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.hooks.connect)
}

fn upgrade_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<HandOffCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.hooks.upgrade)
}

fn connection_slot(lp: &mut Loop, s: Server) -> Option<&mut Option<ConnectionCb>> {
    Some(&mut http(lp).servers.get_mut(s.id)?.hooks.connection)
}

/// Runs the request callback.
#[inline]
pub(crate) fn request(lp: &mut Loop, s: Server, req: Request, res: Response) {
    lp.with_cb(s, request_slot, |lp, cb| cb(lp, req, res));
}

/// Runs the check_continue or check_expectation hook for a request.
pub(crate) fn check(lp: &mut Loop, s: Server, hook: Hook, req: Request, res: Response) {
    let slot = match hook {
        Hook::CheckContinue => check_continue_slot,
        _ => check_expectation_slot,
    };
    lp.with_cb(s, slot, |lp, cb| cb(lp, req, res));
}

/// Hands a CONNECT or Upgrade request's stream to its hook (closed if
/// there is none any more).
pub(crate) fn hand_off(
    lp: &mut Loop,
    s: Server,
    hook: Hook,
    head: RequestHead,
    stream: Stream,
    rest: Vec<u8>,
) {
    let slot = match hook {
        Hook::Connect => connect_slot,
        _ => upgrade_slot,
    };
    let mut args = Some((head, rest));
    lp.with_cb(s, slot, |lp, cb| {
        if let Some((head, rest)) = args.take() {
            cb(lp, head, stream, rest);
        }
    });
    if args.is_some() {
        let _ = stream.close(lp, |_, _| {});
    }
}

/// Runs the connection hook for an accepted stream.
pub(crate) fn connection(lp: &mut Loop, s: Server, stream: Stream) {
    lp.with_cb(s, connection_slot, |lp, cb| cb(lp, stream));
}

/// The bytes the client_error hook wants sent instead of the default.
pub(crate) fn client_error_bytes(lp: &mut Loop, s: Server, status: u16) -> Option<Vec<u8>> {
    fn slot(lp: &mut Loop, s: Server) -> Option<&mut Option<super::hooks::ClientErrorCb>> {
        Some(&mut http(lp).servers.get_mut(s.id)?.hooks.client_error)
    }
    lp.with_cb(s, slot, |lp, cb| cb(lp, &ClientError { status }))
        .flatten()
}

/// A connection of `s` closed or left HTTP.
pub(crate) fn connection_gone(lp: &mut Loop, s: Server) {
    if let Some(st) = http(lp).servers.get_mut(s.id) {
        st.connections = st.connections.saturating_sub(1);
    }
    maybe_closed(lp, s);
}

/// After `close`: once the last connection is gone, the server leaves the
/// table and its close callback runs.
pub(crate) fn maybe_closed(lp: &mut Loop, s: Server) {
    let h = http(lp);
    let Some(st) = h.servers.get_mut(s.id) else {
        return;
    };
    if st.connections > 0 {
        return;
    }
    let Phase::Closing { cb } = &mut st.phase else {
        return;
    };
    let cb = cb.take();
    h.servers.remove(s.id);
    if let Some(cb) = cb {
        // From the pending phase, after the listeners' close callbacks
        // have been queued.
        lp.queue_pending(cb);
    }
}
