//! The HTTP/1.1 server: Node's `http.Server` semantics as callback handles
//! on the loop.
//!
//! ```no_run
//! use eddy_loop::{Loop, RunMode};
//! use eddy_http::server::{Server, ServerOptions};
//!
//! let mut lp = Loop::new()?;
//! let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
//!     res.set_header(lp, "Content-Type", "text/plain").unwrap();
//!     res.end(lp, b"hi\n").unwrap();
//! });
//! let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! server.listen(&mut lp, addr)?;
//! lp.run(RunMode::Default);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A connection parses requests as they arrive (pipelining) and answers
//! them strictly in order; a later response waits in its own buffer until
//! its turn, and reading pauses while too much output waits. Bad input is
//! answered with the status Node or RFC 9112 gives (400, 408, 413, 414,
//! 417, 431, 501, 505) and the connection closes.

mod conn;
mod date;
mod error;
mod exchange;
mod feed;
mod lifecycle;
mod options;
mod request;
mod response;
#[allow(clippy::module_inception)]
mod server;
mod status;
mod table;

/// The header list type, now [`crate::h1::HeaderList`] (kept here for
/// compatibility).
pub use crate::h1::HeaderList;
pub use date::format_imf_fixdate;
pub use error::{Error, Result};
pub use options::ServerOptions;
pub use request::Request;
pub use response::Response;

pub use server::{ClientError, RequestHead, Server};
pub use status::reason_phrase;
