//! The HTTP/1.1 server: Node's `http.Server` semantics as callback handles
//! on the loop, over the shared HTTP/1 core ([`crate::h1`]).
//!
//! ```
//! use std::io::{Read, Write};
//! use eddy_loop::{Loop, RunMode};
//! use eddy_http::server::{Server, ServerOptions};
//!
//! let mut lp = Loop::new()?;
//! let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
//!     res.set_header(lp, "Content-Type", "text/plain").unwrap();
//!     res.end(lp, b"hi\n").unwrap();
//!     lp.stop(); // one request is enough for this example
//! });
//! let addr = server.listen(&mut lp, "127.0.0.1:0".parse::<std::net::SocketAddr>()?)?;
//! let addr = addr.ip().expect("a TCP address");
//! let client = std::thread::spawn(move || {
//!     let mut s = std::net::TcpStream::connect(addr).unwrap();
//!     s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
//!     let (mut answer, mut buf) = (Vec::new(), [0u8; 512]);
//!     while !answer.ends_with(b"\r\n\r\nhi\n") {
//!         let n = s.read(&mut buf).unwrap();
//!         assert!(n > 0, "closed early");
//!         answer.extend_from_slice(&buf[..n]);
//!     }
//!     String::from_utf8(answer).unwrap()
//! });
//! lp.run(RunMode::Default);
//! let answer = client.join().unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.contains("Content-Length: 3\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A connection parses requests as they arrive (pipelining) and answers
//! them strictly in order; a later response waits in its own buffer until
//! its turn, and reading pauses while too much output waits. Bad input is
//! answered with the status Node or RFC 9112 gives (400, 408, 413, 414,
//! 417, 431, 501, 505) and the connection closes.
//!
//! Files are layered, each importing only those below it:
//! - API: `server.rs`, `request.rs`, `response.rs` (the handles' methods),
//!   `shrink.rs` (pools trimmed after a burst);
//! - connection behaviour: `conn.rs` (read, parse guard, advance, drain,
//!   failures), `feed.rs` (the parser's handler), `closing.rs` (timer,
//!   linger, hand-off), `output.rs` (batch, direct and held-back output),
//!   `compose.rs` (a response's bytes via `h1`), `lifecycle.rs` (each
//!   exchange's one `close`), `teardown.rs`,
//!   `dispatch.rs` (the server's callbacks);
//! - state: `table.rs`, `connection.rs`, `server_state.rs`, `exchange.rs`,
//!   `deadlines.rs`, `hooks.rs`, `handles.rs`, and the leaves `options.rs`,
//!   `error.rs`, `status.rs`, `date.rs`, `target_form.rs`, `progress.rs`,
//!   `head_memo.rs`;
//! - below: `crate::h1` and `eddy-net`.

#![deny(missing_docs)]

mod closing;
mod collect;
mod compose;
mod conditional;
mod conn;
mod connection;
mod date;
mod deadlines;
mod dispatch;
mod error;
mod exchange;
mod feed;
mod file_body;
mod file_output;
mod file_path;
mod file_reply;
mod handles;
mod head_memo;
mod hooks;
mod lifecycle;
mod mime;
mod options;
mod output;
mod progress;
mod range;
mod request;
mod response;
mod send_file;
#[allow(clippy::module_inception)]
mod server;
mod server_state;
mod shrink;
mod stats;
mod status;
mod table;
mod target_form;
mod teardown;

pub use conditional::{file_etag, none_match, parse_http_date, strong_match};
pub use date::format_imf_fixdate;
pub use error::{Error, Result};
pub use file_path::{file_path_under_root, PathRefused};
pub use file_reply::{file_reply, FileReply, FileValidators};
pub use handles::{ConnectionId, Request, Response};
pub use hooks::{ClientError, RequestHead};
pub use mime::content_type_for;
pub use options::ServerOptions;
pub use progress::MinBodyRate;
pub use range::{range_answer, RangeAnswer};
pub use send_file::{FileSent, FileSource, SendFileOptions};
pub use server_state::Server;
pub use stats::{
    CloseReason, ClosedBy, ConnectionInfo, ConnectionState, ServerStats, StatusClasses,
};
pub use status::{is_reason_phrase, reason_phrase};

/// Why `collect` gave no body (shared with the client).
pub use crate::h1::CollectError;
/// The header list type, now [`crate::h1::HeaderList`] (kept here for
/// compatibility).
pub use crate::h1::HeaderList;
