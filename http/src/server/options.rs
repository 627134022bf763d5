//! Server options, with Node's `http.Server` defaults.

use super::progress::MinBodyRate;
use crate::parser::Lenient;

/// How a [`Server`](super::Server) behaves.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Time from a request's first byte to the end of its headers (408).
    pub headers_timeout_ms: u64,
    /// Time from a request's first byte to the end of its body (408).
    pub request_timeout_ms: u64,
    /// Idle time between requests on a keep-alive connection; then it is
    /// closed. Advertised as `Keep-Alive: timeout=N`. 0 disables keep-alive.
    pub keep_alive_timeout_ms: u64,
    /// Output that makes no progress for this long (queued bytes the peer
    /// does not take) closes the connection: nginx's `send_timeout`
    /// (0: off). A stall is caught within 1.25 times this.
    pub send_timeout_ms: u64,
    /// The opt-in minimum request-body rate: a body that brings less than
    /// its floor over a window (after its grace period) is refused with
    /// 408. Windows in which the server held reading back do not count.
    pub min_body_rate: Option<MinBodyRate>,
    /// Socket idle timeout (0: off): a connection with no traffic for this
    /// long is closed.
    pub timeout_ms: u64,
    /// Total bytes of a request's start line and headers (431).
    pub max_header_size: usize,
    /// Number of header lines (431).
    pub max_headers_count: usize,
    /// Request-target length (414).
    pub max_url_len: usize,
    /// Request body limit, if any (413).
    pub max_body_size: Option<u64>,
    /// Requests served on one connection before it is closed (0: no limit).
    pub max_requests_per_socket: u32,
    /// A request body that its response (finished first) left unread is
    /// read and discarded up to this many bytes, keeping the connection
    /// (Node drains it too); a longer one closes the connection. A GET or
    /// HEAD body longer than this closes it as well.
    pub max_drain_bytes: u64,
    /// A request asking for an Upgrade that no `on_upgrade` hook takes is
    /// served as an ordinary request. By default (false) its response says
    /// `Connection: close` and nothing after it is parsed, as llhttp stops
    /// there (a proxy may already be tunnelling what follows). True keeps
    /// RFC 9110's "ignore the Upgrade and go on" (section 7.8).
    pub continue_after_ignored_upgrade: bool,
    /// Output buffered per connection before reading pauses.
    pub high_water_mark: usize,
    /// The parser's opt-in leniencies (strict by default).
    pub lenient: Lenient,
    /// Node's `httpAllowHalfOpen`. When false (the default), a client's
    /// FIN drops the responses not yet finished (their `on_close` hears
    /// `false`), and the connection closes after what is queued. When
    /// true, the responses still go out.
    pub allow_half_open: bool,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            headers_timeout_ms: 60_000,
            request_timeout_ms: 300_000,
            keep_alive_timeout_ms: 5_000,
            send_timeout_ms: 60_000,
            min_body_rate: None,
            timeout_ms: 0,
            max_header_size: 16 * 1024,
            max_headers_count: 100,
            max_url_len: 8 * 1024,
            max_body_size: None,
            max_requests_per_socket: 0,
            max_drain_bytes: 64 * 1024,
            continue_after_ignored_upgrade: false,
            high_water_mark: 64 * 1024,
            lenient: Lenient::NONE,
            allow_half_open: false,
        }
    }
}
