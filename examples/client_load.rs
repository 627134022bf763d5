//! A keep-alive GET load generator on eddy's HTTP client (issue 6), the
//! eddy side of benches/client_load.sh; benches/peers/client_node.js is
//! the same in Node.
//!
//!     cargo run --release --example client_load -- [--conns N]
//!         [--duration SECS | --requests N] [--warmup SECS]
//!         [--next-on end|close] URL
//!
//! Keeps N requests in flight over one Agent (keep-alive, `max_sockets` =
//! N): each request's close (after its response ended and its socket went
//! back to the free list) issues the next GET, which takes that socket.
//! With `--next-on end` the next GET is issued from the response's end
//! instead: it waits in the Agent's queue and gets the socket as it is
//! released. (That is slower with many sockets: each request is written
//! as soon as its predecessor's response is parsed, one wake-up of the
//! server each, where from close the requests for all responses read in
//! one loop iteration go out together.)
//! After a warm-up (default 1 s, counted in neither figure) it measures
//! for `--duration` seconds (default 5), or until `--requests` more
//! responses have completed, then prints one line on stdout:
//!
//!     requests=R seconds=S cpu_us=C rps=R/S cpu_us_per_req=C/R sockets=K body_bytes=B errors=E
//!
//! cpu_us is this process's user + system CPU time (getrusage) over the
//! measured part; sockets is the TCP connections the Agent opened in all.
//! A request error ends the run: it exits 1 (after the line, if the
//! measured part had begun).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use eddy::event_loop::Timer;
use eddy::http::client::{request, Agent, AgentChoice, AgentOptions, RequestOptions};
use eddy::{Loop, RunMode};

fn usage() -> ! {
    eprintln!(
        "usage: client_load [--conns N] [--duration SECS | --requests N] [--warmup SECS] \
         [--next-on end|close] URL"
    );
    std::process::exit(2);
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("client_load: {msg}");
    std::process::exit(1);
}

/// User + system CPU time of this process, in µs.
fn cpu_us() -> u64 {
    // SAFETY: getrusage only writes the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let us = |tv: libc::timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Done,
}

struct State {
    opts: RequestOptions,
    phase: Phase,
    /// Responses completed since the current phase began.
    done: u64,
    /// With `--requests`: end the measured part after this many.
    limit: Option<u64>,
    /// Issue the next request from `on_end` (default: from `on_close`).
    next_on_end: bool,
    body_bytes: u64,
    errors: u64,
    t0: Instant,
    cpu0: u64,
    /// (requests, seconds, cpu µs) of the measured part.
    result: Option<(u64, f64, u64)>,
}

impl State {
    fn begin_measure(&mut self) {
        self.phase = Phase::Measure;
        self.done = 0;
        self.body_bytes = 0;
        self.t0 = Instant::now();
        self.cpu0 = cpu_us();
    }

    fn end_measure(&mut self, lp: &mut Loop) {
        if self.phase != Phase::Measure {
            return;
        }
        let secs = self.t0.elapsed().as_secs_f64();
        let cpu = cpu_us() - self.cpu0;
        self.result = Some((self.done, secs, cpu));
        self.phase = Phase::Done;
        lp.stop();
    }
}

