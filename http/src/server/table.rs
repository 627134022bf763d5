//! The server layer's tables, kept inside the loop as an extension.

use eddy_loop::{ExtensionKey, Loop};
use slab::Slab;

use super::conn::{Conn, ConnId};
use super::date::DateCache;
use std::collections::VecDeque;

use super::exchange::{Exchange, RequestData};
use super::headers::HeaderList;
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
    /// Request records reused from request to request.
    pub pool: Vec<RequestData>,
    /// Response header lists, likewise.
    pub header_pool: Vec<HeaderList>,
    /// Exchange queues of idle connections.
    pub queue_pool: Vec<VecDeque<Exchange>>,
}

impl Http {
    /// Connection `c`, if it is still open.
    #[inline]
    pub fn conn_mut(&mut self, c: ConnId) -> Option<&mut Conn> {
        self.conns
            .get_mut(c.index as usize)
            .filter(|cn| cn.gen == c.gen)
    }

    pub fn next_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        self.next_gen
    }

    pub fn take_request(&mut self) -> RequestData {
        self.pool.pop().unwrap_or_default()
    }

    pub fn recycle_queue(&mut self, mut q: VecDeque<Exchange>) {
        if q.capacity() > 0 && self.queue_pool.len() < 256 {
            q.clear();
            self.queue_pool.push(q);
        }
    }

    pub fn recycle_headers(&mut self, mut h: HeaderList) {
        if self.header_pool.len() < 1024 {
            h.clear();
            self.header_pool.push(h);
        }
    }

    pub fn recycle(&mut self, mut r: RequestData) {
        if self.pool.len() < 1024 {
            r.clear();
            self.pool.push(r);
        }
    }
}

static HTTP: ExtensionKey = ExtensionKey::new();

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
        header_pool: Vec::new(),
        queue_pool: Vec::new(),
    })
}

pub(crate) fn http_ref(lp: &Loop) -> Option<&Http> {
    lp.keyed_extension_ref(&HTTP)
}
