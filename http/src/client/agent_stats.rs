//! An Agent's socket counters ([`AgentStats`]), as plain data: kept on
//! its record by the pool's decisions, read with
//! [`Agent::stats`](super::Agent::stats).

/// What an Agent did with its sockets since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    /// Sockets opened.
    pub created: u64,
    /// Requests that went out on a pooled socket.
    pub reused: u64,
    /// Pooled sockets passed over because the reuse check found them
    /// closed by the server, or with bytes nobody asked for.
    pub stale: u64,
    /// Requests sent again on a fresh socket after a reused one failed
    /// before any response byte (idempotent requests, once).
    pub retried: u64,
    /// Sockets that left the Agent: closed, or handed off.
    pub closed: u64,
}
