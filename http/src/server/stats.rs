//! A server's telemetry, as plain data: the counters it keeps
//! ([`ServerStats`]), why connections closed ([`CloseReason`]), and what
//! [`Server::connections`](super::Server::connections) says about each
//! live connection ([`ConnectionInfo`]).
//!
//! The counters cost one table lookup per request and per response and
//! none per read: byte counts come from the streams (which count anyway),
//! added to the server's totals when a connection closes and summed over
//! the live ones when a snapshot is taken.

use eddy_net::Address;

use crate::parser::ErrorKind;

/// Why a connection closed (or left HTTP), as counted in
/// [`ServerStats::closed`]. The first reason decided wins: a 408 that
/// then lingers for the client's FIN counts as a request timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed its side (between requests, or mid-request).
    Eof,
    /// A read or write failed: a reset, a broken pipe.
    Reset,
    /// `headers_timeout_ms` passed before a request's head was complete.
    HeadersTimeout,
    /// `request_timeout_ms` passed before a request was complete.
    RequestTimeout,
    /// `keep_alive_timeout_ms` passed with no new request.
    KeepAliveTimeout,
    /// The socket idle timeout (`timeout_ms`) passed.
    SocketTimeout,
    /// `send_timeout_ms` passed with no progress on the output.
    SendTimeout,
    /// A closing connection's queued output or the client's FIN did not
    /// come in time.
    LingerTimeout,
    /// A limit: `max_requests_per_socket`, or a request refused as too
    /// large (413, 414, 431).
    Limit,
    /// A request the parser refused (400, 501, 505).
    ParseError,
    /// Keep-alive ended as HTTP says: `Connection: close` from either
    /// side, HTTP/1.0, a response that could not be framed otherwise.
    Graceful,
    /// The server is closing (`close`, `close_idle_connections`).
    ServerClose,
    /// Closed on request: `close_connection`, `close_all_connections`.
    Closed,
    /// Handed over to a CONNECT or Upgrade hook: it left HTTP.
    HandedOff,
}

impl CloseReason {
    /// Every reason, in [`ClosedBy`]'s order.
    pub const ALL: [CloseReason; 14] = [
        CloseReason::Eof,
        CloseReason::Reset,
        CloseReason::HeadersTimeout,
        CloseReason::RequestTimeout,
        CloseReason::KeepAliveTimeout,
        CloseReason::SocketTimeout,
        CloseReason::SendTimeout,
        CloseReason::LingerTimeout,
        CloseReason::Limit,
        CloseReason::ParseError,
        CloseReason::Graceful,
        CloseReason::ServerClose,
        CloseReason::Closed,
        CloseReason::HandedOff,
    ];

