//! A plain loop over one request, for counting instructions with callgrind
//! (deterministic, unlike time on a noisy 2-core machine):
//!
//! ```text
//! valgrind --tool=callgrind target/release/deps/parser_instr-* kitty eddy 10000
//! ```
//!
//! Arguments: the request (`kitty`, `joyent`, `techempower`,
//! `short_headers`, `cookie_4k`), the parser (`eddy`, `eddy-swar`,
//! `httparse`) and the number of parses. Run it twice with different counts
//! and divide the difference in instructions by the difference in counts:
//! that removes start-up. `benches/parser_instr.sh` does so for every pair.

use std::hint::black_box;

use eddy_http::parser::{Kind, Parser, Scan, Settings};

#[path = "support/requests.rs"]
mod requests;
use requests::{parse_eddy, parse_httparse, Spans};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [name, which, count] = &args[..] else {
        eprintln!("usage: parser_instr REQUEST eddy|eddy-swar|httparse COUNT");
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("COUNT must be a number, not {count}");
        std::process::exit(2);
    };
    let all = requests::all();
    let Some((_, req)) = all.iter().find(|(n, _)| n == name) else {
        eprintln!("unknown request {name}");
        std::process::exit(2);
    };
    let mut total = 0usize;
    match which.as_str() {
        "eddy" | "eddy-swar" => {
            let scan = if which == "eddy" {
                Scan::default()
            } else {
                Scan::Swar
            };
            let settings = Settings {
                scan,
                ..Settings::default()
            };
            let mut parser = Parser::with_settings(Kind::Request, settings);
            let mut spans = Spans::new();
            for _ in 0..count {
                total += parse_eddy(&mut parser, &mut spans, black_box(req));
            }
        }
        "httparse" => {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            for _ in 0..count {
                total += parse_httparse(&mut headers, black_box(req));
            }
        }
        other => {
            eprintln!("unknown parser {other}");
            std::process::exit(2);
        }
    }
    println!("{total}");
}
