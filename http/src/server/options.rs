//! Server options, with Node's `http.Server` defaults.

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
            timeout_ms: 0,
            max_header_size: 16 * 1024,
            max_headers_count: 100,
            max_url_len: 8 * 1024,
            max_body_size: None,
            max_requests_per_socket: 0,
            high_water_mark: 64 * 1024,
            lenient: Lenient::NONE,
            allow_half_open: false,
        }
    }
}
