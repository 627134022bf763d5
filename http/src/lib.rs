//! eddy-http: the HTTP/1.1 parser, server, client and Agent, and body pipes, over `eddy-net`.
// `ok_or_else(|| Error::…)` on purpose: an error made eagerly by
// `ok_or` is dropped on the success path through an out-of-line
// `drop_in_place` call (about 500 instructions per proxied request).
#![allow(clippy::unnecessary_lazy_evaluations)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod client;
pub mod h1;
mod header_source;
mod listeners;
pub mod parser;
pub mod pipe;
pub mod server;
mod wire;

pub use header_source::{HeaderSource, StatusSource};
