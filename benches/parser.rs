//! HTTP/1.1 request parsing: eddy's parser (with a handler that records every
//! span, as a server would) against `httparse::Request::parse`, on three
//! classic requests: picohttpparser's 703-byte "kitty" request, http_parser's
//! 471-byte joyent request, and the 170-byte request wrk sends in the
//! TechEmpower plaintext test; plus two that stress the ends of the range:
//! twenty short header lines (every name and value under 16 bytes, so the
//! per-header bookkeeping dominates) and one 4 KiB cookie (so the value scan
//! does). Criterion reports bytes per second as well as time. The requests
//! and the handler live in `support/requests.rs`, shared with
//! `parser_instr.rs`, which counts instructions under callgrind.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy_http::parser::{Kind, Parser, Scan, Settings};

#[path = "support/requests.rs"]
mod requests;
use requests::{parse_eddy, parse_httparse, Spans};

fn parsers(c: &mut Criterion) {
    for (name, req) in requests::all() {
        let req = &req[..];
        let mut group = c.benchmark_group(format!("parse/{name}"));
        group.throughput(Throughput::Bytes(req.len() as u64));
        let mut parser = Parser::new(Kind::Request);
        let mut spans = Spans::new();
        let mut headers = [httparse::EMPTY_HEADER; 64];
        assert_eq!(
            parse_eddy(&mut parser, &mut spans, req),
            parse_httparse(&mut headers, req)
        );
        group.bench_function("eddy", |b| {
            b.iter(|| parse_eddy(&mut parser, &mut spans, black_box(req)))
        });
        group.bench_function("httparse", |b| {
            b.iter(|| parse_httparse(&mut headers, black_box(req)))
        });
        // The portable fallback, for the record (`Scan::Swar`).
        let swar = Settings {
            scan: Scan::Swar,
            ..Settings::default()
        };
        let mut parser = Parser::with_settings(Kind::Request, swar);
        group.bench_function("eddy-swar", |b| {
            b.iter(|| parse_eddy(&mut parser, &mut spans, black_box(req)))
        });
        group.finish();
    }
}

criterion_group!(benches, parsers);
criterion_main!(benches);
