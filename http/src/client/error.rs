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
    /// A deadline of the request passed: the connect, the response head,
    /// the whole exchange, or the socket's idle time (when no timeout
    /// callback was set to decide otherwise).
    #[error("{what}: {}", kind.message(*ms))]
    Timeout {
        /// The request.
        what: String,
        /// Which deadline.
        kind: Deadline,
        /// The timeout that passed.
        ms: u64,
    },
    /// The connection closed after part of a response head arrived.
    #[error("{what}: connection closed in the middle of the response head")]
    HeadCut {
        /// The request.
        what: String,
    },
    /// The server sent more interim (1xx) responses, or more bytes of
    /// them, than the request allows.
    #[error("{what}: {limit}")]
    TooMuchInterim {
        /// The request.
        what: String,
        /// Which limit, with its value.
        limit: InterimLimit,
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
            Error::HangUp { .. } | Error::Aborted { .. } | Error::HeadCut { .. } => {
                Some(libc::ECONNRESET)
            }
            Error::Timeout { .. } => Some(libc::ETIMEDOUT),
            _ => None,
        }
    }
}

/// Which of a request's deadlines passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// The connect did not complete.
    Connect,
    /// The final response head did not arrive after the request was sent.
    ResponseHead,
    /// The whole exchange did not end.
    Total,
    /// The socket was idle (no request bytes written, no final head or
    /// body bytes read).
    Idle,
}

impl Deadline {
    /// What did not happen in time ("response head not received within
    /// 30000 ms").
    pub fn message(self, ms: u64) -> String {
        match self {
            Deadline::Connect => format!("connection not established within {ms} ms"),
            Deadline::ResponseHead => format!("response head not received within {ms} ms"),
            Deadline::Total => format!("exchange not complete within {ms} ms (total deadline)"),
            Deadline::Idle => format!("timed out after {ms} ms (socket idle)"),
        }
    }
}

/// Which cap on interim responses was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterimLimit {
    /// More interim responses than this.
    Count(usize),
    /// More bytes of interim heads than this.
    Bytes(usize),
}

impl std::fmt::Display for InterimLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterimLimit::Count(n) => write!(f, "more than {n} interim (1xx) responses"),
            InterimLimit::Bytes(n) => write!(f, "interim (1xx) responses exceed {n} bytes"),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
