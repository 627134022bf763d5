//! One iteration's phase order, the run modes, ref/unref, `stop`, and what
//! happens to ids of closed handles.

use std::cell::RefCell;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use eddy_loop::{
    Async, Check, Error, Handle, Idle, Interest, Io, Loop, Prepare, RunMode, Signal, Timer,
};

type Log = Rc<RefCell<Vec<&'static str>>>;

/// A watcher for `fd`.
fn watch(lp: &mut Loop, fd: std::os::fd::RawFd) -> Io {
    // SAFETY: the tests keep each fd (stdin included) open until its
    // watcher is stopped or closed, or until the loop is dropped.
    unsafe { Io::new(lp, fd) }
}

#[test]
fn one_iteration_runs_the_phases_in_libuv_order() {
    let mut lp = Loop::new().unwrap();
    let log: Log = Rc::default();

    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"x").unwrap();
    let io = watch(&mut lp, b.as_raw_fd());
    let l = log.clone();
    io.start(&mut lp, Interest::READABLE, move |lp, io, ready| {
        assert!(ready.is_readable());
        l.borrow_mut().push("poll");
        io.stop(lp).unwrap();
    })
    .unwrap();

    let timer = Timer::new(&mut lp);
    let l = log.clone();
    timer
        .start(&mut lp, 0, 0, move |lp, t| {
            l.borrow_mut().push("timer");
            let l = l.clone();
            t.close(lp, move |_, _| l.borrow_mut().push("close"))
                .unwrap();
        })
        .unwrap();
    let l = log.clone();
    lp.queue_pending(move |_| l.borrow_mut().push("pending"));
    let idle = Idle::new(&mut lp);
    let l = log.clone();
    idle.start(&mut lp, move |lp, h| {
        l.borrow_mut().push("idle");
        h.stop(lp).unwrap();
    })
    .unwrap();
    let prepare = Prepare::new(&mut lp);
    let l = log.clone();
    prepare
        .start(&mut lp, move |lp, h| {
            l.borrow_mut().push("prepare");
            h.stop(lp).unwrap();
        })
        .unwrap();
    let check = Check::new(&mut lp);
    let l = log.clone();
    check
        .start(&mut lp, move |lp, h| {
            l.borrow_mut().push("check");
            h.stop(lp).unwrap();
        })
        .unwrap();

    lp.update_time();
    // libuv 1.45+: in Once and NoWait, due timers run last, after the
    // close callbacks; the timer's own close waits for the next iteration.
    lp.run(RunMode::Once);
    assert_eq!(
        *log.borrow(),
        vec!["pending", "idle", "prepare", "poll", "check", "timer"]
    );
    lp.run(RunMode::NoWait);
    assert_eq!(log.borrow().last(), Some(&"close"));
}

