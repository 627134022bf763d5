//! The loop's error type: what was attempted, and the OS error if there was one.

use std::io;

/// Errors returned by `eddy-loop`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A syscall failed; `op` says what the loop was doing.
    #[error("{op}: {source}")]
    Os {
        /// What the loop was doing ("epoll_ctl add fd 7").
        op: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The handle was closed (or its slot reused by another handle).
    #[error("{0} handle is closed")]
    Closed(&'static str),
    /// `Timer::again` on a timer that was never started.
    #[error("timer was never started: start it before calling again")]
    TimerNotStarted,
    /// The work item is running or finished and can no longer be cancelled.
    #[error("work item already started or finished: it cannot be cancelled")]
    WorkBusy,
    /// The signal number cannot be watched (out of range, or SIGKILL/SIGSTOP).
    #[error("signal {0} cannot be watched")]
    InvalidSignal(i32),
    /// The work pool could not start its threads.
    #[error("start work pool thread: {0}")]
    WorkPool(#[source] io::Error),
}

impl Error {
    pub(crate) fn os(op: impl Into<String>, source: io::Error) -> Error {
        Error::Os {
            op: op.into(),
            source,
        }
    }

    /// The errno behind this error, if it came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } | Error::WorkPool(source) => source.raw_os_error(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
