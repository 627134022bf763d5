//! eddy-net's error type: what was attempted, on which address, and the OS
//! error ("connect 127.0.0.1:1: Connection refused (os error 111)").

use std::io;

/// Errors returned or delivered by `eddy-net`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket operation on an address failed.
    #[error("{op} {addr}: {source}")]
    Io {
        /// What was attempted ("connect", "accept", "write").
        op: &'static str,
        /// The address (or "socket") it was attempted on.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Name resolution failed (or found no address).
    #[error("resolve {host}: {source}")]
    Resolve {
        /// The name that was looked up.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// The connect did not finish within the connect timeout.
    #[error("connect {addr}: timed out after {ms} ms")]
    ConnectTimeout {
        /// The address being tried.
        addr: String,
        /// The timeout that passed.
        ms: u64,
    },
    /// The stream or listener is closed (or its id is stale).
    #[error("{0} is closed")]
    Closed(&'static str),
    /// A write after `shutdown` or `end`.
    #[error("write after end")]
    WriteAfterEnd,
    /// The stream was closed before this request completed.
    #[error("operation cancelled: the stream was closed")]
    Cancelled,
    /// The operation needs a connected stream.
    #[error("stream is not connected")]
    NotConnected,
    /// An invalid address string or option.
    #[error("invalid address {0:?}")]
    InvalidAddress(String),
    /// The loop refused something (a timer, a watcher, the work pool).
    #[error(transparent)]
    Loop(#[from] eddy_loop::Error),
}

impl Error {
    pub(crate) fn io(op: &'static str, addr: impl ToString, source: io::Error) -> Error {
        Error::Io {
            op,
            addr: addr.to_string(),
            source,
        }
    }

    /// The errno behind this error, if it came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } | Error::Resolve { source, .. } => source.raw_os_error(),
            Error::ConnectTimeout { .. } => Some(libc::ETIMEDOUT),
            Error::Cancelled => Some(libc::ECANCELED),
            Error::Loop(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
