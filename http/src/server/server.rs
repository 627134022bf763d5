//! `Server`'s methods (Node's `http.Server`): options and the request
//! callback, listeners, hooks, reference counting and graceful shutdown.

use std::rc::Rc;

use eddy_loop::Loop;
use eddy_net::{Address, ListenOptions, Listener, Stream};

use super::closing::close_gracefully;
use super::conn;
use super::dispatch;
use super::error::{Error, Result};
use super::handles::{ConnId, ConnectionId, Request, Response};
use super::hooks::{ClientError, Hooks, RequestHead};
use super::options::ServerOptions;
use super::server_state::{Phase, Ref, Server, ServerState};
use super::shrink;
use super::stats::{CloseReason, ConnectionInfo, ServerStats};
use super::table::{http, http_ref};
use super::teardown::destroy;

fn state(lp: &mut Loop, s: Server) -> Result<&mut ServerState> {
    http(lp)
        .servers
        .get_mut(s.id)
        .ok_or_else(|| Error::Closed("server"))
}

fn state_ref(lp: &Loop, s: Server) -> Option<&ServerState> {
    http_ref(lp)?.servers.get(s.id)
}

impl Server {
    /// A server that calls `on_request` with each request and its response.
    pub fn new(
        lp: &mut Loop,
        options: ServerOptions,
        on_request: impl FnMut(&mut Loop, Request, Response) + 'static,
    ) -> Server {
        let id = http(lp).servers.insert(ServerState {
            opts: Rc::new(options),
            on_request: Some(Box::new(on_request)),
            hooks: Hooks::default(),
            listeners: Vec::new(),
            connections: 0,
            stats: ServerStats::default(),
            phase: Phase::Listening,
            referenced: Ref::Ref,
        });
        shrink::register(lp);
        Server { id }
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
        let st = state(lp, self)?;
        let (server_opts, referenced) = (st.opts.clone(), st.referenced);
        let listener = Listener::bind(lp, addr, opts, move |lp, _, conn| {
            // Accept errors (EMFILE) are survived by the listener itself.
            let Ok(stream) = conn else { return };
            match state(lp, self) {
                Ok(st) => {
                    st.connections += 1;
                    st.stats.accepted += 1;
                    conn::accept(lp, self, server_opts.clone(), stream);
                    dispatch::connection(lp, self, stream);
                }
                Err(_) => {
                    let _ = stream.close(lp, |_, _| {});
                }
            }
        })?;
        if referenced == Ref::Unref {
            let _ = listener.unref(lp);
        }
        let addr = listener.local_addr(lp)?;
        state(lp, self)?.listeners.push(listener);
        Ok(addr)
    }

