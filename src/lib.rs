#![doc = include_str!("../README.md")]
//!
//! The facade crate: it re-exports the three layers under one name.
#![deny(missing_docs)]

pub use eddy_http as http;
pub use eddy_loop as event_loop;
pub use eddy_net as net;

pub use eddy_loop::{Handle, Loop, RunMode};

pub mod prometheus;
pub mod static_files;
