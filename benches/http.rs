//! The HTTP server in process: clients and server on one loop over
//! loopback. One connection pipelining 16 requests at a time, and 16
//! connections each making keep-alive requests one after another; each
//! with loop metrics on and off.
//!
//! The side-by-side comparison with a C server and Node (separate
//! processes, pinned to cores, wrk) is `benches/load.sh`.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::http::server::{Server, ServerOptions};
use eddy::net::{ConnectOptions, ReadEvent, Stream};
use eddy::{Loop, RunMode};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

fn server(lp: &mut Loop) -> SocketAddr {
    let s = Server::new(lp, ServerOptions::default(), |lp, _req, res| {
        res.set_header(lp, "Content-Type", "text/plain").unwrap();
        res.end(lp, b"Hello, World!").unwrap();
    });
    s.listen(lp, SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap()
        .ip()
        .unwrap()
}

/// Connects `n` clients; each counts response bytes into `received`.
fn clients(lp: &mut Loop, addr: SocketAddr, n: usize, received: &Rc<Cell<usize>>) -> Vec<Stream> {
    let ready = Rc::new(Cell::new(0));
    let mut streams = Vec::new();
    for _ in 0..n {
        let (ready, received) = (ready.clone(), received.clone());
        let s = Stream::connect(lp, addr, &ConnectOptions::default(), move |lp, s, r| {
            r.unwrap();
            s.set_nodelay(lp, true).unwrap();
            ready.set(ready.get() + 1);
        })
        .unwrap();
        s.read_start(lp, move |lp, _, ev| {
            if let ReadEvent::Data(b) = ev {
                received.set(received.get() + b.len());
                lp.stop();
            }
        })
        .unwrap();
        streams.push(s);
    }
    while ready.get() < n {
        lp.run(RunMode::Once);
    }
    streams
}

/// Bytes of one response (Date is fixed width, so all are equal).
fn response_len(lp: &mut Loop, s: Stream, received: &Rc<Cell<usize>>) -> usize {
    received.set(0);
    s.write(lp, REQUEST).unwrap();
    let start = received.get();
    while received.get() == start {
        lp.run(RunMode::Default);
    }
    received.get()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");

    let mut lp = Loop::new().unwrap();
    let addr = server(&mut lp);
    let received = Rc::new(Cell::new(0));
    let one = clients(&mut lp, addr, 1, &received)[0];
    let len = response_len(&mut lp, one, &received);
    let batch: Vec<u8> = REQUEST.repeat(16);
    g.throughput(Throughput::Elements(16));
    // Each scenario with loop metrics on (the default), then off: their
    // cost per request.
    for (suffix, metrics) in [("", true), (", metrics off", false)] {
        lp.set_metrics_enabled(metrics);
        g.bench_function(
            format!("1 connection, 16 pipelined requests{suffix}"),
            |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        received.set(0);
                        one.write(&mut lp, &batch).unwrap();
                        while received.get() < 16 * len {
                            lp.run(RunMode::Default);
                        }
                    }
                    start.elapsed()
                })
            },
        );
    }

    let streams = clients(&mut lp, addr, 16, &received);
    for (suffix, metrics) in [("", true), (", metrics off", false)] {
        lp.set_metrics_enabled(metrics);
        g.bench_function(format!("16 connections, one request each{suffix}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    received.set(0);
                    for s in &streams {
                        s.write(&mut lp, REQUEST).unwrap();
                    }
                    while received.get() < 16 * len {
                        lp.run(RunMode::Default);
                    }
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
