//! The server (Node's `http.Server`): options, the request callback, its
//! listeners, and graceful shutdown.

use std::rc::Rc;

use eddy_loop::Loop;
use eddy_net::{Address, ListenOptions, Listener, Stream};
use slab::Slab;

use super::conn;
use super::error::{Error, Result};
use super::headers::HeaderList;
use super::options::ServerOptions;
use super::request::Request;
use super::response::Response;
use super::table::http;
use crate::parser::Method;

pub(crate) type RequestCb = Box<dyn FnMut(&mut Loop, Request, Response)>;
pub(crate) type HandOffCb = Box<dyn FnMut(&mut Loop, RequestHead, Stream, Vec<u8>)>;
pub(crate) type ClientErrorCb = Box<dyn FnMut(&mut Loop, &ClientError) -> Option<Vec<u8>>>;
type ConnectionCb = Box<dyn FnMut(&mut Loop, Stream)>;
type CloseCb = Box<dyn FnOnce(&mut Loop)>;

/// The head of a request handed off with its stream (CONNECT, Upgrade).
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    pub target: String,
    pub version: (u8, u8),
    pub headers: HeaderList,
}

/// A request the server refuses (bad input, a limit, a timeout).
#[derive(Debug, Clone)]
pub struct ClientError {
    /// The status eddy answers with (400, 408, 413, 414, 417, 431, 501, 505).
    pub status: u16,
}

/// Optional callbacks, Node's server events.
#[derive(Default)]
pub(crate) struct Hooks {
    pub connect: Option<HandOffCb>,
    pub upgrade: Option<HandOffCb>,
    pub check_continue: Option<RequestCb>,
    pub check_expectation: Option<RequestCb>,
    pub client_error: Option<ClientErrorCb>,
    pub connection: Option<ConnectionCb>,
}

/// Which hook an event goes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Hook {
    Connect,
    Upgrade,
    CheckContinue,
    CheckExpectation,
}

/// An HTTP/1.1 server: a `Copy` handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Server {
    index: u32,
    gen: u32,
}

pub(crate) struct ServerState {
    gen: u32,
    opts: Rc<ServerOptions>,
    on_request: Option<RequestCb>,
    pub(crate) hooks: Hooks,
    listeners: Vec<Listener>,
    connections: usize,
    closing: bool,
    close_cb: Option<CloseCb>,
}

fn state(lp: &mut Loop, s: Server) -> Result<&mut ServerState> {
    http(lp)
        .servers
        .get_mut(s.index as usize)
        .filter(|st| st.gen == s.gen)
        .ok_or(Error::Closed("server"))
}

impl Server {
    /// A server that calls `on_request` with each request and its response.
    pub fn new(
        lp: &mut Loop,
        options: ServerOptions,
        on_request: impl FnMut(&mut Loop, Request, Response) + 'static,
    ) -> Server {
        let h = http(lp);
        let gen = h.next_gen();
        let index = h.servers.insert(ServerState {
            gen,
            opts: Rc::new(options),
            on_request: Some(Box::new(on_request)),
            hooks: Hooks::default(),
            listeners: Vec::new(),
            connections: 0,
            closing: false,
            close_cb: None,
        }) as u32;
        Server { index, gen }
    }

    /// Listens on a TCP address or Unix path; returns the bound address.
    pub fn listen(self, lp: &mut Loop, addr: impl Into<Address>) -> Result<Address> {
        self.listen_with(lp, addr, &ListenOptions::default())
    }

    /// `listen` with socket options (e.g. SO_REUSEPORT for one loop per core).
    pub fn listen_with(
        self,
        lp: &mut Loop,
        addr: impl Into<Address>,
        opts: &ListenOptions,
    ) -> Result<Address> {
        let server_opts = state(lp, self)?.opts.clone();
        let listener = Listener::bind(lp, addr, opts, move |lp, _, conn| {
            // Accept errors (EMFILE) are survived by the listener itself.
            if let Ok(stream) = conn {
                if let Ok(st) = state(lp, self) {
                    st.connections += 1;
                    conn::accept(lp, self, server_opts.clone(), stream);
                    let hook = state(lp, self)
                        .ok()
                        .and_then(|st| st.hooks.connection.take());
                    if let Some(mut cb) = hook {
                        cb(lp, stream);
                        if let Ok(st) = state(lp, self) {
                            st.hooks.connection.get_or_insert(cb);
                        }
                    }
                } else {
                    let _ = stream.close(lp, |_, _| {});
                }
            }
        })?;
        let addr = listener.local_addr(lp)?;
        state(lp, self)?.listeners.push(listener);
        Ok(addr)
    }

