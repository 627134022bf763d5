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
//! `simd.rs` scans runs 16 or 32 bytes at a time with SSE2/AVX2 (the
//! parser's only unsafe code, fenced in that module), falling back to the
//! safe eight-bytes-at-a-time scans of `tables.rs`. A parse
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

// Unsafe code is denied here and forbidden in every module but `simd`, the
// fenced SIMD scans.
#![deny(unsafe_code)]

#[forbid(unsafe_code)]
mod accessors;
#[forbid(unsafe_code)]
mod body;
#[forbid(unsafe_code)]
mod core;
#[forbid(unsafe_code)]
mod error;
#[forbid(unsafe_code)]
mod fast;
#[forbid(unsafe_code)]
pub mod flags;
#[forbid(unsafe_code)]
mod handler;
#[forbid(unsafe_code)]
mod headers;
#[forbid(unsafe_code)]
mod method;
#[forbid(unsafe_code)]
mod settings;
#[allow(unsafe_code)]
mod simd;
#[forbid(unsafe_code)]
mod spans;
#[forbid(unsafe_code)]
mod start_line;
#[forbid(unsafe_code)]
mod state;
#[forbid(unsafe_code)]
mod status_line;
#[forbid(unsafe_code)]
mod tables;
#[forbid(unsafe_code)]
mod target;
#[forbid(unsafe_code)]
mod url;
#[forbid(unsafe_code)]
mod value;

pub use self::core::{FinishState, Kind, Parser, PauseReason};
pub use error::{ErrorKind, ParseError};
pub use handler::{Action, Handler, HeadersAction};
pub use method::Method;
pub use settings::{Lenient, Scan, Settings};
pub use target::{split_target, Target, TargetError, TargetForm};
