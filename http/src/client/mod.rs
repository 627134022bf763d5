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

mod agent;
mod conn;
mod error;
mod feed;
mod finish;
mod options;
mod output;
mod pool;
mod request;
mod response;
mod table;

pub use agent::{Agent, AgentOptions, Scheduling};
pub use error::{Error, Result};
pub use options::{AgentChoice, RequestOptions};
pub use request::{get, request, ClientRequest, Information};
pub use response::ClientResponse;
