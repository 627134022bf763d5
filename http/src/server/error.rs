//! The server's error type.

/// Errors from the HTTP server API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A header name that is not a token, or a value with CR, LF or NUL:
    /// refused, never written (no response splitting).
    #[error("invalid header {0:?}")]
    InvalidHeader(String),
    /// The status code is outside 100..=999.
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// A reason phrase with CR, LF or another control byte: refused.
    #[error("invalid status message {0:?}")]
    InvalidStatusMessage(String),
    /// `write` or `end` after `end`.
    #[error("write after end")]
    WriteAfterEnd,
    /// A write would pass the declared `Content-Length` (Node's
    /// `strictContentLength`, always on): refused, none of it sent.
    #[error(transparent)]
    ContentLengthExceeded(#[from] crate::h1::Overrun),
    /// `end` came short of the declared `Content-Length`: the response is
    /// over as sent, its `on_close` hears `false`, and the connection
    /// closes after it (never reused).
    #[error(transparent)]
    ContentLengthShort(#[from] crate::h1::Short),
    /// The head was already sent: status and headers can no longer change.
    #[error("headers already sent")]
    HeadersSent,
    /// The request, response or server is gone (the connection closed).
    #[error("{0} is closed")]
    Closed(&'static str),
    /// A socket operation failed (listen, accept, write).
    #[error(transparent)]
    Net(#[from] eddy_net::Error),
    /// A loop operation failed (a timer, a handle).
    #[error(transparent)]
    Loop(#[from] eddy_loop::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
