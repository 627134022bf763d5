//! The HTTP/1 core that the server and the client share: header lists and
//! their validation, the framing decision, the head encoder and the body
//! encoders. Everything here is pure: no loop, no sockets, no handles.
//! The server (`crate::server`) and the client (`crate::client`) call it
//! and keep only what differs between them (pipelining and the exchange
//! queue on one side, pooling on the other). Body *decoding* is the
//! parser's (`crate::parser`), which both sides drive.
//!
//! Layering inside the module: `validate`, `names` (the header names
//! looked for) and `marks` (where the relevant lines are) at the bottom,
//! then `headers`, which notes each line's marks as it is added;
//! `forward` drops a list's hop-by-hop fields, `facts` reads a list's
//! marks, `framing` decides from the facts, `head` and `body` encode what
//! was decided.
//!
//! ```
//! use eddy_http::h1::*;
//! let mut headers = HeaderList::default();
//! assert!(is_token(b"X-Latin") && is_field_value(b"caf\xE9"));
//! headers.push("X-Latin", b"caf\xE9");
//! let facts = HeaderFacts::of(&headers);
//! let decision = decide(&Outgoing {
//!     role: Role::Server, method: b"GET", status: 200, version: (1, 1),
//!     headers: &facts, body: BodyKnown::Streaming, keep_alive: true,
//! });
//! let mut out = Vec::new();
//! Head {
//!     start: StartLine::Status { status: 200, reason: b"OK" },
//!     headers: &headers, facts: &facts, decision: &decision, extra: b"",
//!     date: None, keep_alive_secs: None,
//! }
//! .encode(&mut out);
//! let mut body = BodyEncoder::new(decision.framing);
//! body.encode(b"hi", &mut out);
//! body.finish(&HeaderList::default(), &mut out).unwrap();
//! assert_eq!(
//!     out,
//!     &b"HTTP/1.1 200 OK\r\nX-Latin: caf\xE9\r\nConnection: keep-alive\r\n\
//!        Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"[..]
//! );
//! ```

#![deny(missing_docs)]

mod body;
mod collected;
mod facts;
mod forward;
mod framing;
mod head;
mod headers;
mod marks;
mod names;
mod validate;

pub use body::{BodyEncoder, Overrun, Short};
pub use collected::{CollectError, Collector, Gathered};
pub use facts::HeaderFacts;
pub use forward::{is_hop_by_hop, Forwardable};
pub use framing::{decide, BodyKnown, Decision, Framing, FramingLine, Outgoing, Role};
pub use head::{encode_header_lines, encode_status_line, Head, StartLine};
pub use headers::HeaderList;
pub use validate::{is_field_value, is_token, is_valid_host};
