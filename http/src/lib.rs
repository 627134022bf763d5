//! eddy-http: the HTTP/1.1 parser, server, client and Agent, and body pipes, over `eddy-net`.
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

pub use header_source::HeaderSource;
