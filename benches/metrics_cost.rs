//! What loop metrics cost, in CPU time rather than wall time (so that other
//! work on a shared machine does not count): the in-process HTTP server of
//! `benches/http.rs` (one connection pipelining 16 requests; 16 connections
//! with one request each) and an empty loop iteration, run in alternating
//! rounds with recording on and off. Each round's figure is this thread's
//! time on CPU (`/proc/thread-self/schedstat`, nanoseconds) divided by the
//! requests (or iterations) it ran; the medians and their ratio are printed.
//!
//!     cargo bench --bench metrics_cost [-- ROUNDS]

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use eddy::event_loop::Idle;
use eddy::http::server::{Server, ServerOptions};
use eddy::net::{ConnectOptions, ReadEvent, Stream};
use eddy::{Loop, RunMode};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

/// This thread's time on CPU, in nanoseconds.
fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

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

/// Sends `batch` on each of `streams` and runs the loop until every
/// response is in; `reps` times.
fn exchange(
    lp: &mut Loop,
    streams: &[Stream],
    batch: &[u8],
    want: usize,
    received: &Rc<Cell<usize>>,
    reps: usize,
) {
    for _ in 0..reps {
        received.set(0);
        for s in streams {
            s.write(lp, batch).unwrap();
        }
        while received.get() < want {
            lp.run(RunMode::Default);
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn report(name: &str, unit: &str, on: &mut [f64], off: &mut [f64]) {
    let (m_on, m_off) = (median(on), median(off));
    println!(
        "{name:<40} on {m_on:>9.1} {unit} ({:.0}..{:.0})  off {m_off:>9.1} {unit} ({:.0}..{:.0})  on/off {:.3}",
        on[0],
        on[on.len() - 1],
        off[0],
        off[off.len() - 1],
        m_on / m_off
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let mut lp = Loop::new().unwrap();
    let addr = server(&mut lp);
    let received = Rc::new(Cell::new(0));
    let one = clients(&mut lp, addr, 1, &received);
    received.set(0);
    exchange(&mut lp, &one, REQUEST, 1, &received, 1);
    let len = received.get();
    let many = clients(&mut lp, addr, 16, &received);
    let pipelined = REQUEST.repeat(16);

    let mut idle_lp = Loop::new().unwrap();
    let idle = Idle::new(&mut idle_lp);
    idle.start(&mut idle_lp, |_, _| {}).unwrap();

    let (mut p_on, mut p_off, mut m_on, mut m_off, mut e_on, mut e_off) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    const REPS: usize = 4_000;
    const ITERS: usize = 400_000;
    for round in 0..rounds {
        // Alternate which goes first, so drift favours neither.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for metrics in order {
            lp.set_metrics_enabled(metrics);
            let t = cpu_ns();
            exchange(&mut lp, &one, &pipelined, 16 * len, &received, REPS);
            let per = (cpu_ns() - t) as f64 / (16 * REPS) as f64;
            if metrics { &mut p_on } else { &mut p_off }.push(per);
            if metrics && round == 0 {
                let m = lp.metrics();
                println!(
                    "http, 1 conn x16: {:.2} iterations and {:.2} events per batch of 16",
                    m.iterations as f64 / REPS as f64,
                    m.events as f64 / REPS as f64
                );
            }

            let t = cpu_ns();
            exchange(&mut lp, &many, REQUEST, 16 * len, &received, REPS / 4);
            let per = (cpu_ns() - t) as f64 / (16 * REPS / 4) as f64;
            if metrics { &mut m_on } else { &mut m_off }.push(per);

            idle_lp.set_metrics_enabled(metrics);
            let t = cpu_ns();
            for _ in 0..ITERS {
                idle_lp.run(RunMode::NoWait);
            }
            let per = (cpu_ns() - t) as f64 / ITERS as f64;
            if metrics { &mut e_on } else { &mut e_off }.push(per);
        }
    }
    println!("medians of {rounds} alternating rounds, CPU time of this thread");
    report(
        "http: 1 conn, 16 pipelined (per request)",
        "ns",
        &mut p_on,
        &mut p_off,
    );
    report(
        "http: 16 conns, 1 request each (per req)",
        "ns",
        &mut m_on,
        &mut m_off,
    );
    report(
        "loop: empty iteration, one idle handle",
        "ns",
        &mut e_on,
        &mut e_off,
    );
}
