//! What an Agent is configured with: Node's `http.Agent` options and the
//! order in which free sockets are taken.

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
///
/// ```
/// use eddy_http::client::{AgentOptions, Scheduling};
///
/// let opts = AgentOptions {
///     keep_alive: true,
///     max_sockets: 8,
///     scheduling: Scheduling::Fifo,
///     ..AgentOptions::default()
/// };
/// assert_eq!(opts.max_free_sockets, 256);
/// ```
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
    /// Which free socket a request takes (default LIFO, as Node).
    pub scheduling: Scheduling,
    /// Close a free socket idle longer than this many ms (0: only the
    /// server's `Keep-Alive: timeout` hint applies).
    pub timeout_ms: u64,
    /// Default connect timeout of its requests, in ms (default 30000; 0:
    /// none).
    pub connect_timeout_ms: u64,
    /// Default response-head timeout of its requests: from the request
    /// being sent to its final response head, in ms (default 30000; 0:
    /// none).
    pub head_timeout_ms: u64,
    /// Default total deadline of its requests, from `request()` to the
    /// response's end, in ms (default 0: none).
    pub total_timeout_ms: u64,
    /// Default idle timeout of its requests' sockets, in ms, for a request
    /// whose `timeout_ms` is 0 (default 0: none).
    pub idle_timeout_ms: u64,
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
            connect_timeout_ms: 30_000,
            head_timeout_ms: 30_000,
            total_timeout_ms: 0,
            idle_timeout_ms: 0,
        }
    }
}
