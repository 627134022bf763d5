//! Loop benchmarks: timer arm+cancel among 100 000 armed timers, an empty
//! iteration (with loop metrics on and off), an async round trip, and firing
//! 1 000 000 timers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eddy::event_loop::{Async, Idle, Timer};
use eddy::{Loop, RunMode};

const ARMED: usize = 100_000;

/// A deterministic spread of deadlines between 1 s and 100 s.
fn spread(i: usize) -> u64 {
    1_000 + (i as u64).wrapping_mul(2_654_435_761) % 99_000
}

fn loop_with_armed_timers() -> (Loop, Vec<Timer>) {
    let mut lp = Loop::new().unwrap();
    let timers = (0..ARMED)
        .map(|i| {
            let t = Timer::new(&mut lp);
            t.start(&mut lp, spread(i), 0, |_, _| {}).unwrap();
            t
        })
        .collect();
    (lp, timers)
}

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer");
    g.throughput(Throughput::Elements(1));

    // A fresh timer armed and cancelled while 100 000 others are armed.
    let (mut lp, _armed) = loop_with_armed_timers();
    let t = Timer::new(&mut lp);
    g.bench_function("arm+cancel, 100k armed", |b| {
        b.iter(|| {
            t.start(&mut lp, black_box(30_000), 0, |_, _| {}).unwrap();
            t.stop(&mut lp).unwrap();
        })
    });
    drop(lp);

    // The per-connection idle timeout pattern: one of the 100 000 armed
    // timers, all over the heap, is cancelled and armed again.
    let (mut lp, armed) = loop_with_armed_timers();
    let mut i = 0usize;
    g.bench_function("cancel+re-arm an armed timer, 100k armed", |b| {
        b.iter(|| {
            i = (i + 7_919) % ARMED;
            let t = armed[i];
            t.stop(&mut lp).unwrap();
            t.rearm(&mut lp, spread(i)).unwrap();
        })
    });
    drop(lp);
    g.finish();

    let mut g = c.benchmark_group("timers fired");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("1M timers, fire all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut lp = Loop::new().unwrap();
                for i in 0..1_000_000u64 {
                    let t = Timer::new(&mut lp);
                    // Deadlines 0-3 ms: four due batches, many equal deadlines.
                    t.start(&mut lp, i % 4, 0, |_, _| {}).unwrap();
                }
                let start = Instant::now();
                lp.run(RunMode::Default);
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn iterations(c: &mut Criterion) {
    let mut g = c.benchmark_group("loop");
    g.throughput(Throughput::Elements(1));

    // The same with loop metrics on (the default) and off: their cost on
    // the cheapest iteration there is.
    for (name, metrics) in [
        ("empty iteration, one idle handle", true),
        ("empty iteration, one idle handle, metrics off", false),
    ] {
        let mut lp = Loop::new().unwrap();
        lp.set_metrics_enabled(metrics);
        let idle = Idle::new(&mut lp);
        idle.start(&mut lp, |_, _| {}).unwrap();
        g.bench_function(name, |b| b.iter(|| lp.run(RunMode::NoWait)));
        drop(lp);
    }

    // What 100 000 idle connections' timers cost a wake-up when none is
    // due: the iteration only peeks at the earliest deadline.
    let (mut lp, _armed) = loop_with_armed_timers();
    let idle = Idle::new(&mut lp);
    idle.start(&mut lp, |_, _| {}).unwrap();
    g.bench_function("empty iteration, 100k armed timers none due", |b| {
        b.iter(|| lp.run(RunMode::NoWait))
    });
    drop(lp);

    let mut off = Loop::new().unwrap();
    off.set_metrics_enabled(false);
    let handle = Async::new(&mut off, |_, _| {});
    let sender = handle.sender(&mut off).unwrap();
    g.bench_function("async send to callback, metrics off", |b| {
        b.iter(|| {
            sender.send().unwrap();
            off.run(RunMode::Once);
        })
    });
    drop(off);

    let mut lp = Loop::new().unwrap();
    let handle = Async::new(&mut lp, |_, _| {});
    let sender = handle.sender(&mut lp).unwrap();
    g.bench_function("async send to callback", |b| {
        b.iter(|| {
            sender.send().unwrap();
            lp.run(RunMode::Once);
        })
    });

    // The same round trip with the send made on another thread.
    let (go_tx, go_rx) = std::sync::mpsc::sync_channel::<bool>(0);
    let remote = sender.clone();
    let thread = std::thread::spawn(move || {
        while go_rx.recv() == Ok(true) {
            remote.send().unwrap();
        }
    });
    g.bench_function("async send from another thread to callback", |b| {
        b.iter_batched(
            || (),
            |()| {
                go_tx.send(true).unwrap();
                lp.run(RunMode::Once);
            },
            BatchSize::SmallInput,
        )
    });
    go_tx.send(false).unwrap();
    thread.join().unwrap();
    g.finish();
}

criterion_group!(benches, timers, iterations);
criterion_main!(benches);
