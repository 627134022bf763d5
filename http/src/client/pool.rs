//! An Agent's pooling decisions, one pool per destination key: busy and
//! free sockets and a queue of requests waiting for one. These functions
//! only decide and count, on the Agent's record; the exchange carries the
//! decisions out (attaching, opening, closing sockets).
//!
//! A request takes a free socket (LIFO or FIFO), else opens one while the
//! per-key and total limits allow (at the total limit a free socket of
//! another destination is closed to make room), else waits. A socket
//! whose response ended reusable goes to the oldest waiting request, else
//! to the free list, unless that list is full or another destination
//! waits at the total limit: then it is closed. Every socket that leaves
//! the Agent lets waiting requests open new ones.

use super::agent_options::Scheduling;
use super::table::{AgentRecord, ConnId, PoolKey, ReqId};

/// Where a new request's socket comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// This free socket (taken off the free list).
    Reuse(ConnId),
    /// A new one, within the limits.
    Open,
    /// A new one once this free socket of another destination is closed.
    MakeRoom(ConnId),
    /// None now: the request waits in its key's queue.
    Wait,
}

/// Where a socket whose response ended goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// To the oldest waiting request of its key.
    HandTo(ReqId),
    /// Onto the free list (done).
    KeepFree,
    /// Nowhere: close it.
    Close,
}

/// Picks a socket for a request of `key`.
pub(crate) fn choose(a: &mut AgentRecord, key: &PoolKey) -> Choice {
    let (max_sockets, max_total) = (a.opts.max_sockets, a.opts.max_total_sockets);
    let scheduling = a.opts.scheduling;
    let total = a.total;
    // The key is copied only when its pool is made, not per request.
    let pool = a.pools.entry(key.clone()).or_default();
    let free = match scheduling {
        Scheduling::Lifo => pool.free.pop_back(),
        Scheduling::Fifo => pool.free.pop_front(),
    };
    if let Some(c) = free {
        return Choice::Reuse(c);
    }
    if pool.sockets < max_sockets {
        if total < max_total {
            return Choice::Open;
        }
        let elsewhere = a
            .pools
            .iter()
            .filter(|(k, _)| *k != key)
            .find_map(|(_, p)| p.free.front().copied());
        if let Some(victim) = elsewhere {
            return Choice::MakeRoom(victim);
        }
    }
    Choice::Wait
}

/// Queues a request that got [`Choice::Wait`].
pub(crate) fn enqueue(a: &mut AgentRecord, key: &PoolKey, r: ReqId) {
    a.pools.entry(key.clone()).or_default().waiting.push_back(r);
}

/// Counts a socket about to be opened for `key`.
pub(crate) fn count_new(a: &mut AgentRecord, key: &PoolKey) {
    a.total += 1;
    a.created += 1;
    a.pools.entry(key.clone()).or_default().sockets += 1;
}

/// Decides where socket `c` of `key` goes after its response ended.
pub(crate) fn release(a: &mut AgentRecord, key: &PoolKey, c: ConnId) -> Release {
    if !a.opts.keep_alive {
        return Release::Close;
    }
    let at_total = a.total >= a.opts.max_total_sockets;
    let max_free = a.opts.max_free_sockets;
    let others_wait = a
        .pools
        .iter()
        .any(|(k, p)| k != key && !p.waiting.is_empty());
    let Some(pool) = a.pools.get_mut(key) else {
        return Release::Close;
    };
    if let Some(r) = pool.waiting.pop_front() {
        return Release::HandTo(r);
    }
    if (at_total && others_wait) || pool.free.len() >= max_free {
        return Release::Close;
    }
    pool.free.push_back(c);
    Release::KeepFree
}

/// Socket `c` left the Agent (closed, or handed off): it no longer counts.
pub(crate) fn forget(a: &mut AgentRecord, key: &PoolKey, c: ConnId) {
    if let Some(pool) = a.pools.get_mut(key) {
        pool.free.retain(|&f| f != c);
    }
    uncount(a, key);
}

/// A socket counted for `key` is gone (or was never opened).
pub(crate) fn uncount(a: &mut AgentRecord, key: &PoolKey) {
    a.total = a.total.saturating_sub(1);
    if let Some(pool) = a.pools.get_mut(key) {
        pool.sockets = pool.sockets.saturating_sub(1);
        if pool.sockets == 0 && pool.waiting.is_empty() {
            a.pools.remove(key);
        }
    }
}

/// The next waiting request that may open a socket now (taken out of its
/// queue, not yet counted), in queue order within a key.
pub(crate) fn next_to_open(a: &mut AgentRecord) -> Option<(PoolKey, ReqId)> {
    if a.total >= a.opts.max_total_sockets {
        return None;
    }
    let max = a.opts.max_sockets;
    a.pools
        .iter_mut()
        .find(|(_, p)| p.sockets < max && !p.waiting.is_empty())
        .and_then(|(k, p)| Some((k.clone(), p.waiting.pop_front()?)))
}

/// An aborted request leaves the queue it waits in, if any.
pub(crate) fn cancel_waiting(a: &mut AgentRecord, key: &PoolKey, r: ReqId) {
    if let Some(pool) = a.pools.get_mut(key) {
        pool.waiting.retain(|&w| w != r);
        if pool.sockets == 0 && pool.waiting.is_empty() {
            a.pools.remove(key);
        }
    }
}

/// Every waiting request, out of the queues (the Agent is destroyed).
pub(crate) fn take_all_waiting(a: &mut AgentRecord) -> Vec<ReqId> {
    a.pools
        .values_mut()
        .flat_map(|p| p.waiting.drain(..))
        .collect()
}
