//! eddy's parser against httparse, timed in alternation: many short
//! batches of parses, eddy's and httparse's interleaved (their order
//! swapped every round), and the fastest batch of each kept. On a noisy
//! 2-core machine criterion times one parser for seconds and then the
//! other, so a neighbour's burst lands on one side only; alternating
//! batches of about 100 µs puts both under the same conditions, and the
//! minimum of hundreds of batches discards the interrupted ones.
//!
//! ```text
//! taskset -c 1 target/release/deps/parser_pair-* [ROUNDS] [REQUEST...]
//! ```
//!
//! Prints per request: ns per parse for eddy and httparse (best batch),
//! their ratio, and the median over rounds of the per-round ratio.

use std::hint::black_box;
use std::time::Instant;

use eddy_http::parser::{Kind, Parser};

#[path = "support/requests.rs"]
mod requests;
use requests::{parse_eddy, parse_httparse, Spans};

/// The parses timed together as one batch: long enough that the clock's
/// cost vanishes, short enough that most batches are not interrupted.
const BATCH_BYTES: usize = 200_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (rounds, names) = match args.first().map(|a| a.parse::<usize>()) {
        Some(Ok(n)) => (n, &args[1..]),
        _ => (400, &args[..]),
    };
    println!(
        "{:<14} {:>9} {:>9} {:>7} {:>7}",
        "request", "eddy ns", "hp ns", "best", "median"
    );
    for (name, req) in requests::all() {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let batch = (BATCH_BYTES / req.len()).max(10);
        let mut parser = Parser::new(Kind::Request);
        let mut spans = Spans::new();
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut eddy = || {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(parse_eddy(&mut parser, &mut spans, black_box(&req)));
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        };
        let mut hp = || {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(parse_httparse(&mut headers, black_box(&req)));
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        };
        // Warm caches and branch predictors for both before timing.
        for _ in 0..20 {
            eddy();
            hp();
        }
        let (mut best_e, mut best_h) = (f64::MAX, f64::MAX);
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (e, h) = if round % 2 == 0 {
                let e = eddy();
                (e, hp())
            } else {
                let h = hp();
                (eddy(), h)
            };
            best_e = best_e.min(e);
            best_h = best_h.min(h);
            ratios.push(e / h);
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{:<14} {:>9.1} {:>9.1} {:>7.3} {:>7.3}",
            name,
            best_e,
            best_h,
            best_e / best_h,
            ratios[ratios.len() / 2]
        );
    }
}