    /// CONNECT requests: `cb` gets the request head, the stream (now the
    /// caller's: read, write and close it as with any stream) and the bytes
    /// already read past the head. Without it, CONNECT is answered 501.
    pub fn on_connect(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, RequestHead, Stream, Vec<u8>) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.connect = Some(Box::new(cb));
        Ok(())
    }

    /// Requests with `Connection: upgrade` and `Upgrade`: handed off like
    /// CONNECT. Without it they are served as ordinary requests.
    pub fn on_upgrade(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, RequestHead, Stream, Vec<u8>) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.upgrade = Some(Box::new(cb));
        Ok(())
    }

    /// `Expect: 100-continue`: `cb` decides instead of the request callback
    /// (call `write_continue` to get the body, or answer at once; a final
    /// status sent without the 100 closes the connection afterwards).
    /// Without it, `100 Continue` is sent before the body is read.
    pub fn on_check_continue(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Request, Response) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.check_continue = Some(Box::new(cb));
        Ok(())
    }

    /// Any other `Expect` value: `cb` handles the request instead of a 417.
    pub fn on_check_expectation(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Request, Response) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.check_expectation = Some(Box::new(cb));
        Ok(())
    }

    /// Bad requests: `cb` may return the bytes to send instead of the
    /// minimal `<status>` response (the connection closes either way).
    pub fn on_client_error(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, &ClientError) -> Option<Vec<u8>> + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.client_error = Some(Box::new(cb));
        Ok(())
    }

    /// Each accepted connection's stream (Node's `connection` event).
    pub fn on_connection(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Stream) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hooks.connection = Some(Box::new(cb));
        Ok(())
    }

    /// Open connections.
    pub fn connections(self, lp: &mut Loop) -> Result<usize> {
        Ok(state(lp, self)?.connections)
    }

    /// Stops accepting and closes idle keep-alive connections. Requests in
    /// flight finish (their responses say `Connection: close`), their
    /// connections close after them, and `cb` runs when the last is gone.
    pub fn close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<()> {
        let st = state(lp, self)?;
        if st.closing {
            return Err(Error::Closed("server"));
        }
        st.closing = true;
        st.close_cb = Some(Box::new(cb));
        for l in std::mem::take(&mut st.listeners) {
            let _ = l.close(lp, |_, _| {});
        }
        self.close_idle_connections(lp);
        maybe_closed(lp, self);
        Ok(())
    }

    /// Closes every connection with no request in flight.
    pub fn close_idle_connections(self, lp: &mut Loop) {
        // Gracefully: an idle connection may still be flushing its last
        // response.
        for c in self.conn_ids(lp, true) {
            conn::close_gracefully(lp, c);
        }
    }

    /// Closes every connection now, in flight or not.
    pub fn close_all_connections(self, lp: &mut Loop) {
        for c in self.conn_ids(lp, false) {
            conn::destroy(lp, c);
        }
    }

    fn conn_ids(self, lp: &mut Loop, idle_only: bool) -> Vec<conn::ConnId> {
        http(lp)
            .conns
            .iter()
            .filter(|(_, cn)| cn.server == self && (!idle_only || conn::is_idle(cn)))
            .map(|(i, cn)| conn::ConnId {
                index: i as u32,
                gen: cn.gen,
            })
            .collect()
    }

    /// Response bytes waiting to go out on all this server's connections
    /// (in socket write queues and held back behind earlier responses):
    /// bounded by the high-water mark per connection under a pipelining
    /// flood.
    pub fn buffered_output(self, lp: &mut Loop) -> usize {
        let conns: Vec<(eddy_net::Stream, usize)> = http(lp)
            .conns
            .iter()
            .filter(|(_, cn)| cn.server == self)
            .map(|(_, cn)| (cn.stream, cn.exchanges.iter().map(|x| x.held.len()).sum()))
            .collect();
        conns
            .into_iter()
            .map(|(s, held)| held + s.write_queue_size(lp).unwrap_or(0))
            .sum()
    }

    /// The `Date` header value for now, formatted at most once a second.
    pub fn date(lp: &mut Loop) -> &str {
        let now = lp.now();
        http(lp).date.get(now)
    }
}