#[test]
fn default_mode_runs_due_timers_first_then_again_after_closing() {
    let mut lp = Loop::new().unwrap();
    let log: Log = Rc::default();
    let first = Timer::new(&mut lp);
    let l = log.clone();
    first
        .start(&mut lp, 0, 0, move |lp, t| {
            l.borrow_mut().push("timer");
            let l = l.clone();
            t.close(lp, move |lp, _| {
                l.borrow_mut().push("close");
                // Started from a close callback: fires in this iteration.
                let l = l.clone();
                let t = Timer::new(lp);
                t.start(lp, 0, 0, move |lp, t| {
                    l.borrow_mut().push("timer from close");
                    t.close(lp, |_, _| {}).unwrap();
                })
                .unwrap();
            })
            .unwrap();
        })
        .unwrap();
    let check = Check::new(&mut lp);
    let l = log.clone();
    check
        .start(&mut lp, move |lp, h| {
            l.borrow_mut().push("check");
            h.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(
        *log.borrow(),
        vec!["timer", "check", "close", "timer from close"]
    );
}

#[test]
fn stop_from_a_first_round_timer_returns_before_idle_prepare_and_check() {
    let mut lp = Loop::new().unwrap();
    let log: Log = Rc::default();
    let t = Timer::new(&mut lp);
    let l = log.clone();
    t.start(&mut lp, 0, 0, move |lp, _| {
        l.borrow_mut().push("timer");
        lp.stop();
    })
    .unwrap();
    let idle = Idle::new(&mut lp);
    let l = log.clone();
    idle.start(&mut lp, move |lp, h| {
        l.borrow_mut().push("idle");
        h.stop(lp).unwrap();
    })
    .unwrap();
    assert!(lp.run(RunMode::Default), "still alive: the idle handle");
    assert_eq!(*log.borrow(), vec!["timer"]);
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*log.borrow(), vec!["timer", "idle"]);
}

#[test]
fn default_mode_returns_when_nothing_keeps_the_loop_alive() {
    let mut lp = Loop::new().unwrap();
    assert!(!lp.alive());
    assert!(!lp.run(RunMode::Default));

    // A pending callback and a closing handle each keep it alive.
    lp.queue_pending(|_| {});
    assert!(lp.alive());
    let t = Timer::new(&mut lp);
    t.close(&mut lp, |_, _| {}).unwrap();
    assert!(!lp.run(RunMode::Default));
    assert!(!lp.alive());
}

#[test]
fn nowait_never_blocks_and_once_blocks_for_one_event() {
    let mut lp = Loop::new().unwrap();
    let fired = Rc::new(RefCell::new(0));
    let long = Timer::new(&mut lp);
    let f = fired.clone();
    long.start(&mut lp, 60_000, 0, move |_, _| *f.borrow_mut() += 100)
        .unwrap();
    assert!(lp.run(RunMode::NoWait), "the 60 s timer keeps it alive");
    assert_eq!(*fired.borrow(), 0);

    let short = Timer::new(&mut lp);
    let f = fired.clone();
    short
        .start(&mut lp, 2, 0, move |_, _| *f.borrow_mut() += 1)
        .unwrap();
    // Once blocks until the short timer is due, and runs it.
    assert!(lp.run(RunMode::Once));
    assert_eq!(*fired.borrow(), 1);
    long.close(&mut lp, |_, _| {}).unwrap();
    assert!(!lp.run(RunMode::Once), "closing phase ran: nothing left");
}

#[test]
fn stop_ends_run_after_the_current_iteration() {
    let mut lp = Loop::new().unwrap();
    let calls = Rc::new(RefCell::new(0));
    let idle = Idle::new(&mut lp);
    let c = calls.clone();
    idle.start(&mut lp, move |lp, _| {
        *c.borrow_mut() += 1;
        if *c.borrow() == 3 {
            lp.stop();
        }
    })
    .unwrap();
    assert!(lp.run(RunMode::Default), "still alive: the idle handle");
    assert_eq!(*calls.borrow(), 3);
    // The stop request does not outlive the run it ended.
    let c = calls.clone();
    idle.start(&mut lp, move |lp, h| {
        *c.borrow_mut() += 1;
        h.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*calls.borrow(), 4);
}

/// Starts `h`, checks it keeps the loop alive, unrefs it, checks it no
/// longer does, refs it again, then closes it.
fn check_ref_unref<H: Handle>(lp: &mut Loop, h: H) {
    assert!(h.is_active(lp));
    assert!(h.has_ref(lp));
    assert!(lp.alive());
    h.unref(lp).unwrap();
    assert!(!h.has_ref(lp));
    assert!(h.is_active(lp), "an unref'd handle still runs");
    assert!(!lp.alive());
    assert!(!lp.run(RunMode::Default), "run returns at once");
    h.ref_(lp).unwrap();
    assert!(lp.alive());
    h.close(lp, |_, _| {}).unwrap();
    assert!(!h.is_active(lp));
    lp.run(RunMode::Default);
    assert!(!lp.alive());
}

#[test]
fn every_handle_kind_can_be_refd_and_unrefd() {
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    t.start(&mut lp, 60_000, 0, |_, _| {}).unwrap();
    check_ref_unref(&mut lp, t);

    let i = Idle::new(&mut lp);
    i.start(&mut lp, |_, _| {}).unwrap();
    i.unref(&mut lp).unwrap();
    // An unref'd idle handle still runs when the loop runs for another reason.
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    i.start(&mut lp, move |_, _| *r.borrow_mut() = true)
        .unwrap();
    lp.queue_pending(|_| {});
    lp.run(RunMode::Default);
    assert!(*ran.borrow());
    i.ref_(&mut lp).unwrap();
    check_ref_unref(&mut lp, i);

    let p = Prepare::new(&mut lp);
    p.start(&mut lp, |_, _| {}).unwrap();
    check_ref_unref(&mut lp, p);
    let c = Check::new(&mut lp);
    c.start(&mut lp, |_, _| {}).unwrap();
    check_ref_unref(&mut lp, c);
    let a = Async::new(&mut lp, |_, _| {});
    check_ref_unref(&mut lp, a);

    let (_x, y) = UnixStream::pair().unwrap();
    let io = watch(&mut lp, y.as_raw_fd());
    io.start(&mut lp, Interest::READABLE, |_, _, _| {}).unwrap();
    check_ref_unref(&mut lp, io);

    let s = Signal::new(&mut lp);
    s.start(&mut lp, libc::SIGHUP, |_, _, _| {}).unwrap();
    check_ref_unref(&mut lp, s);
}

#[test]
fn ids_of_closed_handles_are_stale_even_when_the_slot_is_reused() {
    let mut lp = Loop::new().unwrap();
    let old = Timer::new(&mut lp);
    old.start(&mut lp, 60_000, 0, |_, _| {}).unwrap();
    old.close(&mut lp, |_, _| {}).unwrap();
    // Closing: every operation fails cleanly, a second close too.
    assert!(matches!(old.stop(&mut lp), Err(Error::Closed("timer"))));
    assert!(matches!(
        old.close(&mut lp, |_, _| {}),
        Err(Error::Closed("timer"))
    ));
    lp.run(RunMode::Default);

    let fired = Rc::new(RefCell::new(false));
    let new = Timer::new(&mut lp);
    assert_ne!(old, new);
    let f = fired.clone();
    new.start(&mut lp, 1, 0, move |_, _| *f.borrow_mut() = true)
        .unwrap();
    let err = old.start(&mut lp, 1, 0, |_, _| {
        panic!("stale id reached a new handle")
    });
    assert!(matches!(err, Err(Error::Closed("timer"))));
    assert_eq!(err.unwrap_err().to_string(), "timer handle is closed");
    assert!(old.stop(&mut lp).is_err());
    assert!(old.unref(&mut lp).is_err());
    assert!(!old.is_active(&lp) && !old.is_closing(&lp));
    assert!(
        new.is_active(&lp),
        "the stale id did not touch the new handle"
    );
    lp.run(RunMode::Default);
    assert!(*fired.borrow());

    // Every kind reports its own name.
    let i = Idle::new(&mut lp);
    i.close(&mut lp, |_, _| {}).unwrap();
    assert!(matches!(
        i.start(&mut lp, |_, _| {}),
        Err(Error::Closed("idle"))
    ));
    let io = watch(&mut lp, 0);
    io.close(&mut lp, |_, _| {}).unwrap();
    assert!(matches!(io.stop(&mut lp), Err(Error::Closed("io"))));
    let a = Async::new(&mut lp, |_, _| {});
    let sender = a.sender(&mut lp).unwrap();
    a.close(&mut lp, |_, _| {}).unwrap();
    assert!(matches!(sender.send(), Err(Error::Closed("async"))));
    lp.run(RunMode::Default);
}

#[test]
fn a_handle_started_inside_a_phase_waits_for_the_next_iteration() {
    let mut lp = Loop::new().unwrap();
    let log: Log = Rc::default();
    let first = Idle::new(&mut lp);
    let second = Idle::new(&mut lp);
    let l = log.clone();
    first
        .start(&mut lp, move |lp, h| {
            l.borrow_mut().push("first");
            let l = l.clone();
            second
                .start(lp, move |lp, h2| {
                    l.borrow_mut().push("second");
                    h2.close(lp, |_, _| {}).unwrap();
                })
                .unwrap();
            h.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    lp.run(RunMode::Once);
    assert_eq!(*log.borrow(), vec!["first"]);
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), vec!["first", "second"]);
}
