//! Loop metrics: what each figure counts, checked with callbacks that do a
//! known amount of work (a spin on the monotonic clock, not a sleep) and
//! timers that must wait.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use eddy_loop::{Check, Handle, Idle, Interest, Io, Loop, LoopPhase, RunMode, Timer};

/// Keeps the CPU busy for `ms` milliseconds: simulated work.
fn work(ms: u64) {
    let until = Loop::hrtime() + ms * 1_000_000;
    while Loop::hrtime() < until {
        std::hint::spin_loop();
    }
}

#[test]
fn a_blocking_wait_is_idle_time_and_a_fired_timer_is_counted() {
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    t.start(&mut lp, 30, 0, |lp, t| t.close(lp, |_, _| {}).unwrap())
        .unwrap();
    lp.run(RunMode::Default);
    let m = lp.metrics();
    assert!(m.enabled);
    assert!(m.iterations >= 2, "{m:?}");
    assert_eq!(m.timer_delay.count(), 1);
    assert!(m.elapsed >= Duration::from_millis(29), "{m:?}");
    // Nothing but the wait can fill the 30 ms.
    assert!(m.idle >= Duration::from_millis(15), "{m:?}");
    assert!(m.idle + m.phases.total() <= m.elapsed, "{m:?}");
    assert_eq!(m.iteration_busy.count(), m.iterations);
}

#[test]
fn each_phase_gets_the_time_its_callbacks_ran() {
    let mut lp = Loop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"x").unwrap();
    // SAFETY: `b` stays open until the watcher is closed below.
    let io = unsafe { Io::new(&mut lp, b.as_raw_fd()) };
    io.start(&mut lp, Interest::READABLE, |lp, io, _| {
        work(3);
        io.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    let check = Check::new(&mut lp);
    check
        .start(&mut lp, |lp, c| {
            work(2);
            c.close(lp, |_, _| work(1)).unwrap();
        })
        .unwrap();
    let idle = Idle::new(&mut lp);
    idle.start(&mut lp, |lp, i| {
        work(4);
        i.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    lp.queue_pending(|_| work(2));
    lp.run(RunMode::Default);
    let m = lp.metrics();
    let ms = |p| m.phases.get(p).as_secs_f64() * 1e3;
    assert!(ms(LoopPhase::Poll) >= 3.0, "{m:?}");
    assert!(ms(LoopPhase::Check) >= 2.0, "{m:?}");
    assert!(ms(LoopPhase::Idle) >= 4.0, "{m:?}");
    assert!(ms(LoopPhase::Pending) >= 2.0, "{m:?}");
    assert!(ms(LoopPhase::Closing) >= 1.0, "{m:?}");
    assert!(m.events >= 1, "{m:?}");
    // One iteration held pending, idle, poll, check and closing: 12 ms.
    assert!(m.iteration_busy.max() >= Duration::from_millis(12), "{m:?}");
    assert!(m.phases.total() <= m.elapsed);
    drop(a);
}

#[test]
fn a_timer_held_up_by_a_slow_callback_fires_late() {
    let mut lp = Loop::new().unwrap();
    let slow = Timer::new(&mut lp);
    slow.start(&mut lp, 1, 0, |lp, t| {
        work(12);
        t.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    let held = Timer::new(&mut lp);
    held.start(&mut lp, 5, 0, |lp, t| t.close(lp, |_, _| {}).unwrap())
        .unwrap();
    lp.run(RunMode::Default);
    let m = lp.metrics();
    assert_eq!(m.timer_delay.count(), 2);
    assert!(m.timer_delay.max() >= Duration::from_millis(6), "{m:?}");
    assert!(m.timer_delay.p99() <= m.timer_delay.max());
    assert!(m.phases.get(LoopPhase::Timers) >= Duration::from_millis(12));
}

#[test]
fn utilization_is_near_one_when_busy_and_measured_over_a_window() {
    let mut lp = Loop::new().unwrap();
    lp.set_metrics_window(Duration::from_millis(5));
    let idle = Idle::new(&mut lp);
    let mut runs = 0;
    idle.start(&mut lp, move |lp, i| {
        work(2);
        runs += 1;
        if runs == 10 {
            i.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    let before = lp.metrics();
    lp.run(RunMode::Default);
    let busy = lp.metrics();
    let u = busy.utilization.expect("a 5 ms window has ended");
    assert!(u > 0.5, "{busy:?}");
    assert!(busy.utilization_since(&before) > 0.5);

    let t = Timer::new(&mut lp);
    t.start(&mut lp, 40, 0, |lp, t| t.close(lp, |_, _| {}).unwrap())
        .unwrap();
    lp.run(RunMode::Default);
    let waited = lp.metrics();
    assert!(waited.utilization_since(&busy) < 0.5, "{waited:?}");
}

#[test]
fn recording_can_be_switched_off_and_on_again_from_zero() {
    let mut lp = Loop::new().unwrap();
    lp.set_metrics_enabled(false);
    for _ in 0..3 {
        lp.queue_pending(|_| {});
        lp.run(RunMode::NoWait);
    }
    let off = lp.metrics();
    assert!(!off.enabled);
    assert_eq!(off.iterations, 0);
    assert_eq!(off.phases.total(), Duration::ZERO);

    lp.set_metrics_enabled(true);
    lp.queue_pending(|_| {});
    lp.run(RunMode::NoWait);
    let on = lp.metrics();
    assert!(on.enabled);
    assert_eq!(on.iterations, 1);
    assert_eq!(on.iteration_busy.count(), 1, "NoWait closes its iteration");
}
