//! A hand-written, zero-copy, incremental HTTP/1.x parser with llhttp's model.
//!
//! Feed it byte slices as they arrive with [`Parser::execute`]; it reports
//! spans (slices of your input) and events to a [`Handler`], keeps only a few
//! dozen bytes of state between calls, and never allocates. It is strict by
//! default (request smuggling vectors are errors) with llhttp's opt-in
//! [`Lenient`] flags, and has separate error kinds for the size limits.
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
