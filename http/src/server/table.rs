//! The server layer's tables, kept inside the loop as one keyed extension:
//! servers and connections (each a generational [`Table`]), the cached
//! `Date`, a scratch buffer for composing output, and pools of request
//! records, exchanges and queues reused from request to request.

use eddy_loop::{ExtensionKey, Loop, Table};

use super::connection::Conn;
use super::date::DateCache;
use super::exchange::{find, find_mut, Exchange, Queue, RequestData};
use super::handles::ConnId;
use super::server_state::Server;
use super::server_state::ServerState;
use crate::parser::{Kind, Parser, Settings};

/// Everything the server layer keeps in a loop.
pub(crate) struct Http {
    pub servers: Table<ServerState>,
    pub conns: Table<Conn>,
    pub date: DateCache,
    /// Output is composed here, then written or held back.
    pub scratch: Vec<u8>,
    /// The batch buffer, lent to the connection being parsed.
    pub batch_spare: Vec<u8>,
    /// Request records reused from request to request (boxed, as
    /// connections hold them).
    #[allow(clippy::vec_box)]
    pub pool: Vec<Box<RequestData>>,
    /// Finished exchanges, reset, with their buffers (boxed, as queues
    /// hold them: taking one moves a pointer).
    #[allow(clippy::vec_box)]
    pub exchange_pool: Vec<Box<Exchange>>,
    /// Exchange queues of idle connections.
    pub queue_pool: Vec<Queue>,
    /// Parsers of idle connections (set up afresh when taken: servers'
    /// settings differ).
    #[allow(clippy::vec_box)]
    pub parser_pool: Vec<Box<Parser>>,
}

impl Http {
    /// Connection `c`, if it is still open.
    #[inline]
    pub fn conn_mut(&mut self, c: ConnId) -> Option<&mut Conn> {
        self.conns.get_mut(c)
    }

    /// Whether server `s` is closing (a server gone counts as closing).
    #[inline]
    pub fn server_closing(&self, s: Server) -> bool {
        self.servers.get(s.id).is_none_or(ServerState::is_closing)
    }

    /// Gives a queue (and its exchanges) back to the pools.
    pub fn recycle_queue(&mut self, mut q: Queue) {
        for x in q.drain(..) {
            self.recycle_exchange(x);
        }
        if q.capacity() > 0 && self.queue_pool.len() < 256 {
            self.queue_pool.push(q);
        }
    }

    /// An exchange for request `seq`, reused if one is free.
    pub fn take_exchange(&mut self, seq: u64) -> Box<Exchange> {
        match self.exchange_pool.pop() {
            Some(mut x) => {
                x.seq = seq;
                x
            }
            None => Box::new(Exchange::new(seq)),
        }
    }

    /// A finished exchange: its callbacks are dropped now, its buffers
    /// kept for the next one.
    pub fn recycle_exchange(&mut self, mut x: Box<Exchange>) {
        x.reset();
        if self.exchange_pool.len() < 1024 {
            self.exchange_pool.push(x);
        }
    }

    /// A parser for a connection that was idle, set up with `settings`.
    pub fn take_parser(&mut self, settings: Settings) -> Box<Parser> {
        let fresh = Parser::with_settings(Kind::Request, settings);
        match self.parser_pool.pop() {
            Some(mut p) => {
                *p = fresh;
                p
            }
            None => Box::new(fresh),
        }
    }

    /// The parser of a connection gone idle, back to the pool.
    pub fn recycle_parser(&mut self, p: Box<Parser>) {
        if self.parser_pool.len() < 1024 {
            self.parser_pool.push(p);
        }
    }

    /// A request record back to the pool.
    pub fn recycle(&mut self, mut r: Box<RequestData>) {
        if self.pool.len() < 1024 {
            r.clear();
            self.pool.push(r);
        }
    }
}

static HTTP: ExtensionKey<Http> = ExtensionKey::new();

/// The server tables of `lp` (made at first use).
#[inline]
pub(crate) fn http(lp: &mut Loop) -> &mut Http {
    lp.keyed_extension(&HTTP, || Http {
        servers: Table::new(),
        conns: Table::new(),
        date: DateCache::default(),
        scratch: Vec::new(),
        batch_spare: Vec::new(),
        pool: Vec::new(),
        exchange_pool: Vec::new(),
        queue_pool: Vec::new(),
        parser_pool: Vec::new(),
    })
}

/// The server tables, for queries (None until a server was made).
#[inline]
pub(crate) fn http_ref(lp: &Loop) -> Option<&Http> {
    lp.keyed_extension_ref(&HTTP)
}

/// Connection `c`, if it is still open.
#[inline]
pub(crate) fn conn(lp: &mut Loop, c: ConnId) -> Option<&mut Conn> {
    http(lp).conns.get_mut(c)
}

/// Exchange `seq` of connection `c`, if both still exist.
#[inline]
pub(crate) fn exchange(lp: &mut Loop, c: ConnId, seq: u64) -> Option<&mut Exchange> {
    find_mut(&mut conn(lp, c)?.exchanges, seq)
}

/// Exchange `seq` of connection `c`, for queries.
#[inline]
pub(crate) fn exchange_ref(lp: &Loop, c: ConnId, seq: u64) -> Option<&Exchange> {
    find(&http_ref(lp)?.conns.get(c)?.exchanges, seq)
}