    /// Serves `stream`, an already connected stream (one end of a
    /// socketpair, say), as if a listener had accepted it. Hidden: the seam
    /// for in-memory drivers such as the whole-server fuzz target
    /// (`fuzz/fuzz_targets/server.rs`), which drive the real connection
    /// code without a listening socket. A closing server closes the stream.
    #[doc(hidden)]
    pub fn serve_stream(self, lp: &mut Loop, stream: Stream) -> Result<()> {
        let st = match state(lp, self) {
            Ok(st) if !st.is_closing() => st,
            _ => {
                let _ = stream.close(lp, |_, _| {});
                return Err(Error::Closed("server"));
            }
        };
        st.connections += 1;
        let opts = st.opts.clone();
        conn::accept(lp, self, opts, stream);
        dispatch::connection(lp, self, stream);
        Ok(())
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

    /// Whether the server exists (it leaves once closed and without
    /// connections).
    pub fn is_active(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_some()
    }

    /// How many connections are open (None for a server that is gone).
    pub fn connection_count(self, lp: &Loop) -> Option<usize> {
        state_ref(lp, self).map(|st| st.connections)
    }

    /// The live connections, each with its peer, state, counts and queued
    /// output (None for a server that is gone). Connections handed to a
    /// CONNECT or Upgrade hook have left the server and are not listed.
    pub fn connections(self, lp: &Loop) -> Option<Vec<ConnectionInfo>> {
        state_ref(lp, self)?;
        let h = http_ref(lp)?;
        let now = lp.now();
        let list = h
            .conns
            .iter()
            .filter(|(_, cn)| cn.server == self)
            .map(|(c, cn)| {
                let held: usize = cn.exchanges.iter().map(|x| x.held.len()).sum();
                let queued = held + cn.stream.write_queue_size(lp).unwrap_or(0);
                ConnectionInfo {
                    id: ConnectionId { conn: c },
                    peer: cn.stream.peer_addr(lp).ok(),
                    state: cn.state(queued),
                    requests_served: cn.served,
                    in_flight: cn.exchanges.len(),
                    bytes_in: cn.stream.bytes_read(lp).unwrap_or(0),
                    bytes_out: cn.stream.bytes_written(lp).unwrap_or(0),
                    idle_ms: now.saturating_sub(cn.active_at),
                    queued_output: queued,
                }
            })
            .collect();
        Some(list)
    }

    /// Closes connection `id` of this server now, as
    /// `close_all_connections` closes each (a request still receiving its
    /// body hears `aborted`). A connection that is gone, or not this
    /// server's, is an error.
    pub fn close_connection(self, lp: &mut Loop, id: ConnectionId) -> Result<()> {
        let h = http(lp);
        if !h.conns.get(id.conn).is_some_and(|cn| cn.server == self) {
            return Err(Error::Closed("connection"));
        }
        destroy(lp, id.conn, CloseReason::Closed);
        Ok(())
    }

    /// The server's counters (None for a server that is gone): the
    /// totals of closed connections plus what the live ones have read,
    /// written and been paused so far.
    pub fn stats(self, lp: &Loop) -> Option<ServerStats> {
        let mut stats = state_ref(lp, self)?.stats.clone();
        let h = http_ref(lp)?;
        let now = lp.now();
        let mut open = 0;
        for (_, cn) in h.conns.iter().filter(|(_, cn)| cn.server == self) {
            open += 1;
            stats.bytes_in += cn.stream.bytes_read(lp).unwrap_or(0);
            stats.bytes_out += cn.stream.bytes_written(lp).unwrap_or(0);
            if cn.hold.by_output() {
                stats.backpressure_ms += now.saturating_sub(cn.held_since);
            }
        }
        stats.open = open;
        Some(stats)
    }

    /// The server's listeners keep the loop alive again (the default).
    pub fn ref_(self, lp: &mut Loop) -> Result<()> {
        self.set_ref(lp, Ref::Ref)
    }

    /// The server's listeners no longer keep the loop alive (as Node's
    /// `server.unref()`); connections still do.
    pub fn unref(self, lp: &mut Loop) -> Result<()> {
        self.set_ref(lp, Ref::Unref)
    }

    /// Whether the server's listeners keep the loop alive (false for a
    /// server that is gone).
    pub fn has_ref(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_some_and(|st| st.referenced == Ref::Ref)
    }

    fn set_ref(self, lp: &mut Loop, r: Ref) -> Result<()> {
        let st = state(lp, self)?;
        st.referenced = r;
        for l in st.listeners.clone() {
            let _ = match r {
                Ref::Ref => l.ref_(lp),
                Ref::Unref => l.unref(lp),
            };
        }
        Ok(())
    }

    /// Stops accepting and closes idle keep-alive connections. Requests in
    /// flight finish (their responses say `Connection: close`), their
    /// connections close after them, and `cb` runs when the last is gone.
    pub fn close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<()> {
        let st = state(lp, self)?;
        if st.is_closing() {
            return Err(Error::Closed("server"));
        }
        st.phase = Phase::Closing {
            cb: Some(Box::new(cb)),
        };
        for l in std::mem::take(&mut st.listeners) {
            let _ = l.close(lp, |_, _| {});
        }
        self.close_idle_connections(lp)?;
        dispatch::maybe_closed(lp, self);
        Ok(())
    }

    /// Closes every connection with no request in flight.
    pub fn close_idle_connections(self, lp: &mut Loop) -> Result<()> {
        // Gracefully: an idle connection may still be flushing its last
        // response.
        for c in self.conn_ids(lp, true)? {
            close_gracefully(lp, c, CloseReason::ServerClose);
        }
        Ok(())
    }

    /// Closes every connection now, in flight or not.
    pub fn close_all_connections(self, lp: &mut Loop) -> Result<()> {
        for c in self.conn_ids(lp, false)? {
            destroy(lp, c, CloseReason::Closed);
        }
        Ok(())
    }

    fn conn_ids(self, lp: &mut Loop, idle_only: bool) -> Result<Vec<ConnId>> {
        let h = http(lp);
        if !h.servers.contains(self.id) {
            return Err(Error::Closed("server"));
        }
        Ok(h.conns
            .iter()
            .filter(|(_, cn)| cn.server == self && (!idle_only || cn.is_idle()))
            .map(|(c, _)| c)
            .collect())
    }

    /// Response bytes waiting to go out on all this server's connections
    /// (in socket write queues and held back behind earlier responses):
    /// bounded by the high-water mark per connection under a pipelining
    /// flood.
    pub fn buffered_output(self, lp: &Loop) -> usize {
        let Some(h) = http_ref(lp) else { return 0 };
        h.conns
            .iter()
            .filter(|(_, cn)| cn.server == self)
            .map(|(_, cn)| {
                let held: usize = cn.exchanges.iter().map(|x| x.held.len()).sum();
                held + cn.stream.write_queue_size(lp).unwrap_or(0)
            })
            .sum()
    }

    /// The `Date` header value for now, formatted at most once a second.
    pub fn date(lp: &mut Loop) -> &str {
        let now = lp.now();
        http(lp).date.get(now)
    }
}
