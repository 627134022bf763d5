//! The client layer's tables, kept inside the loop as an extension:
//! requests, connections and Agents, each a slab addressed by `Copy` ids
//! with a generation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use eddy_loop::{ExtensionKey, Loop};
use slab::Slab;

use super::agent::{Agent, AgentState};
use super::conn::ConnState;
use super::request::{ClientRequest, ReqState};
use super::response::ResState;

pub(crate) struct Client {
    pub reqs: Slab<ReqState>,
    pub conns: Slab<ConnState>,
    pub agents: Slab<AgentState>,
    /// The loop's default Agent, made on first use.
    pub global: Option<Agent>,
    /// Response records (with their header buffers) reused from request
    /// to request; boxed as requests hold them, so reuse moves a pointer.
    #[allow(clippy::vec_box)]
    pub res_pool: Vec<Box<ResState>>,
    next_gen: u32,
}

impl Client {
    pub fn next_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        self.next_gen
    }

    pub fn take_res(&mut self) -> Box<ResState> {
        self.res_pool.pop().unwrap_or_default()
    }

    pub fn recycle_res(&mut self, mut res: Box<ResState>) {
        if self.res_pool.len() < 256 {
            res.clear();
            self.res_pool.push(res);
        }
    }

    pub fn req(&mut self, r: ClientRequest) -> Option<&mut ReqState> {
        self.reqs
            .get_mut(r.index as usize)
            .filter(|st| st.gen == r.gen)
    }
}

static CLIENT: ExtensionKey<Client> = ExtensionKey::new();

pub(crate) fn client(lp: &mut Loop) -> &mut Client {
    lp.keyed_extension(&CLIENT, || Client {
        reqs: Slab::new(),
        conns: Slab::new(),
        agents: Slab::new(),
        global: None,
        res_pool: Vec::new(),
        next_gen: 0,
    })
}

pub(crate) fn client_ref(lp: &Loop) -> Option<&Client> {
    lp.keyed_extension_ref(&CLIENT)
}

/// An Agent's pools by key. Keys are few and short and come from the
/// program, not the network: FNV-1a instead of SipHash (looked up twice per
/// request).
pub(crate) type Pools = HashMap<PoolKey, super::pool::Pool, BuildHasherDefault<Fnv>>;

/// A destination's pool key, shared by its pool, its requests and its
/// connections (a clone is a count, not a copy).
pub(crate) type PoolKey = std::rc::Rc<str>;

#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
