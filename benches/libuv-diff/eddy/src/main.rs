//! The eddy side of the differential harness: the scenarios of
//! `../scenarios.c`, line for line, on eddy-loop. `../run.sh` compares
//! the two traces.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use eddy_loop::{
    Async, Check, Handle, Idle, Interest, Io, Loop, Prepare, Ready, RunMode, Signal, Timer,
};

fn run(lp: &mut Loop, mode: RunMode) -> i32 {
    i32::from(lp.run(mode))
}

fn b(v: bool) -> i32 {
    i32::from(v)
}

fn watch(lp: &mut Loop, fd: RawFd) -> Io {
    // SAFETY: each scenario keeps its fds open until their watchers are
    // closed.
    unsafe { Io::new(lp, fd) }
}

fn phases(lp: &mut Loop) {
    println!("nowait on an empty loop -> {}", run(lp, RunMode::NoWait));
    let (mut a, bb) = UnixStream::pair().unwrap();
    a.write_all(b"x").unwrap();
    let poll = watch(lp, bb.as_raw_fd());
    poll.start(lp, Interest::READABLE, |lp, p, _| {
        println!("poll");
        p.stop(lp).unwrap();
    })
    .unwrap();
    let timer = Timer::new(lp);
    timer
        .start(lp, 0, 0, |lp, t| {
            println!("timer");
            t.close(lp, |_, _| println!("close")).unwrap();
        })
        .unwrap();
    let idle = Idle::new(lp);
    idle.start(lp, |lp, h| {
        println!("idle");
        h.stop(lp).unwrap();
    })
    .unwrap();
    let prepare = Prepare::new(lp);
    prepare
        .start(lp, |lp, h| {
            println!("prepare");
            h.stop(lp).unwrap();
        })
        .unwrap();
    let check = Check::new(lp);
    check
        .start(lp, |lp, h| {
            println!("check");
            h.stop(lp).unwrap();
        })
        .unwrap();
    lp.update_time();
    println!("once -> {}", run(lp, RunMode::Once));
    println!("nowait -> {}", run(lp, RunMode::NoWait));
    poll.close(lp, |_, _| {}).unwrap();
    idle.close(lp, |_, _| {}).unwrap();
    prepare.close(lp, |_, _| {}).unwrap();
    check.close(lp, |_, _| {}).unwrap();
    println!("default -> {}", run(lp, RunMode::Default));
    drop((a, bb));
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn close_all(lp: &mut Loop, timers: &[Timer]) {
    for t in timers {
        let _ = t.close(lp, |_, _| {});
    }
    lp.run(RunMode::Default);
}

fn timers(lp: &mut Loop) {
    println!("-- equal deadlines");
    let ts: Vec<Timer> = (0..3).map(|_| Timer::new(lp)).collect();
    for (i, t) in ts.iter().enumerate() {
        t.start(lp, 5, 0, move |_, _| println!("{}", NAMES[i]))
            .unwrap();
    }
    lp.run(RunMode::Default);
    close_all(lp, &ts);

    println!("-- restart in callback");
    let count = Rc::new(Cell::new(0));
    let t = Timer::new(lp);
    fn restart(lp: &mut Loop, t: Timer, count: Rc<Cell<i32>>) {
        println!("a");
        count.set(count.get() + 1);
        if count.get() < 2 {
            let c = count.clone();
            t.start(lp, 1, 0, move |lp, t| restart(lp, t, c.clone()))
                .unwrap();
        }
    }
    let c = count.clone();
    t.start(lp, 1, 0, move |lp, t| restart(lp, t, c.clone()))
        .unwrap();
    lp.run(RunMode::Default);
    close_all(lp, &[t]);

    println!("-- 0 ms re-arm");
    let iters = Rc::new(Cell::new(0));
    let iter = Idle::new(lp);
    let i2 = iters.clone();
    iter.start(lp, move |_, _| i2.set(i2.get() + 1)).unwrap();
    iter.unref(lp).unwrap();
    let count = Rc::new(Cell::new(0));
    let t = Timer::new(lp);
    let (c, i3) = (count.clone(), iters.clone());
    t.start(lp, 0, 0, move |lp, t| {
        println!("zero at iteration {}", i3.get());
        c.set(c.get() + 1);
        if c.get() < 3 {
            t.rearm(lp, 0).unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::Default);
    iter.close(lp, |_, _| {}).unwrap();
    close_all(lp, &[t]);

    println!("-- repeat after a 23 ms stall");
    let count = Rc::new(Cell::new(0));
    let t = Timer::new(lp);
    let c = count.clone();
    let last = Rc::new(Cell::new(0u64));
    t.start(lp, 10, 40, move |lp, t| {
        let now = lp.now();
        println!("repeat due_in={}", t.due_in(lp).unwrap());
        if c.get() > 0 {
            let yes = if now - last.get() >= 40 { "yes" } else { "no" };
            println!("interval >= repeat: {yes}");
        }
        last.set(now);
        c.set(c.get() + 1);
        if c.get() == 1 {
            std::thread::sleep(Duration::from_millis(23));
        }
        if c.get() == 3 {
            t.stop(lp).unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::Default);
    close_all(lp, &[t]);

    println!("-- again");
    let t = Timer::new(lp);
    let shown = match t.again(lp) {
        Err(eddy_loop::Error::TimerNotStarted) => "EINVAL",
        _ => "ok",
    };
    println!("again before start -> {shown}");
    t.start(lp, 50, 0, |_, _| println!("a")).unwrap();
    let r = if t.again(lp).is_ok() { 0 } else { -1 };
    println!("again, no repeat -> {r}, due_in={}", t.due_in(lp).unwrap());
    t.set_repeat(lp, 2).unwrap();
    t.again(lp).unwrap();
    println!("again with repeat 2: due_in={}", t.due_in(lp).unwrap());
    t.stop(lp).unwrap();
    close_all(lp, &[t]);

    println!("-- stop from another timer's callback");
    let a = Timer::new(lp);
    let bt = Timer::new(lp);
    a.start(lp, 2, 0, move |lp, _| {
        println!("a stops b");
        bt.stop(lp).unwrap();
    })
    .unwrap();
    bt.start(lp, 2, 0, |_, _| println!("b")).unwrap();
    lp.run(RunMode::Default);
    close_all(lp, &[a, bt]);
}

fn timer_from_close(lp: &mut Loop) {
    let check = Check::new(lp);
    check
        .start(lp, |lp, h| {
            println!("check");
            h.stop(lp).unwrap();
        })
        .unwrap();
    let t = Timer::new(lp);
    t.close(lp, |lp, _| {
        println!("close");
        let t = Timer::new(lp);
        t.start(lp, 0, 0, |lp, t| {
            println!("timer from close");
            t.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    })
    .unwrap();
    println!("once -> {}", run(lp, RunMode::Once));
    println!("once -> {}", run(lp, RunMode::Once));
    check.close(lp, |_, _| {}).unwrap();
    println!("default -> {}", run(lp, RunMode::Default));
}

fn close_order(lp: &mut Loop) {
    let ts: Vec<Timer> = (0..3).map(|_| Timer::new(lp)).collect();
    for t in &ts {
        t.start(lp, 1000, 0, |_, _| println!("fired")).unwrap();
    }
    for (i, t) in ts.iter().enumerate() {
        t.close(lp, move |lp, me| {
            println!(
                "close {}: closing={} active={}",
                NAMES[i],
                b(me.is_closing(lp)),
                b(me.is_active(lp))
            );
        })
        .unwrap();
    }
    println!(
        "after close: closing={} active={}",
        b(ts[0].is_closing(lp)),
        b(ts[0].is_active(lp))
    );
    println!("default -> {}", run(lp, RunMode::Default));
}

fn refs(lp: &mut Loop) {
    let t = Timer::new(lp);
    t.start(lp, 1, 0, |_, _| println!("timer")).unwrap();
    t.unref(lp).unwrap();
    println!("has_ref={} alive={}", b(t.has_ref(lp)), b(lp.alive()));
    println!(
        "default with an unref'd timer -> {}",
        run(lp, RunMode::Default)
    );
    t.ref_(lp).unwrap();
    println!("has_ref={} alive={}", b(t.has_ref(lp)), b(lp.alive()));
    println!("default -> {}", run(lp, RunMode::Default));
    let idle = Idle::new(lp);
    idle.start(lp, |lp, h| h.stop(lp).unwrap()).unwrap();
    idle.unref(lp).unwrap();
    println!(
        "nowait with an unref'd idle -> {}",
        run(lp, RunMode::NoWait)
    );
    t.close(lp, |_, _| {}).unwrap();
    idle.close(lp, |_, _| {}).unwrap();
    println!("alive while closing={}", b(lp.alive()));
    println!("default -> {}", run(lp, RunMode::Default));
}

fn asyncs(lp: &mut Loop) {
    let a = Async::new(lp, |_, _| println!("async"));
    let sender = a.sender(lp).unwrap();
    for _ in 0..3 {
        sender.send().unwrap();
    }
    println!("nowait -> {}", run(lp, RunMode::NoWait));
    sender.send().unwrap();
    a.close(lp, |_, _| {}).unwrap();
    // eddy answers a send after close with an error; libuv takes it.
    let _ = sender.send();
    println!(
        "default after send and close -> {}",
        run(lp, RunMode::Default)
    );
}

fn signals(lp: &mut Loop) {
    let sg: Vec<Signal> = (0..3).map(|_| Signal::new(lp)).collect();
    let show = |i: usize| {
        move |lp: &mut Loop, s: Signal, signum: i32| {
            println!("{} signal {signum} active={}", NAMES[i], b(s.is_active(lp)));
        }
    };
    sg[0].start(lp, libc::SIGUSR1, show(0)).unwrap();
    sg[1].start(lp, libc::SIGUSR1, show(1)).unwrap();
    sg[2].start_oneshot(lp, libc::SIGUSR2, show(2)).unwrap();
    // SAFETY: raise has no memory-safety preconditions; both signals are
    // caught by the handler the signal handles installed.
    unsafe {
        libc::raise(libc::SIGUSR1);
        libc::raise(libc::SIGUSR1);
        libc::raise(libc::SIGUSR2);
    }
    println!("nowait -> {}", run(lp, RunMode::NoWait));
    println!("oneshot active={}", b(sg[2].is_active(lp)));
    for s in &sg {
        s.close(lp, |_, _| {}).unwrap();
    }
    println!("default -> {}", run(lp, RunMode::Default));
}

fn io_print(what: &str, ready: Ready) {
    match ready.error() {
        Some(e) => println!(
            "{what}: error {}",
            errno_name(e.raw_os_error().unwrap_or(0))
        ),
        None => println!(
            "{what}: readable={} writable={}",
            b(ready.is_readable()),
            b(ready.is_writable())
        ),
    }
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EBADF => "EBADF",
        libc::EPIPE => "EPIPE",
        libc::EIO => "EIO",
        libc::ECONNRESET => "ECONNRESET",
        _ => "E?",
    }
}

fn pipe() -> (std::io::PipeReader, std::io::PipeWriter) {
    std::io::pipe().unwrap()
}

fn io_pipes(lp: &mut Loop) {
    println!("-- readable");
    let (reader, mut writer) = pipe();
    writer.write_all(b"hi").unwrap();
    let reader = Rc::new(RefCell::new(reader));
    let io = watch(lp, reader.borrow().as_raw_fd());
    let r = reader.clone();
    io.start(lp, Interest::READABLE, move |lp, p, ready| {
        io_print("readable", ready);
        let mut buf = [0u8; 8];
        println!("read -> {}", r.borrow_mut().read(&mut buf).unwrap());
        p.stop(lp).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    io.close(lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);

    println!("-- hang-up");
    drop(writer);
    let calls = Rc::new(Cell::new(0));
    let io = watch(lp, reader.borrow().as_raw_fd());
    let (r, c) = (reader.clone(), calls.clone());
    io.start(lp, Interest::READABLE, move |lp, p, ready| {
        io_print("hang-up", ready);
        c.set(c.get() + 1);
        if c.get() > 3 {
            println!("spinning");
            p.stop(lp).unwrap();
            return;
        }
        if ready.is_readable() {
            let mut buf = [0u8; 8];
            let n = r.borrow_mut().read(&mut buf).unwrap();
            println!("read -> {n}");
            if n == 0 {
                p.close(lp, |_, _| {}).unwrap();
            }
        }
    })
    .unwrap();
    for _ in 0..4 {
        lp.run(RunMode::NoWait);
    }
    let _ = io.close(lp, |_, _| {});
    lp.run(RunMode::Default);
    drop(reader);

    println!("-- error");
    let (reader, writer) = pipe();
    drop(reader);
    let calls = Rc::new(Cell::new(0));
    let io = watch(lp, writer.as_raw_fd());
    let c = calls.clone();
    io.start(lp, Interest::WRITABLE, move |lp, p, ready| {
        io_print("error", ready);
        c.set(c.get() + 1);
        if c.get() > 3 {
            println!("spinning");
            p.stop(lp).unwrap();
            return;
        }
        println!("active={}", b(p.is_active(lp)));
    })
    .unwrap();
    for _ in 0..4 {
        lp.run(RunMode::NoWait);
    }
    println!(
        "after: active={} alive={}",
        b(io.is_active(lp)),
        b(lp.alive())
    );
    io.close(lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
    drop(writer);

    println!("-- stop in callback");
    let (mut a1, a2) = UnixStream::pair().unwrap();
    let (mut b1, b2) = UnixStream::pair().unwrap();
    a1.write_all(b"a").unwrap();
    b1.write_all(b"b").unwrap();
    let calls = Rc::new(Cell::new(0));
    let pair: Rc<RefCell<Vec<Io>>> = Rc::default();
    for fd in [a2.as_raw_fd(), b2.as_raw_fd()] {
        let io = watch(lp, fd);
        pair.borrow_mut().push(io);
        let (c, pr) = (calls.clone(), pair.clone());
        io.start(lp, Interest::READABLE, move |lp, me, _| {
            c.set(c.get() + 1);
            let other = *pr.borrow().iter().find(|w| **w != me).unwrap();
            other.stop(lp).unwrap();
            me.stop(lp).unwrap();
        })
        .unwrap();
    }
    lp.run(RunMode::Once);
    println!("callbacks: {}", calls.get());
    for io in pair.borrow().iter() {
        io.close(lp, |_, _| {}).unwrap();
    }
    lp.run(RunMode::Default);

    println!("-- fd reuse");
    a1.write_all(b"a").unwrap();
    b1.write_all(b"b").unwrap();
    let calls = Rc::new(Cell::new(0));
    type Slot = (Io, Option<UnixStream>);
    let slots: Rc<RefCell<Vec<Slot>>> = Rc::default();
    let fresh: Rc<RefCell<Vec<(UnixStream, UnixStream, Io)>>> = Rc::default();
    for s in [a2, b2] {
        let io = watch(lp, s.as_raw_fd());
        slots.borrow_mut().push((io, Some(s)));
        let (c, sl, fr) = (calls.clone(), slots.clone(), fresh.clone());
        io.start(lp, Interest::READABLE, move |lp, me, _| {
            c.set(c.get() + 1);
            me.stop(lp).unwrap();
            let mut sl = sl.borrow_mut();
            let other = sl.iter_mut().find(|(w, _)| *w != me).unwrap();
            other.0.close(lp, |_, _| {}).unwrap();
            let old = other.1.take().unwrap();
            let old_fd = old.as_raw_fd();
            drop(old); // its number is free now
            let (x, y) = UnixStream::pair().unwrap();
            let same = if x.as_raw_fd() == old_fd { "yes" } else { "no" };
            println!("fresh fd reuses the number: {same}");
            let newcomer = watch(lp, x.as_raw_fd());
            let c = c.clone();
            newcomer
                .start(lp, Interest::READABLE, move |_, _, _| c.set(c.get() + 100))
                .unwrap();
            fr.borrow_mut().push((x, y, newcomer));
        })
        .unwrap();
    }
    lp.run(RunMode::Once);
    println!("callbacks: {}", calls.get());
    for (_, _, io) in fresh.borrow().iter() {
        io.close(lp, |_, _| {}).unwrap();
    }
    for (io, _) in slots.borrow().iter() {
        if io.is_active(lp) || !io.is_closing(lp) {
            let _ = io.close(lp, |_, _| {});
        }
    }
    lp.run(RunMode::Default);
    drop((a1, b1));
}

fn stop(lp: &mut Loop) {
    let t = Timer::new(lp);
    t.start(lp, 0, 0, |lp, _| {
        println!("timer stops the loop");
        lp.stop();
    })
    .unwrap();
    let idle = Idle::new(lp);
    idle.start(lp, |lp, h| {
        println!("idle");
        h.stop(lp).unwrap();
    })
    .unwrap();
    println!("default -> {}", run(lp, RunMode::Default));
    println!("default -> {}", run(lp, RunMode::Default));
    t.close(lp, |_, _| {}).unwrap();
    idle.close(lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

fn work(lp: &mut Loop) {
    let after = |name: char| {
        move |_: &mut Loop, _: eddy_loop::WorkHandle, r: Result<(), eddy_loop::WorkError>| {
            let shown = match r {
                Err(eddy_loop::WorkError::Cancelled) => "cancelled",
                _ => "ok",
            };
            println!("after {name}: {shown}");
        }
    };
    let a = lp
        .queue_work(|| std::thread::sleep(Duration::from_millis(60)), after('A'))
        .unwrap();
    let bw = lp.queue_work(|| (), after('B')).unwrap();
    let r = if lp.cancel_work(bw).is_ok() { 0 } else { -1 };
    println!("cancel B -> {r}");
    let t = Timer::new(lp);
    t.start(lp, 20, 0, move |lp, t| {
        let shown = match lp.cancel_work(a) {
            Err(eddy_loop::Error::WorkBusy) => "busy",
            Ok(()) => "ok",
            Err(_) => "error",
        };
        println!("cancel A while it runs -> {shown}");
        t.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    println!("default -> {}", run(lp, RunMode::Default));
}

fn main() {
    let all: [(&str, fn(&mut Loop)); 10] = [
        ("phases", phases),
        ("timers", timers),
        ("timer_from_close", timer_from_close),
        ("close_order", close_order),
        ("refs", refs),
        ("async", asyncs),
        ("signals", signals),
        ("io_pipes", io_pipes),
        ("stop", stop),
        ("work", work),
    ];
    let wanted = std::env::args().nth(1).unwrap_or_default();
    let Some((_, scenario)) = all.iter().find(|(name, _)| *name == wanted) else {
        eprintln!("usage: eddy-libuv-diff SCENARIO");
        std::process::exit(2);
    };
    let mut lp = Loop::new().unwrap();
    scenario(&mut lp);
}
