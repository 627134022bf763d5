//! An Agent's pools, one per destination key: busy and free sockets and a
//! queue of requests waiting for one.
//!
//! A request takes a free socket (LIFO or FIFO), else opens one while the
//! per-key and total limits allow, else waits. A socket whose response
//! ended reusable goes to the oldest waiting request, else to the free
//! list, unless that list is full or another destination waits for the
//! total limit: then it is closed. Every socket that leaves the Agent
//! (closed, or handed off by CONNECT/Upgrade) lets waiting requests open
//! new ones.

use std::collections::VecDeque;

use eddy_loop::Loop;

use super::agent::{agent_state, Agent, Scheduling};
use super::conn::{self, ConnId};
use super::error::Error;
use super::finish;
use super::request::state;
use super::request::ClientRequest;
use super::table::{client, PoolKey};

#[derive(Default)]
pub(crate) struct Pool {
    /// Sockets of this key, busy or free (connecting ones included).
    pub sockets: usize,
    pub free: VecDeque<ConnId>,
    pub waiting: VecDeque<ClientRequest>,
}

/// Gives `r` a socket now, or queues it.
pub(crate) fn add_request(lp: &mut Loop, a: Agent, r: ClientRequest, key: &PoolKey) {
    let Some(st) = agent_state(lp, a) else {
        return finish::fail(lp, r, |what| Error::AgentDestroyed { what });
    };
    let (max_sockets, max_total, scheduling) = (
        st.opts.max_sockets,
        st.opts.max_total_sockets,
        st.opts.scheduling,
    );
    let total = st.total;
    // The key is copied only when its pool is made, not per request.
    let pool = st.pools.entry(key.clone()).or_default();
    let free = match scheduling {
        Scheduling::Lifo => pool.free.pop_back(),
        Scheduling::Fifo => pool.free.pop_front(),
    };
    if let Some(c) = free {
        return conn::attach(lp, r, c, true);
    }
    if pool.sockets < max_sockets {
        if total < max_total {
            return open(lp, a, r, key);
        }
        // At the total limit: a free socket of another destination makes room.
        if let Some(victim) = free_elsewhere(lp, a, key) {
            conn::destroy_quietly(lp, victim);
            return open(lp, a, r, key);
        }
    }
    if let Some(st) = agent_state(lp, a) {
        st.pools
            .entry(key.clone())
            .or_default()
            .waiting
            .push_back(r);
    }
}

fn free_elsewhere(lp: &mut Loop, a: Agent, key: &PoolKey) -> Option<ConnId> {
    let st = agent_state(lp, a)?;
    st.pools
        .iter()
        .filter(|(k, _)| *k != key)
        .find_map(|(_, p)| p.free.front().copied())
}

/// Opens a socket of `key` for `r`, counted against the limits.
fn open(lp: &mut Loop, a: Agent, r: ClientRequest, key: &PoolKey) {
    if state(lp, r).is_err() {
        return;
    }
    if let Some(st) = agent_state(lp, a) {
        st.total += 1;
        st.created += 1;
        st.pools.entry(key.clone()).or_default().sockets += 1;
    }
    conn::open(lp, r, Some((a, key.clone())));
}

/// Opens a fresh socket for a retried request, outside the queue (its
/// failed socket just freed the room).
pub(crate) fn open_fresh(lp: &mut Loop, a: Agent, r: ClientRequest, key: &PoolKey) {
    open(lp, a, r, key)
}

/// A socket's response ended and it may carry another request.
pub(crate) fn release(lp: &mut Loop, c: ConnId) {
    let Some((a, key)) = conn::agent_of(lp, c) else {
        return conn::destroy_quietly(lp, c);
    };
    let Some(st) = agent_state(lp, a) else {
        return conn::destroy_quietly(lp, c);
    };
    if !st.opts.keep_alive {
        return conn::destroy_quietly(lp, c);
    }
    let at_total = st.total >= st.opts.max_total_sockets;
    let max_free = st.opts.max_free_sockets;
    let others_wait = st
        .pools
        .iter()
        .any(|(k, p)| *k != key && !p.waiting.is_empty());
    let Some(pool) = st.pools.get_mut(&key) else {
        return conn::destroy_quietly(lp, c);
    };
    if let Some(r) = pool.waiting.pop_front() {
        return conn::attach(lp, r, c, true);
    }
    if (at_total && others_wait) || pool.free.len() >= max_free {
        return conn::destroy_quietly(lp, c);
    }
    pool.free.push_back(c);
    let (msecs, timeout) = (st.opts.keep_alive_msecs, st.opts.timeout_ms);
    conn::make_free(lp, c, msecs, timeout);
}

/// A socket left the Agent (closed, or handed off): it no longer counts,
/// and waiting requests may open new ones.
pub(crate) fn forget(lp: &mut Loop, a: Agent, key: &PoolKey, c: ConnId) {
    let Some(st) = agent_state(lp, a) else { return };
    st.total = st.total.saturating_sub(1);
    if let Some(pool) = st.pools.get_mut(key) {
        pool.sockets = pool.sockets.saturating_sub(1);
        pool.free.retain(|&f| f != c);
        if pool.sockets == 0 && pool.waiting.is_empty() {
            st.pools.remove(key);
        }
    }
    process_waiting(lp, a);
}

/// Opens sockets for waiting requests while the limits allow, in queue
/// order within a key.
fn process_waiting(lp: &mut Loop, a: Agent) {
    loop {
        let Some(st) = agent_state(lp, a) else { return };
        if st.total >= st.opts.max_total_sockets {
            return;
        }
        let max = st.opts.max_sockets;
        let next = st
            .pools
            .iter_mut()
            .find(|(_, p)| p.sockets < max && !p.waiting.is_empty())
            .and_then(|(k, p)| Some((k.clone(), p.waiting.pop_front()?)));
        let Some((key, r)) = next else { return };
        open(lp, a, r, &key);
    }
}

/// An aborted request leaves the queue it waits in, if any.
pub(crate) fn cancel_waiting(lp: &mut Loop, a: Agent, key: &PoolKey, r: ClientRequest) {
    let Some(st) = agent_state(lp, a) else { return };
    if let Some(pool) = st.pools.get_mut(key) {
        pool.waiting.retain(|&w| w != r);
        if pool.sockets == 0 && pool.waiting.is_empty() {
            st.pools.remove(key);
        }
    }
}

pub(crate) fn destroy_agent(lp: &mut Loop, a: Agent) {
    let waiting: Vec<ClientRequest> = match agent_state(lp, a) {
        Some(st) => st
            .pools
            .values_mut()
            .flat_map(|p| p.waiting.drain(..))
            .collect(),
        None => return,
    };
    let conns: Vec<ConnId> = conn::all_of_agent(lp, a);
    if let Some(st) = client(lp).agents.get_mut(a.index as usize) {
        st.destroyed = true;
    }
    for r in waiting {
        finish::fail(lp, r, |what| Error::AgentDestroyed { what });
    }
    for c in conns {
        // A request whose response already ended (destroy called from its
        // `on_end`) has nothing left to fail.
        let running = conn::request_of(lp, c).filter(|&r| !finish::response_ended(lp, r));
        match running {
            Some(r) => finish::fail(lp, r, |what| Error::AgentDestroyed { what }),
            None => conn::destroy_quietly(lp, c),
        }
    }
    if client(lp).global == Some(a) {
        client(lp).global = None;
    }
    client(lp).agents.remove(a.index as usize);
}