/// Issues one GET; its close (or, with `--next-on end`, its response's
/// end) issues the next.
fn issue(lp: &mut Loop, st: Rc<RefCell<State>>) {
    let opts = st.borrow().opts.clone();
    let s = st.clone();
    let req = request(lp, opts, move |lp, res| {
        let s2 = s.clone();
        let _ = res.on_data(lp, move |_, _, chunk| {
            s2.borrow_mut().body_bytes += chunk.len() as u64;
        });
        let _ = res.on_end(lp, move |lp, _| {
            let mut g = s.borrow_mut();
            g.done += 1;
            if g.limit.is_some_and(|n| g.done >= n) && g.phase == Phase::Measure {
                g.end_measure(lp);
            }
            let next = g.next_on_end && g.phase != Phase::Done;
            drop(g);
            if next {
                issue(lp, s);
            }
        });
    })
    .unwrap_or_else(|e| fail(e));
    let s = st.clone();
    req.on_error(lp, move |lp, _, e| {
        let mut g = s.borrow_mut();
        if g.errors == 0 {
            eprintln!("client_load: {e}");
        }
        g.errors += 1;
        // Stop at the first error: report what was measured, if anything.
        g.end_measure(lp);
        g.phase = Phase::Done;
        lp.stop();
    })
    .unwrap();
    req.on_close(lp, move |lp, _, _| {
        let g = st.borrow();
        let next = !g.next_on_end && g.phase != Phase::Done;
        drop(g);
        if next {
            issue(lp, st);
        }
    })
    .unwrap();
    req.end(lp, &[]).unwrap_or_else(|e| fail(e));
}

fn main() {
    let mut conns = 1usize;
    let mut duration = 5.0f64;
    let mut warmup = 1.0f64;
    let mut limit = None;
    let mut next_on_end = false;
    let mut url = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || -> f64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--conns" | "-c" => conns = num() as usize,
            "--duration" | "-d" => duration = num(),
            "--warmup" | "-w" => warmup = num(),
            "--requests" | "-n" => limit = Some(num() as u64),
            "--next-on" => {
                next_on_end = match it.next().as_deref() {
                    Some("end") => true,
                    Some("close") => false,
                    _ => usage(),
                }
            }
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            _ if url.is_none() => url = Some(arg),
            _ => usage(),
        }
    }
    let url = url.unwrap_or_else(|| usage());
    if conns == 0 {
        usage();
    }

    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));
    let agent = Agent::new(
        &mut lp,
        AgentOptions {
            keep_alive: true,
            max_sockets: conns,
            ..AgentOptions::default()
        },
    );
    let mut opts = RequestOptions::from_url(&url).unwrap_or_else(|e| fail(e));
    opts.agent = AgentChoice::Use(agent);
    let st = Rc::new(RefCell::new(State {
        opts,
        phase: Phase::Warmup,
        done: 0,
        limit,
        next_on_end,
        body_bytes: 0,
        errors: 0,
        t0: Instant::now(),
        cpu0: 0,
        result: None,
    }));

    // Warm-up, then the measured part: both ended by timers (a request
    // count ends the measured part from on_end instead).
    let timer = Timer::new(&mut lp);
    let measure_ms = (duration * 1000.0).round() as u64;
    let s = st.clone();
    let start_measure = move |lp: &mut Loop| {
        s.borrow_mut().begin_measure();
        if limit.is_none() {
            let s = s.clone();
            timer
                .start(lp, measure_ms, 0, move |lp, _| {
                    s.borrow_mut().end_measure(lp)
                })
                .unwrap();
        }
    };
    if warmup > 0.0 {
        let warm_ms = (warmup * 1000.0).round() as u64;
        let mut start = Some(start_measure);
        timer
            .start(&mut lp, warm_ms, 0, move |lp, _| {
                if let Some(f) = start.take() {
                    f(lp);
                }
            })
            .unwrap();
    } else {
        start_measure(&mut lp);
    }
    for _ in 0..conns {
        issue(&mut lp, st.clone());
    }
    lp.run(RunMode::Default);
    if st.borrow().result.is_none() {
        fail("the run ended early (see the errors above)");
    }

    let g = st.borrow();
    let (reqs, secs, cpu) = g.result.unwrap();
    println!(
        "requests={reqs} seconds={secs:.3} cpu_us={cpu} rps={:.0} cpu_us_per_req={:.3} \
         sockets={} body_bytes={} errors={}",
        reqs as f64 / secs,
        cpu as f64 / reqs.max(1) as f64,
        agent.sockets_created(&lp),
        g.body_bytes,
        g.errors
    );
    if g.errors > 0 {
        std::process::exit(1);
    }
}
