//! The server (Node's `http.Server`): options, the request callback, its
//! listeners, and graceful shutdown.

use std::rc::Rc;

use eddy_loop::Loop;
use eddy_net::{Address, ListenOptions, Listener};

use super::conn;
use super::error::{Error, Result};
use super::options::ServerOptions;
use super::request::Request;
use super::response::Response;
use super::table::http;

pub(crate) type RequestCb = Box<dyn FnMut(&mut Loop, Request, Response)>;
type CloseCb = Box<dyn FnOnce(&mut Loop)>;

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
                } else {
                    let _ = stream.close(lp, |_| {});
                }
            }
        })?;
        let addr = listener.local_addr(lp)?;
        state(lp, self)?.listeners.push(listener);
        Ok(addr)
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
            let _ = l.close(lp, |_| {});
        }
        self.close_idle_connections(lp);
        maybe_closed(lp, self);
        Ok(())
    }

    /// Closes every connection with no request in flight.
    pub fn close_idle_connections(self, lp: &mut Loop) {
        for c in self.conn_ids(lp, true) {
            conn::destroy(lp, c);
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

pub(crate) fn is_closing(lp: &mut Loop, s: Server) -> bool {
    state(lp, s).map_or(true, |st| st.closing)
}

pub(crate) fn dispatch(lp: &mut Loop, s: Server, req: Request, res: Response) {
    let Some(mut cb) = state(lp, s).ok().and_then(|st| st.on_request.take()) else {
        return;
    };
    cb(lp, req, res);
    if let Ok(st) = state(lp, s) {
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
