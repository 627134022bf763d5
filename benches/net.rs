//! eddy-net benchmarks, in one process on one loop: loopback echo
//! throughput with 64 KiB writes, and the accept + close rate.
//!
//! The side-by-side comparison with a C epoll server and Node's `net`
//! (separate processes, pinned to cores) is `benches/echo_compare.sh`.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::net::{ConnectOptions, ListenOptions, Listener, ReadEvent, Stream};
use eddy::{Loop, RunMode};

const CHUNK: usize = 64 << 10;
const PER_ITER: usize = 16 << 20;

fn echo_read(lp: &mut Loop, s: Stream, event: ReadEvent<'_>) {
    if let ReadEvent::Data(bytes) = event {
        if let Ok(false) = s.write(lp, bytes) {
            let _ = s.read_stop(lp);
        }
    }
}

fn echo_server(lp: &mut Loop) -> SocketAddr {
    let l = Listener::bind(
        lp,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &ListenOptions::default(),
        |lp, _, c| {
            let s = c.unwrap();
            s.on_drain(lp, |lp, s| s.read_start(lp, echo_read).unwrap())
                .unwrap();
            s.read_start(lp, echo_read).unwrap();
        },
    )
    .unwrap();
    l.unref(lp).unwrap();
    l.local_addr(lp).unwrap().ip().unwrap()
}

struct Pump {
    to_send: Cell<usize>,
    to_receive: Cell<usize>,
}

fn pump(lp: &mut Loop, s: Stream, p: &Pump, chunk: &[u8]) {
    while p.to_send.get() > 0 {
        p.to_send.set(p.to_send.get() - CHUNK);
        if !s.write(lp, chunk).unwrap() {
            return;
        }
    }
}

fn echo_throughput(c: &mut Criterion) {
    let mut lp = Loop::new().unwrap();
    let addr = echo_server(&mut lp);
    let client: Rc<Cell<Option<Stream>>> = Rc::default();
    let cl = client.clone();
    Stream::connect(&mut lp, addr, &ConnectOptions::default(), move |_, s, r| {
        r.unwrap();
        cl.set(Some(s));
    })
    .unwrap();
    while client.get().is_none() {
        lp.run(RunMode::Once);
    }
    let s = client.get().unwrap();
    let chunk: Rc<[u8]> = vec![0x5a; CHUNK].into();
    let p = Rc::new(Pump {
        to_send: Cell::new(0),
        to_receive: Cell::new(0),
    });
    let (p1, c1) = (p.clone(), chunk.clone());
    s.on_drain(&mut lp, move |lp, s| pump(lp, s, &p1, &c1))
        .unwrap();
    let p2 = p.clone();
    s.read_start(&mut lp, move |lp, _, ev| {
        if let ReadEvent::Data(b) = ev {
            p2.to_receive.set(p2.to_receive.get() - b.len());
            if p2.to_receive.get() == 0 {
                lp.stop();
            }
        }
    })
    .unwrap();

    let mut g = c.benchmark_group("net");
    g.throughput(Throughput::Bytes(PER_ITER as u64));
    g.sample_size(20);
    g.bench_function("loopback echo, 64 KiB writes (16 MiB each way)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                p.to_send.set(PER_ITER);
                p.to_receive.set(PER_ITER);
                pump(&mut lp, s, &p, &chunk);
                lp.run(RunMode::Default);
            }
            start.elapsed()
        })
    });
    g.finish();
}

fn accept_close(c: &mut Criterion) {
    let mut lp = Loop::new().unwrap();
    // The server closes each connection as soon as it is accepted.
    let l = Listener::bind(
        &mut lp,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &ListenOptions::default(),
        |lp, _, c| {
            c.unwrap().close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    l.unref(&mut lp).unwrap();
    let addr = l.local_addr(&lp).unwrap();
    let mut g = c.benchmark_group("net");
    g.throughput(Throughput::Elements(1));
    g.bench_function("connect + accept + close", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                Stream::connect(
                    &mut lp,
                    addr.clone(),
                    &ConnectOptions::default(),
                    |lp, s, r| {
                        r.unwrap();
                        // EOF from the server's close, then ours.
                        s.read_start(lp, |lp, s, _| {
                            let _ = s.close(lp, |_, _| {});
                        })
                        .unwrap();
                    },
                )
                .unwrap();
                lp.run(RunMode::Default);
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = echo_throughput, accept_close
}
criterion_main!(benches);
