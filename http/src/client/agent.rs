//! The Agent: Node's `http.Agent`, a pool of keep-alive connections per
//! destination. The pooling itself (who gets which socket, when one is
//! opened, kept or closed) is in `pool.rs`.

use eddy_loop::Loop;

use super::error::{Error, Result};
use super::table::{client, client_ref, Pools};

/// Which free socket a request takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheduling {
    /// The most recently used (Node's default): few sockets stay warm and
    /// the rest time out.
    #[default]
    Lifo,
    /// The least recently used: load spreads over every free socket.
    Fifo,
}

/// Node's Agent options.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// Keep sockets open between requests (default false, as in Node's
    /// `new Agent()`; the loop's default Agent sets it).
    pub keep_alive: bool,
    /// TCP keep-alive probe delay for free sockets, in ms (default 1000).
    pub keep_alive_msecs: u64,
    /// Sockets per destination (default: no limit).
    pub max_sockets: usize,
    /// Sockets across destinations (default: no limit).
    pub max_total_sockets: usize,
    /// Free sockets kept per destination (default 256).
    pub max_free_sockets: usize,
    pub scheduling: Scheduling,
    /// Close a free socket idle longer than this many ms (0: only the
    /// server's `Keep-Alive: timeout` hint applies).
    pub timeout_ms: u64,
}

impl Default for AgentOptions {
    fn default() -> AgentOptions {
        AgentOptions {
            keep_alive: false,
            keep_alive_msecs: 1000,
            max_sockets: usize::MAX,
            max_total_sockets: usize::MAX,
            max_free_sockets: 256,
            scheduling: Scheduling::Lifo,
            timeout_ms: 0,
        }
    }
}

/// A connection pool on a loop. A `Copy` id: a destroyed Agent's id gives
/// [`Error::Closed`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Agent {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

pub(crate) struct AgentState {
    pub gen: u32,
    pub opts: AgentOptions,
    pub pools: Pools,
    /// Sockets open or connecting, across keys.
    pub total: usize,
    /// TCP (or Unix) connections opened over the Agent's life.
    pub created: u64,
    pub destroyed: bool,
}

pub(crate) fn agent_state(lp: &mut Loop, a: Agent) -> Option<&mut AgentState> {
    client(lp)
        .agents
        .get_mut(a.index as usize)
        .filter(|st| st.gen == a.gen && !st.destroyed)
}

fn agent_ref(lp: &Loop, a: Agent) -> Option<&AgentState> {
    client_ref(lp)?
        .agents
        .get(a.index as usize)
        .filter(|st| st.gen == a.gen && !st.destroyed)
}

impl Agent {
    pub fn new(lp: &mut Loop, opts: AgentOptions) -> Agent {
        let t = client(lp);
        let gen = t.next_gen();
        let index = t.agents.insert(AgentState {
            gen,
            opts,
            pools: Pools::default(),
            total: 0,
            created: 0,
            destroyed: false,
        }) as u32;
        Agent { index, gen }
    }

    /// The loop's default Agent (Node's `http.globalAgent`, with keep-alive
    /// on as since Node 19). Made on first use.
    pub fn global(lp: &mut Loop) -> Agent {
        if let Some(a) = client(lp).global {
            if agent_state(lp, a).is_some() {
                return a;
            }
        }
        let a = Agent::new(
            lp,
            AgentOptions {
                keep_alive: true,
                ..AgentOptions::default()
            },
        );
        client(lp).global = Some(a);
        a
    }

    /// Closes every socket, free or busy (their requests fail with
    /// [`Error::AgentDestroyed`]), and fails requests still waiting.
    pub fn destroy(self, lp: &mut Loop) -> Result<()> {
        agent_state(lp, self).ok_or(Error::Closed("agent"))?;
        super::pool::destroy_agent(lp, self);
        Ok(())
    }

    pub fn options(self, lp: &Loop) -> Option<&AgentOptions> {
        agent_ref(lp, self).map(|st| &st.opts)
    }

    /// Connections this Agent has opened so far.
    pub fn sockets_created(self, lp: &Loop) -> u64 {
        agent_ref(lp, self).map_or(0, |st| st.created)
    }

    /// Sockets open or connecting (busy and free), across destinations.
    pub fn total_sockets(self, lp: &Loop) -> usize {
        agent_ref(lp, self).map_or(0, |st| st.total)
    }

    /// Free (idle, pooled) sockets across destinations.
    pub fn free_sockets(self, lp: &Loop) -> usize {
        agent_ref(lp, self).map_or(0, |st| st.pools.values().map(|p| p.free.len()).sum())
    }

    /// Requests waiting for a socket across destinations.
    pub fn waiting_requests(self, lp: &Loop) -> usize {
        agent_ref(lp, self).map_or(0, |st| st.pools.values().map(|p| p.waiting.len()).sum())
    }
}
