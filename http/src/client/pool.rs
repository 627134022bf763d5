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
    a.stats.created += 1;
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
    a.stats.closed += 1;
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

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;

    use eddy_loop::{Loop, Table};
    use eddy_net::Stream;

    use super::super::agent_options::AgentOptions;
    use super::super::clock::{Clock, Limits};
    use super::super::output::Output;
    use super::super::table::{
        Callbacks, Connection, Interim, Link, Pools, Replay, Request, StatusLine,
    };
    use super::super::target::{Destination, Target};
    use super::*;

    fn agent(opts: AgentOptions) -> AgentRecord {
        AgentRecord {
            opts,
            pools: Pools::default(),
            total: 0,
            stats: Default::default(),
            referenced: true,
        }
    }

    fn request(key: &PoolKey) -> Request {
        let dest = Destination {
            host: "h".into(),
            port: 80,
            socket_path: None,
            local_address: None,
            family: None,
        };
        let target = Target::new("GET".into(), "/".into(), dest, Vec::new(), true, false);
        Request {
            target: Box::new(target.unwrap()),
            clock: Clock::new(
                Limits {
                    connect_ms: 0,
                    head_ms: 0,
                    total_ms: 0,
                    idle_ms: 0,
                },
                0,
            ),
            timer: None,
            interim: Interim::default(),
            status_line: StatusLine::Strict,
            continue_timeout_ms: 1000,
            continue_timer: None,
            agent: None,
            key: key.clone(),
            out: Output::default(),
            link: Link::Waiting,
            reused: false,
            replay: Replay::Off,
            res: None,
            cbs: Callbacks::default(),
        }
    }

    #[test]
    fn limits_queues_and_release() {
        let mut lp = Loop::new().unwrap();
        let key = PoolKey::from("h:80:::");
        let other = PoolKey::from("g:80:::");
        let mut reqs = Table::new();
        let r: Vec<ReqId> = (0..3).map(|_| reqs.insert(request(&key))).collect();
        let mut conns = Table::new();
        let c: Vec<ConnId> = (0..2)
            .map(|_| {
                let (a, _b) = UnixStream::pair().unwrap();
                let s = Stream::from_fd(&mut lp, OwnedFd::from(a)).unwrap();
                conns.insert(Connection::new(s, None, false, r[0]))
            })
            .collect();
        let mut a = agent(AgentOptions {
            keep_alive: true,
            max_sockets: 2,
            max_total_sockets: 2,
            max_free_sockets: 1,
            ..AgentOptions::default()
        });
        assert_eq!(choose(&mut a, &key), Choice::Open);
        count_new(&mut a, &key);
        assert_eq!(choose(&mut a, &key), Choice::Open);
        count_new(&mut a, &key);
        assert_eq!(choose(&mut a, &key), Choice::Wait);
        enqueue(&mut a, &key, r[2]);
        assert_eq!((a.total, a.stats.created), (2, 2));
        // The first socket to come back goes to the waiting request, the
        // next to the free list, and a free socket is reused.
        assert_eq!(release(&mut a, &key, c[0]), Release::HandTo(r[2]));
        assert_eq!(release(&mut a, &key, c[1]), Release::KeepFree);
        assert_eq!(choose(&mut a, &key), Choice::Reuse(c[1]));
        // A full free list closes the socket.
        assert_eq!(release(&mut a, &key, c[1]), Release::KeepFree);
        assert_eq!(release(&mut a, &key, c[0]), Release::Close);
        // At the total limit another destination makes room with a free
        // socket, and waits when there is none.
        assert_eq!(choose(&mut a, &other), Choice::MakeRoom(c[1]));
        forget(&mut a, &key, c[1]);
        forget(&mut a, &key, c[0]);
        assert_eq!((a.total, a.pools.contains_key(&key)), (0, false));
        enqueue(&mut a, &other, r[1]);
        assert_eq!(next_to_open(&mut a), Some((other.clone(), r[1])));
        assert_eq!(next_to_open(&mut a), None);
        cancel_waiting(&mut a, &other, r[1]);
        assert!(take_all_waiting(&mut a).is_empty());
        a.opts.keep_alive = false;
        assert_eq!(release(&mut a, &other, c[0]), Release::Close);
    }
}
