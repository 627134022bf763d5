//! The exchange handles, `Request` and `Response`: small `Copy` ids into
//! the server layer's tables (`table.rs`): a connection and a sequence
//! number. Their methods live with their concept (`request.rs`,
//! `response.rs`); this file only names them, so the state below can refer
//! to them without importing the API above. (`Server`, the handle of a
//! `ServerState`, is named in `server_state.rs`.)
//!
//! A stale handle (its connection closed, its exchange finished and
//! recycled) never reaches a newcomer: connections are [`Id`]s of a
//! generational [`Table`](eddy_loop::Table), and an exchange is named by
//! its sequence number on its connection. Actions on a stale handle return
//! `Err(Error::Closed(..))`; queries return `false` or `None`.

use eddy_loop::Id;

use super::connection::Conn;

/// A connection's id in the server table.
pub(crate) type ConnId = Id<Conn>;

/// A server connection, as [`Server::connections`](super::Server::connections)
/// lists it and [`Server::close_connection`](super::Server::close_connection)
/// takes it. A `Copy` id: once the connection is gone, it names nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ConnectionId {
    pub(crate) conn: ConnId,
}

impl ConnectionId {
    /// A number naming the connection while it lives (its table slot and
    /// generation), for logs and admin pages.
    pub fn as_u64(self) -> u64 {
        (u64::from(self.conn.index()) << 32) | u64::from(self.conn.generation())
    }
}

/// A request received by a [`Server`](super::Server) (Node's `IncomingMessage`): its
/// connection and its place in that connection's queue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Request {
    pub(crate) conn: ConnId,
    pub(crate) seq: u64,
}

/// The response to a [`Request`] (Node's `ServerResponse`): a `Copy`
/// handle that can be moved into a timer or work callback and finished
/// later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Response {
    pub(crate) conn: ConnId,
    pub(crate) seq: u64,
}
