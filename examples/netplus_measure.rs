//! Measurements for eddy-net's zero-copy writes and the memory trimmer
//! (run by `benches/netplus.sh`; not a test).
//!
//! - `serve-file PORT FILE sendfile|copy ROUNDS`: sends FILE ROUNDS times
//!   to each client that connects, with `Stream::send_file`, or with a
//!   plain loop (a 64 KiB `pread` into a fresh buffer, `write_vec`, wait
//!   for the drain); prints MB/s and the process's CPU seconds per GiB.
//! - `read HOST:PORT`: reads until EOF, prints the byte count.
//! - `memory CONNS BYTES shared|copy`: opens CONNS loopback connections
//!   whose client side never reads, queues BYTES on each (one shared
//!   64 KiB block, or `write` copies of it), prints RSS; then closes them
//!   all and prints RSS before and after the loop's memory trimmer ran.

use std::cell::Cell;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::time::Instant;

use eddy_loop::memory::{self, TrimOptions};
use eddy_loop::{Loop, RunMode};
use eddy_net::{ConnectOptions, ListenOptions, Listener, SharedBytes, Stream};

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / (1 << 20) as f64
}

/// Sends `file` `rounds` times with the plain loop: read a chunk, write
/// it, and read the next once the queue drained.
fn copy_loop(
    lp: &mut Loop,
    s: Stream,
    file: Rc<File>,
    size: u64,
    rounds: u64,
    done: Rc<Cell<u64>>,
) {
    let total = size * rounds;
    let sent = Rc::new(Cell::new(0u64));
    let pump = {
        let sent = sent.clone();
        move |lp: &mut Loop, s: Stream| loop {
            let at = sent.get();
            if at >= total {
                done.set(done.get() + total);
                let _ = s.end(lp);
                return;
            }
            let mut buf = vec![0u8; (64 * 1024).min((total - at) as usize)];
            let n = file.read_at(&mut buf, at % size).unwrap();
            buf.truncate(n);
            sent.set(at + n as u64);
            if !s.write_vec(lp, buf).unwrap() {
                return;
            }
        }
    };
    let p = Rc::new(pump);
    let p2 = p.clone();
    s.on_drain(lp, move |lp, s| p2(lp, s)).unwrap();
    p(lp, s);
}

fn send_rounds(
    lp: &mut Loop,
    s: Stream,
    file: Rc<File>,
    size: u64,
    left: u64,
    done: Rc<Cell<u64>>,
) {
    if left == 0 {
        let _ = s.end(lp);
        return;
    }
    let f = file.clone();
    s.send_file(lp, file, 0, size, move |lp, s, r| {
        r.unwrap();
        done.set(done.get() + size);
        send_rounds(lp, s, f, size, left - 1, done);
    })
    .unwrap();
}

fn serve_file(port: u16, path: &str, mode: &str, rounds: u64) {
    let file = Rc::new(File::open(path).unwrap());
    let size = file.metadata().unwrap().len();
    let mut lp = Loop::new().unwrap();
    let done = Rc::new(Cell::new(0u64));
    let started = Rc::new(Cell::new(None));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (d, st, mode) = (done.clone(), started.clone(), mode.to_string());
    Listener::bind(&mut lp, addr, &ListenOptions::default(), move |lp, l, c| {
        let s = c.unwrap();
        l.close(lp, |_, _| {}).unwrap();
        st.set(Some((Instant::now(), cpu_seconds())));
        match mode.as_str() {
            "sendfile" => send_rounds(lp, s, file.clone(), size, rounds, d.clone()),
            _ => copy_loop(lp, s, file.clone(), size, rounds, d.clone()),
        }
    })
    .unwrap();
    println!("serving on {addr}");
    lp.run(RunMode::Default);
    let (t0, c0) = started.get().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - c0;
    let gib = done.get() as f64 / (1u64 << 30) as f64;
    println!(
        "{}: {:.2} GiB in {secs:.2} s = {:.0} MB/s, server CPU {:.3} s/GiB, peak RSS {:.1} MiB",
        std::env::args().nth(4).unwrap(),
        gib,
        done.get() as f64 / secs / 1e6,
        cpu / gib,
        peak_rss_mib()
    );
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

fn read(addr: &str) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    println!("read {total} bytes");
}

