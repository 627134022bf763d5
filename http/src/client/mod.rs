//! The HTTP/1.1 client: Node's `http.request` / `ClientRequest` and the
//! response `IncomingMessage`, with `http.Agent` connection pooling, as
//! callback handles on the loop.
//!
//! ```no_run
//! use eddy_loop::{Loop, RunMode};
//! use eddy_http::client::{get, RequestOptions};
//!
//! let mut lp = Loop::new()?;
//! let opts = RequestOptions::from_url("http://127.0.0.1:8080/")?;
//! get(&mut lp, opts, |lp, res| {
//!     println!("status {:?}", res.status(lp));
//!     res.on_data(lp, |_, _, chunk| print!("{}", String::from_utf8_lossy(chunk))).unwrap();
//! })?;
//! lp.run(RunMode::Default);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A request takes a socket from its Agent's pool (or opens one), sends
//! its head with the first body bytes or at `end` (one write for a short
//! request), and parses the response strictly in response mode. When the
//! response ends on a keep-alive socket, the socket goes to the next
//! waiting request or back to the free list, unref'd so an idle pool does
//! not keep the loop running.
//!
//! Every handle follows one rule once stale (a request after its `close`,
//! a destroyed Agent): actions return [`Error::Closed`], queries answer
//! `false`, `None` or 0.
//!
//! The files are layered, each using only those below it:
//! - API: `request.rs`, `response.rs`, `agent.rs` (methods of the
//!   handles), `options.rs`;
//! - the exchange (`exchange.rs`): a request's life on a connection,
//!   driven by socket events;
//! - below it: `send.rs` (output to the socket), `notify.rs` (user
//!   callbacks), `conn.rs` (connection records), `pool.rs` (the Agent's
//!   decisions), `handles.rs`;
//! - state: `table.rs`; HTTP/1: `feed.rs` (the parser's handler),
//!   `output.rs` (head and body framing), `target.rs`; leaves:
//!   `agent_options.rs`, `error.rs`; deadlines: `deadlines.rs` (the
//!   request's one timer) over `clock.rs` (which deadline is due).

#![deny(missing_docs)]

mod agent;
mod agent_options;
mod agent_stats;
mod clock;
mod collect;
mod conn;
mod deadlines;
mod error;
mod exchange;
mod feed;
mod handles;
mod notify;
mod options;
mod output;
mod pool;
mod request;
mod response;
mod send;
mod table;
mod target;

/// Why `collect` gave no body (shared with the server).
pub use crate::h1::CollectError;
pub use agent_options::{AgentOptions, Scheduling};
pub use agent_stats::AgentStats;
pub use error::{Deadline, Error, InterimLimit, Result};
pub use feed::Information;
pub use handles::{Agent, ClientRequest, ClientResponse};
pub use options::{AgentChoice, RequestOptions};
pub use request::{get, request};
