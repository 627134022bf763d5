//! Fuzz the whole server: a real connection on a real loop, driven in
//! memory over a socketpair (`Server::serve_stream`), the input split into
//! reads at fuzzer-chosen points, handlers answering at once, later, never
//! or after the body. No panic, well-formed responses, the same requests
//! (and answers) whole as split (see `server_check.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../http/tests/corpus/server_check.rs"]
mod server_check;

fuzz_target!(|data: &[u8]| {
    server_check::check(data);
});
