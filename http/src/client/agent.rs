//! The Agent's public API (Node's `http.Agent`): a pool of keep-alive
//! connections per destination. Who gets which socket, and when one is
//! opened, kept or closed, is decided in `pool.rs` and carried out by the
//! exchange.

use super::agent_stats::AgentStats;
use eddy_loop::Loop;

use super::agent_options::AgentOptions;
use super::error::{Error, Result};
use super::exchange;
use super::handles::Agent;
use super::table::{agent, agent_ref, client, AgentRecord, Pools, Use};

impl Agent {
    /// A new Agent on this loop.
    pub fn new(lp: &mut Loop, opts: AgentOptions) -> Agent {
        let id = client(lp).agents.insert(AgentRecord {
            opts,
            pools: Pools::default(),
            total: 0,
            stats: AgentStats::default(),
            referenced: true,
        });
        Agent { id }
    }

    /// The loop's default Agent (Node's `http.globalAgent`, with keep-alive
    /// on as since Node 19). Made on first use, and again after it was
    /// destroyed.
    pub fn global(lp: &mut Loop) -> Agent {
        if let Some(id) = client(lp).global {
            if agent(lp, id).is_some() {
                return Agent { id };
            }
        }
        let a = Agent::new(
            lp,
            AgentOptions {
                keep_alive: true,
                ..AgentOptions::default()
            },
        );
        client(lp).global = Some(a.id);
        a
    }

    /// Closes every socket, free or busy (their requests fail with
    /// [`Error::AgentDestroyed`]), and fails requests still waiting. The
    /// id is stale afterwards.
    pub fn destroy(self, lp: &mut Loop) -> Result<()> {
        agent(lp, self.id).ok_or_else(|| Error::Closed("agent"))?;
        exchange::destroy_agent(lp, self.id);
        Ok(())
    }

    /// Whether the Agent exists (it was not destroyed).
    pub fn is_active(self, lp: &Loop) -> bool {
        agent_ref(lp, self.id).is_some()
    }

    /// The options it was made with.
    pub fn options(self, lp: &Loop) -> Option<&AgentOptions> {
        agent_ref(lp, self.id).map(|st| &st.opts)
    }

    /// Connections this Agent has opened so far.
    pub fn sockets_created(self, lp: &Loop) -> u64 {
        agent_ref(lp, self.id).map_or(0, |st| st.stats.created)
    }

    /// Its socket counters: created, reused, passed over as stale,
    /// retried, closed (None for an Agent destroyed).
    pub fn stats(self, lp: &Loop) -> Option<AgentStats> {
        agent_ref(lp, self.id).map(|st| st.stats)
    }

    /// Sockets open or connecting (busy and free), across destinations.
    pub fn total_sockets(self, lp: &Loop) -> usize {
        agent_ref(lp, self.id).map_or(0, |st| st.total)
    }

    /// Free (idle, pooled) sockets across destinations.
    pub fn free_sockets(self, lp: &Loop) -> usize {
        agent_ref(lp, self.id).map_or(0, |st| st.pools.values().map(|p| p.free.len()).sum())
    }

    /// Requests waiting for a socket across destinations.
    pub fn waiting_requests(self, lp: &Loop) -> usize {
        agent_ref(lp, self.id).map_or(0, |st| st.pools.values().map(|p| p.waiting.len()).sum())
    }

    /// Whether the Agent's busy sockets keep `Loop::run` going (the
    /// default). Free sockets never do.
    pub fn has_ref(self, lp: &Loop) -> bool {
        agent_ref(lp, self.id).is_some_and(|st| st.referenced)
    }

    /// Lets the loop end while requests through this Agent still run (as
    /// `unref` on each of their sockets, in Node).
    pub fn unref(self, lp: &mut Loop) -> Result<()> {
        self.set_ref(lp, false)
    }

    /// Undoes [`unref`](Self::unref): busy sockets keep the loop running.
    pub fn ref_(self, lp: &mut Loop) -> Result<()> {
        self.set_ref(lp, true)
    }

    fn set_ref(self, lp: &mut Loop, on: bool) -> Result<()> {
        agent(lp, self.id)
            .ok_or_else(|| Error::Closed("agent"))?
            .referenced = on;
        let busy: Vec<_> = client(lp)
            .conns
            .iter()
            .filter(|(_, cn)| {
                cn.state != Use::Free && cn.agent.as_ref().is_some_and(|(a, _)| *a == self.id)
            })
            .map(|(_, cn)| cn.stream)
            .collect();
        for s in busy {
            let _ = if on { s.ref_(lp) } else { s.unref(lp) };
        }
        Ok(())
    }
}
