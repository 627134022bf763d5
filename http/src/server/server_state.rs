//! A server's state in the table (its options, callbacks, listeners and
//! connection count, and whether it is closing), and [`Server`], its
//! handle.

use std::rc::Rc;

use eddy_loop::Id;
use eddy_net::Listener;

use super::hooks::{CloseCb, Hooks, RequestCb};
use super::options::ServerOptions;
use super::stats::ServerStats;

/// An HTTP/1.1 server (Node's `http.Server`): a `Copy` handle.
///
/// ```no_run
/// use eddy_loop::{Loop, RunMode};
/// use eddy_http::server::{Server, ServerOptions};
///
/// let mut lp = Loop::new()?;
/// let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
///     let _ = res.end(lp, b"hi\n");
/// });
/// let addr = server.listen(&mut lp, "127.0.0.1:0".parse::<std::net::SocketAddr>()?)?;
/// println!("listening on {addr:?}");
/// lp.run(RunMode::Default);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Server {
    pub(crate) id: Id<ServerState>,
}

/// Whether a server still accepts.
pub(crate) enum Phase {
    /// Accepting.
    Listening,
    /// `close` was called: no more accepting; `cb` (taken when it runs)
    /// runs once the last connection is gone.
    Closing { cb: Option<CloseCb> },
}

/// Whether a server's listeners keep the loop alive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ref {
    /// They do (the default).
    Ref,
    /// They do not (`Server::unref`).
    Unref,
}

/// One server.
pub(crate) struct ServerState {
    pub opts: Rc<ServerOptions>,
    pub on_request: Option<RequestCb>,
    pub hooks: Hooks,
    pub listeners: Vec<Listener>,
    pub connections: usize,
    pub stats: ServerStats,
    pub phase: Phase,
    pub referenced: Ref,
}

impl ServerState {
    /// `close` was called.
    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing { .. })
    }
}
