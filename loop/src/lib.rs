//! eddy-loop: a libuv-style, single-threaded event loop over epoll.
//!
//! A [`Loop`] owns the state of every handle in one generational
//! [`Table`]; a handle ([`Timer`], [`Idle`], [`Prepare`], [`Check`], [`Io`],
//! [`Async`], [`Signal`]) is a small `Copy` id with a generation, so a stale
//! id never reaches another handle. Callbacks receive `&mut Loop` and their
//! own handle, and may start, stop or close any handle, their own included.
//!
//! One iteration of [`Loop::run`] runs, in libuv's order (that of libuv
//! 1.45 and later; these docs mean 1.52): pending callbacks, idle,
//! prepare, poll for I/O, check, close callbacks, due timers; a `Default`
//! run also runs the due timers before its first iteration. Where eddy
//! differs from libuv, and why, is listed in ARCHITECTURE.md ("eddy-loop
//! and libuv"); `benches/libuv-diff` checks it trace by trace.
//!
//! Beside the handles: self-freeing timers ([`Loop::set_timeout`],
//! [`Loop::set_interval`], [`Loop::clear_timer`], as Node's), the work pool
//! ([`Loop::queue_work`]) and file opening on it ([`Loop::open_file`]), and
//! giving memory back after a burst ([`memory`], [`Loop::shrink_to_fit`]).
//!
//! # Conventions
//!
//! - **Stale ids.** Once a handle is closed (from the `close` call on, and
//!   for good once its close callback has returned), every method of it
//!   that returns a `Result` fails with [`Error::Closed`] naming the kind
//!   ("timer handle is closed"), and every predicate (`is_active`,
//!   `has_ref`, ...) answers false; `is_closing` alone answers true until
//!   the close callback has returned. Nothing panics.
//! - **Queries take `&Loop`**, actions `&mut Loop`.
//! - **Alive** is spelled `is_*`: `is_active`, `is_closing`, as libuv's
//!   `uv_is_active` and `uv_is_closing`.
//! - **Callbacks get their own handle**, close callbacks included.
//! - libuv's names are kept where libuv has one (`again`, `due_in`,
//!   `ref_`/`unref`/`has_ref`, `walk`, `backend_fd`, `backend_timeout`).
//!
//! ```
//! use eddy_loop::{Handle, Loop, RunMode, Timer};
//!
//! let mut lp = Loop::new()?;
//! let timer = Timer::new(&mut lp);
//! timer.start(&mut lp, 5, 0, |lp, t| {
//!     println!("fired at {} ms", lp.now());
//!     t.close(lp, |_, _| println!("closed")).unwrap();
//! })?;
//! lp.run(RunMode::Default);
//! # Ok::<(), eddy_loop::Error>(())
//! ```

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod async_handle;
mod error;
mod event_loop;
mod fs;
mod handle;
mod io;
pub mod memory;
mod metrics;
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
pub use handle::{Handle, HandleId, HandleType};
pub use io::{Interest, Io, Ready};
pub use metrics::{Histogram, LoopMetrics, LoopPhase, PhaseTimes};
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