    /// A short snake-case name (`keep_alive_timeout`), for metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Eof => "eof",
            CloseReason::Reset => "reset",
            CloseReason::HeadersTimeout => "headers_timeout",
            CloseReason::RequestTimeout => "request_timeout",
            CloseReason::KeepAliveTimeout => "keep_alive_timeout",
            CloseReason::SocketTimeout => "socket_timeout",
            CloseReason::SendTimeout => "send_timeout",
            CloseReason::LingerTimeout => "linger_timeout",
            CloseReason::Limit => "limit",
            CloseReason::ParseError => "parse_error",
            CloseReason::Graceful => "graceful",
            CloseReason::ServerClose => "server_close",
            CloseReason::Closed => "closed",
            CloseReason::HandedOff => "handed_off",
        }
    }

    /// The reason a refusal with `status` closes for.
    pub fn for_refusal(status: u16) -> CloseReason {
        match status {
            408 => CloseReason::RequestTimeout,
            413 | 414 | 431 => CloseReason::Limit,
            _ => CloseReason::ParseError,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Closed connections, counted by [`CloseReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClosedBy {
    counts: [u64; CloseReason::ALL.len()],
}

impl ClosedBy {
    /// How many closed for `reason`.
    pub fn get(&self, reason: CloseReason) -> u64 {
        self.counts[reason.slot()]
    }

    /// All closed, whatever the reason.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Each reason with its count (zeros included), in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (CloseReason, u64)> + '_ {
        CloseReason::ALL.iter().map(|&r| (r, self.get(r)))
    }

    pub(crate) fn count(&mut self, reason: CloseReason) {
        self.counts[reason.slot()] += 1;
    }
}

/// Responses counted by status class (1xx interim responses included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusClasses {
    counts: [u64; 5],
}

impl StatusClasses {
    /// Responses whose status is in `class`xx (1 to 5; others give 0).
    pub fn get(&self, class: u16) -> u64 {
        match class {
            1..=5 => self.counts[usize::from(class - 1)],
            _ => 0,
        }
    }

    /// All responses.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub(crate) fn count(&mut self, status: u16) {
        if let 100..=599 = status {
            self.counts[usize::from(status / 100 - 1)] += 1;
        }
    }
}

/// A server's counters since it was made ([`Server::stats`](super::Server::stats)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections closed (or handed off), by reason.
    pub closed: ClosedBy,
    /// Requests whose head was received.
    pub requests: u64,
    /// Responses begun, by status class; refusals (400, 408, 431, ...)
    /// included.
    pub responses: StatusClasses,
    /// Requests the parser refused, by llhttp error kind (only the kinds
    /// seen, in the order first seen).
    pub parse_errors: Vec<(ErrorKind, u64)>,
    /// Bytes read from clients (closed connections and live ones).
    pub bytes_in: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Requests that arrived while an earlier one on their connection
    /// was still unanswered (pipelined).
    pub pipelined: u64,
    /// The deepest pipeline seen: requests in flight on one connection.
    pub max_pipeline_depth: u64,
    /// Times reading was paused because output reached the high-water
    /// mark.
    pub backpressure_pauses: u64,
    /// Milliseconds connections spent paused for backpressure (summed
    /// over connections; live pauses included up to now).
    pub backpressure_ms: u64,
}

impl ServerStats {
    pub(crate) fn parse_error(&mut self, kind: ErrorKind) {
        match self.parse_errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.parse_errors.push((kind, 1)),
        }
    }
}

/// What a live connection is doing, as
/// [`Server::connections`](super::Server::connections) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Receiving a request's head.
    ReadingHead,
    /// Receiving a request's body.
    ReadingBody,
    /// A request is with its handler: no response byte yet.
    InHandler,
    /// A response is going out (begun, or queued output not yet taken by
    /// the kernel).
    Writing,
    /// Between requests, kept alive.
    Idle,
    /// Closing: our side is shut (or about to be) and it waits for the
    /// client's FIN.
    Lingering,
}

impl ConnectionState {
    /// A short snake-case name (`reading_head`), for JSON and labels.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionState::ReadingHead => "reading_head",
            ConnectionState::ReadingBody => "reading_body",
            ConnectionState::InHandler => "in_handler",
            ConnectionState::Writing => "writing",
            ConnectionState::Idle => "idle",
            ConnectionState::Lingering => "lingering",
        }
    }
}

/// One live connection of a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Its id, for [`Server::close_connection`](super::Server::close_connection).
    pub id: super::ConnectionId,
    /// The client's address (None if the socket cannot tell).
    pub peer: Option<Address>,
    /// What it is doing.
    pub state: ConnectionState,
    /// Responses finished on it.
    pub requests_served: u32,
    /// Requests received and not yet answered in full.
    pub in_flight: usize,
    /// Bytes read from it.
    pub bytes_in: u64,
    /// Bytes written to it.
    pub bytes_out: u64,
    /// Milliseconds since it last received bytes or finished a response.
    pub idle_ms: u64,
    /// Response bytes waiting to go out on it.
    pub queued_output: usize,
}
