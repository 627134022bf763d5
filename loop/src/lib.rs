//! eddy-loop: a libuv-style, single-threaded event loop over epoll.
//!
//! A [`Loop`] owns the state of every handle in slabs; a handle ([`Timer`],
//! [`Idle`], [`Prepare`], [`Check`], [`Io`], [`Async`], [`Signal`]) is a small
//! `Copy` id with a generation, so a stale id gives [`Error::Closed`] rather
//! than reaching another handle. Callbacks receive `&mut Loop` and may start,
//! stop or close any handle, their own included.
//!
//! One iteration of [`Loop::run`] runs, in order: due timers, pending
//! callbacks, idle, prepare, poll for I/O, check, close callbacks.
//!
//! ```
//! use eddy_loop::{Handle, Loop, RunMode, Timer};
//!
//! let mut lp = Loop::new()?;
//! let timer = Timer::new(&mut lp);
//! timer.start(&mut lp, 5, 0, |lp, t| {
//!     println!("fired at {} ms", lp.now());
//!     t.close(lp, |_| println!("closed")).unwrap();
//! })?;
//! lp.run(RunMode::Default);
//! # Ok::<(), eddy_loop::Error>(())
//! ```

mod async_handle;
mod error;
mod event_loop;
mod fs;
mod handle;
mod io;
pub mod memory;
mod phase;
mod poll;
mod signal;
mod sys;
mod table;
mod timeout;
mod timer;
mod timer_heap;
mod wake;
mod work;

pub use async_handle::{Async, AsyncSender};
pub use error::{Error, Result};
pub use event_loop::{ExtensionKey, Loop, RunMode};
pub use fs::{open_blocking, FileError, FileInfo, FileKind, OpenFileOptions, OpenedFile};
pub use handle::{Handle, HandleId};
pub use io::{Interest, Io, Ready};
pub use phase::{Check, Idle, Prepare};
pub use signal::Signal;
pub use table::{Id, Table};
pub use timeout::TimeoutId;
pub use timer::Timer;
pub use work::{WorkError, WorkHandle};

/// Helpers for the `sys` modules of the layers above: -1 to `io::Error`,
/// EINTR retry.
pub mod syscall {
    pub use crate::sys::{cvt, retry_eintr, MinusOne};
}