fn memory(conns: usize, bytes: usize, mode: &str) {
    let mut lp = Loop::new().unwrap();
    lp.enable_memory_trim(TrimOptions {
        check_every_ms: 200,
        min_interval_ms: 0,
        ..TrimOptions::default()
    });
    let base = rss_mib();
    let block: Rc<[u8]> = vec![b'x'; 64 * 1024].into();
    let servers: Rc<std::cell::RefCell<Vec<Stream>>> = Rc::default();
    let sv = servers.clone();
    let l = Listener::bind(
        &mut lp,
        "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
        &ListenOptions::default(),
        move |_, _, c| sv.borrow_mut().push(c.unwrap()),
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap();
    let clients: Rc<std::cell::RefCell<Vec<Stream>>> = Rc::default();
    for _ in 0..conns {
        let cl = clients.clone();
        Stream::connect(
            &mut lp,
            addr.clone(),
            &ConnectOptions::default(),
            move |_, s, r| {
                r.unwrap();
                cl.borrow_mut().push(s);
            },
        )
        .unwrap();
    }
    while servers.borrow().len() < conns || clients.borrow().len() < conns {
        lp.run(RunMode::Once);
    }
    for &s in servers.borrow().iter() {
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len());
            match mode {
                "shared" => s.write_shared(&mut lp, SharedBytes::new(block.clone()).slice(..n)),
                _ => s.write(&mut lp, &block[..n]),
            }
            .unwrap();
            left -= n;
        }
    }
    for _ in 0..10 {
        lp.run(RunMode::NoWait);
    }
    let queued: usize = servers
        .borrow()
        .iter()
        .map(|&s| s.write_queue_size(&lp).unwrap())
        .sum();
    let loaded = rss_mib();
    println!(
        "{mode}: {conns} conns x {bytes} B unread, {:.1} MiB queued in eddy: RSS {:.1} MiB (baseline {:.1}), {:.1} KiB per connection",
        queued as f64 / (1 << 20) as f64,
        loaded,
        base,
        (loaded - base) * 1024.0 / conns as f64
    );
    for &s in servers.borrow().iter().chain(clients.borrow().iter()) {
        let _ = s.close(&mut lp, |_, _| {});
    }
    l.close(&mut lp, |_, _| {}).unwrap();
    for _ in 0..10 {
        lp.run(RunMode::NoWait);
    }
    let closed = rss_mib();
    let heap = memory::heap_stats();
    let trims = lp.memory_trims();
    // Idle: let the trimmer see a quiet period after the burst.
    let t0 = Instant::now();
    let watch = lp.set_interval(50, move |lp, id| {
        if lp.memory_trims() > trims || t0.elapsed().as_secs() > 10 {
            lp.clear_timer(id);
        }
    });
    let _ = watch;
    lp.run(RunMode::Default);
    println!(
        "{mode}: after closing RSS {:.1} MiB (heap free {:.1} MiB); {:.2} s later, after {} trim(s), RSS {:.1} MiB",
        closed,
        heap.map_or(0.0, |h| h.free as f64 / (1 << 20) as f64),
        t0.elapsed().as_secs_f64(),
        lp.memory_trims() - trims,
        rss_mib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve-file") => serve_file(
            args[2].parse().unwrap(),
            &args[3],
            &args[4],
            args.get(5).map_or(1, |r| r.parse().unwrap()),
        ),
        Some("read") => read(&args[2]),
        Some("memory") => memory(args[2].parse().unwrap(), args[3].parse().unwrap(), &args[4]),
        _ => eprintln!(
            "usage: netplus_measure serve-file PORT FILE sendfile|copy [ROUNDS] | read HOST:PORT | memory CONNS BYTES shared|copy"
        ),
    }
}
