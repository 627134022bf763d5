//! eddy-net: TCP and Unix-domain listeners and streams as handles on an
//! `eddy-loop` [`Loop`](eddy_loop::Loop), with Node's `net` semantics over
//! libuv's stream machinery.
//!
//! - [`Listener`]: bind + listen (TCP v4/v6/dual-stack, Unix paths,
//!   inherited fds), one callback per accepted [`Stream`], pause/resume,
//!   `max_connections`, and survival at EMFILE; [`Listener::offer`] makes
//!   a later `bind` take a socket made elsewhere, and [`activation`]
//!   receives and passes on sockets under systemd's `LISTEN_FDS`
//!   convention (socket activation, restarts that drop nothing).
//! - [`Stream`]: connect (by address, or by name through the work pool),
//!   reads into a loop-owned buffer, a write queue with backpressure,
//!   cork/uncork, shutdown, idle timeouts, socket options; writes that
//!   copy nothing into the queue: [`SharedBytes`] (one buffer for many
//!   streams) and file ranges sent with `sendfile(2)`; an empty write as a
//!   marker that everything before it reached the kernel; and
//!   [`Stream::on_hangup`], the peer's FIN or reset heard while not
//!   reading ([`Hangup`]).
//!
//! Their state lives in tables inside the loop (eddy-loop's [`Table`](eddy_loop::Table));
//! the handles are `Copy` ids with a generation. Every write is sent with
//! `MSG_NOSIGNAL`: a peer that goes away never raises SIGPIPE.
//!
//! # Conventions (those of eddy-loop)
//!
//! - **Stale ids.** From `close` on, every method of a stream or listener
//!   that returns a `Result` fails with [`Error::Closed`] (`"stream is
//!   closed"`), and predicates (`is_active`, `is_reading`, `has_ref`)
//!   answer false; `is_closing` answers true until the close callbacks
//!   have run. Nothing panics.
//! - **Queries take `&Loop`** (`local_addr`, `peer_addr`, `bytes_read`,
//!   `write_queue_size`, ...), actions `&mut Loop`.
//! - **Callbacks get their own handle**: read, drain, timeout, connect,
//!   write and close callbacks get the [`Stream`], connection and close
//!   callbacks the [`Listener`].
//! - **A callback is removed with `clear_*`** (`clear_on_drain`,
//!   `clear_timeout`, `clear_on_close`), never by installing a no-op.
//! - `ref_`/`unref`/`has_ref` as on the loop's handles; Node's names where
//!   Node has one (`end`, `set_timeout`, `set_nodelay`, `set_keepalive`,
//!   `bytes_read`, `max_connections`).
//!
//! ```no_run
//! use eddy_loop::{Loop, RunMode};
//! use eddy_net::{Listener, ListenOptions, ReadEvent};
//!
//! let mut lp = Loop::new()?;
//! let addr: std::net::SocketAddr = "127.0.0.1:7000".parse().unwrap();
//! Listener::bind(&mut lp, addr, &ListenOptions::default(), |lp, _, conn| {
//!     let Ok(stream) = conn else { return };
//!     let _ = stream.read_start(lp, |lp, s, ev| match ev {
//!         ReadEvent::Data(bytes) => { let _ = s.write(lp, bytes); }
//!         ReadEvent::Eof | ReadEvent::Error(_) => { let _ = s.end(lp); }
//!     });
//! })?;
//! lp.run(RunMode::Default);
//! # Ok::<(), eddy_net::Error>(())
//! ```

// `ok_or_else(|| Error::…)` on purpose: an error made eagerly by
// `ok_or` is dropped on the success path through an out-of-line
// `drop_in_place` call (about 500 instructions per proxied request).
#![allow(clippy::unnecessary_lazy_evaluations)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod activation;
mod addr;
mod connect;
mod error;
mod hangup;
mod listener;
mod offered;
mod payload;
mod read;
mod shared_bytes;
mod shrink;
mod stream;
mod sys;
mod table;
mod timeout;
mod write;
mod zero_copy;

pub use addr::Address;
pub use connect::ConnectOptions;
pub use error::{Error, Result};
pub use hangup::Hangup;
pub use listener::{listen_socket, resolve_blocking, ListenOptions, Listener};
pub use shared_bytes::SharedBytes;
pub use shrink::shrink_to_fit;
pub use stream::{Probe, ReadEvent, Stream};
pub use write::{Written, DEFAULT_HIGH_WATER_MARK};

/// Raises this process's soft limit on open files to its hard limit (a
/// server with many connections wants this); returns the new limit.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    sys::raise_fd_limit()
}
