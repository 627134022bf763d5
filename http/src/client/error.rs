//! The client's error type: what was attempted and what went wrong
//! ("GET 127.0.0.1:8080/: socket hang up").

use crate::parser::ParseError;

/// Errors from the HTTP client and Agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A header name that is not a token, or a value with CR, LF or NUL.
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// A method that is not a token.
    #[error("invalid method {0:?}")]
    InvalidMethod(String),
    /// A path with spaces or control characters, or a URL eddy cannot use.
    #[error("invalid url {0:?}")]
    InvalidUrl(String),
    /// `write` or `end` after `end`.
    #[error("write after end")]
    WriteAfterEnd,
    /// The headers were already sent: they can no longer change.
    #[error("headers already sent")]
    HeadersSent,
    /// A write would pass the declared `Content-Length` (Node's
    /// `strictContentLength`, always on): refused, none of it sent.
    #[error(transparent)]
    ContentLengthExceeded(#[from] crate::h1::Overrun),
    /// `end` came short of the declared `Content-Length`: the request is
    /// over as sent; its socket closes after those bytes (never reused).
    #[error(transparent)]
    ContentLengthShort(#[from] crate::h1::Short),
    /// The request, response or Agent is gone (its `close` ran, or it was
    /// destroyed): what every action on a stale handle returns.
    #[error("{0} is closed")]
    Closed(&'static str),
    /// The connection closed before any byte of a response arrived
    /// (Node's ECONNRESET "socket hang up").
    #[error("{what}: socket hang up")]
    HangUp {
        /// The request, as "GET 127.0.0.1:8080/path".
        what: String,
    },
    /// The connection closed (or failed) in the middle of a response body:
    /// the body is incomplete.
    #[error("{what}: response aborted mid-body")]
    Aborted {
        /// The request.
        what: String,
    },
    /// The response could not be parsed (an invalid status line, say).
    #[error("{what}: invalid response: {source}")]
    Parse {
        /// The request.
        what: String,
        /// What the parser found wrong, and where.
        #[source]
        source: ParseError,
    },
    /// The server broke the protocol in a way the parser cannot see (a 101
    /// nobody asked for).
    #[error("{what}: {reason}")]
    Protocol {
        /// The request.
        what: String,
        /// What the server did wrong.
        reason: &'static str,
    },
    /// The socket was idle longer than the request's `timeout`, and no
    /// timeout callback was set to decide otherwise.
    #[error("{what}: timed out after {ms} ms")]
    Timeout {
        /// The request.
        what: String,
        /// The timeout that passed.
        ms: u64,
    },
    /// `abort()` was called.
    #[error("{what}: request aborted")]
    Cancelled {
        /// The request.
        what: String,
    },
    /// The Agent was destroyed while the request waited or ran.
    #[error("{what}: agent destroyed")]
    AgentDestroyed {
        /// The request.
        what: String,
    },
    /// Connecting or writing failed (it says which address and why).
    #[error("{what}: {source}")]
    Net {
        /// The request.
        what: String,
        /// The socket's error, with its errno and address.
        #[source]
        source: eddy_net::Error,
    },
    /// The loop refused (a stale handle below the client, say).
    #[error(transparent)]
    Loop(#[from] eddy_loop::Error),
}

impl Error {
    /// The errno behind this error, when there is one (ECONNRESET for a hang-up).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Net { source, .. } => source.raw_os_error(),
            Error::HangUp { .. } | Error::Aborted { .. } => Some(libc::ECONNRESET),
            Error::Timeout { .. } => Some(libc::ETIMEDOUT),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
