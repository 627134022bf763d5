//! The server layer's tables, kept inside the loop as an extension.

use eddy_loop::{ExtensionKey, Loop};
use slab::Slab;

use super::conn::{Conn, ConnId};
use super::date::DateCache;
use super::exchange::{Exchange, Queue, RequestData};
use super::server::ServerState;

pub(crate) struct Http {
    pub servers: Slab<ServerState>,
    pub conns: Slab<Conn>,
    next_gen: u32,
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
}

impl Http {
    /// Connection `c`, if it is still open.
    #[inline]
    pub fn conn_mut(&mut self, c: ConnId) -> Option<&mut Conn> {
        conn_in(&mut self.conns, c)
    }

    pub fn next_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        self.next_gen
    }

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

    pub fn recycle(&mut self, mut r: Box<RequestData>) {
        if self.pool.len() < 1024 {
            r.clear();
            self.pool.push(r);
        }
    }
}

static HTTP: ExtensionKey<Http> = ExtensionKey::new();

#[inline]
pub(crate) fn http(lp: &mut Loop) -> &mut Http {
    lp.keyed_extension(&HTTP, || Http {
        servers: Slab::new(),
        conns: Slab::new(),
        next_gen: 0,
        date: DateCache::default(),
        scratch: Vec::new(),
        batch_spare: Vec::new(),
        pool: Vec::new(),
        exchange_pool: Vec::new(),
        queue_pool: Vec::new(),
    })
}

pub(crate) fn http_ref(lp: &Loop) -> Option<&Http> {
    lp.keyed_extension_ref(&HTTP)
}

/// The live connection `c` in `conns` (a stale id finds nothing). Takes the
/// slab, not the table, so callers can hold other fields of the table too.
#[inline]
pub(crate) fn conn_in(conns: &mut Slab<Conn>, c: ConnId) -> Option<&mut Conn> {
    conns.get_mut(c.index as usize).filter(|cn| cn.gen == c.gen)
}
