//! Fuzz the HTTP parser: random bytes, both kinds, random lenient flags,
//! split at random points with pauses; no panic, same result whole as split,
//! and the same events and result with the SIMD scanners (AVX2, SSE2) as
//! with the portable SWAR fallback (see `split_check.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../http/tests/corpus/split_check.rs"]
mod split_check;

fuzz_target!(|data: &[u8]| {
    split_check::check(data);
});
