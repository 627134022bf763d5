//! A hand-written, zero-copy, incremental HTTP/1.x parser with llhttp's model.
//!
//! Feed it byte slices as they arrive with [`Parser::execute`]; it reports
//! spans (slices of your input) and events to a [`Handler`], keeps only a few
//! dozen bytes of state between calls, and never allocates. It is strict by
//! default (request smuggling vectors are errors) with llhttp's opt-in
//! [`Lenient`] flags, and has separate error kinds for the size limits.
//!
//! The machine follows llhttp's grammar state for state (its markdown corpus
//! is replayed by `tests/llhttp_corpus.rs`); on top of it, `fast.rs` handles
//! whole header lines and `HTTP/1.x` request-line tails in one pass, and
//! `tables.rs` scans runs eight bytes at a time, all in safe code. A parse
//! gives the same events and result however the input is split (the fuzz
//! target checks exactly that).
//!
//! ```
//! use eddy_http::parser::{Handler, Kind, Parser};
//!
//! #[derive(Default)]
//! struct Url(Vec<u8>);
//! impl Handler for Url {
//!     fn on_url(&mut self, data: &[u8]) {
//!         self.0.extend_from_slice(data);
//!     }
//! }
//!
//! let mut parser = Parser::new(Kind::Request);
//! let mut url = Url::default();
//! parser.execute(&mut url, b"GET /hello?x=1 HT").unwrap();
//! parser.execute(&mut url, b"TP/1.1\r\nHost: a\r\n\r\n").unwrap();
//! assert_eq!(url.0, b"/hello?x=1");
//! assert!(parser.should_keep_alive());
//! ```

#![forbid(unsafe_code)]

mod accessors;
mod body;
mod core;
mod error;
mod fast;
pub mod flags;
mod handler;
mod headers;
mod method;
mod settings;
mod spans;
mod start_line;
mod state;
mod status_line;
mod tables;
mod target;
mod url;
mod value;

pub use self::core::{FinishState, Kind, Parser, PauseReason};
pub use error::{ErrorKind, ParseError};
pub use handler::{Action, Handler, HeadersAction};
pub use method::Method;
pub use settings::{Lenient, Settings};
pub use target::{split_target, Target, TargetError, TargetForm};