/// Whether a server is closing (a server gone counts as closing).
pub(crate) fn is_closing_in(servers: &Slab<ServerState>, s: Server) -> bool {
    servers
        .get(s.index as usize)
        .filter(|st| st.gen == s.gen)
        .is_none_or(|st| st.closing)
}

pub(crate) fn has_hook(lp: &mut Loop, s: Server, hook: Hook) -> bool {
    has_hook_in(&http(lp).servers, s, hook)
}

/// `has_hook` on the table itself.
pub(crate) fn has_hook_in(servers: &Slab<ServerState>, s: Server, hook: Hook) -> bool {
    let st = servers.get(s.index as usize).filter(|st| st.gen == s.gen);
    st.is_some_and(|st| match hook {
        Hook::Connect => st.hooks.connect.is_some(),
        Hook::Upgrade => st.hooks.upgrade.is_some(),
        Hook::CheckContinue => st.hooks.check_continue.is_some(),
        Hook::CheckExpectation => st.hooks.check_expectation.is_some(),
    })
}

fn check_slot(st: &mut ServerState, hook: Hook) -> &mut Option<RequestCb> {
    match hook {
        Hook::CheckContinue => &mut st.hooks.check_continue,
        _ => &mut st.hooks.check_expectation,
    }
}

fn hand_off_slot(st: &mut ServerState, hook: Hook) -> &mut Option<HandOffCb> {
    match hook {
        Hook::Connect => &mut st.hooks.connect,
        _ => &mut st.hooks.upgrade,
    }
}

/// Runs the check_continue or check_expectation hook for a request.
pub(crate) fn dispatch_check(lp: &mut Loop, s: Server, hook: Hook, req: Request, res: Response) {
    let Some(mut cb) = state(lp, s).ok().and_then(|st| check_slot(st, hook).take()) else {
        return;
    };
    cb(lp, req, res);
    if let Ok(st) = state(lp, s) {
        check_slot(st, hook).get_or_insert(cb);
    }
}

/// Hands a CONNECT or Upgrade request's stream to its hook.
pub(crate) fn dispatch_hand_off(
    lp: &mut Loop,
    s: Server,
    hook: Hook,
    head: RequestHead,
    stream: Stream,
    rest: Vec<u8>,
) {
    let Some(mut cb) = state(lp, s)
        .ok()
        .and_then(|st| hand_off_slot(st, hook).take())
    else {
        let _ = stream.close(lp, |_, _| {});
        return;
    };
    cb(lp, head, stream, rest);
    if let Ok(st) = state(lp, s) {
        hand_off_slot(st, hook).get_or_insert(cb);
    }
}

/// The bytes the client_error hook wants sent instead of the default.
pub(crate) fn client_error_bytes(lp: &mut Loop, s: Server, status: u16) -> Option<Vec<u8>> {
    let mut cb = state(lp, s)
        .ok()
        .and_then(|st| st.hooks.client_error.take())?;
    let out = cb(lp, &ClientError { status });
    if let Ok(st) = state(lp, s) {
        st.hooks.client_error.get_or_insert(cb);
    }
    out
}

/// The request callback, taken out of its slot to be called (see
/// `restore_request_cb`).
pub(crate) fn take_request_cb(servers: &mut Slab<ServerState>, s: Server) -> Option<RequestCb> {
    servers
        .get_mut(s.index as usize)
        .filter(|st| st.gen == s.gen)?
        .on_request
        .take()
}

/// Puts the request callback back after its call (unless the server is
/// gone or the callback installed another... which it cannot).
pub(crate) fn restore_request_cb(servers: &mut Slab<ServerState>, s: Server, cb: RequestCb) {
    if let Some(st) = servers
        .get_mut(s.index as usize)
        .filter(|st| st.gen == s.gen)
    {
        st.on_request.get_or_insert(cb);
    }
}

pub(crate) fn connection_gone(lp: &mut Loop, s: Server) {
    if let Ok(st) = state(lp, s) {
        st.connections = st.connections.saturating_sub(1);
    }
    maybe_closed(lp, s);
}

fn maybe_closed(lp: &mut Loop, s: Server) {
    let Ok(st) = state(lp, s) else { return };
    if !st.closing || st.connections > 0 {
        return;
    }
    let cb = st.close_cb.take();
    http(lp).servers.remove(s.index as usize);
    if let Some(cb) = cb {
        // From the pending phase, after the listeners' close callbacks
        // have been queued.
        lp.queue_pending(cb);
    }
}
