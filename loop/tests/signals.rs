//! Signal handles, with real signals sent to this test process. The tests
//! of this binary share the process's dispositions, so each uses its own
//! signal.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;

use eddy_loop::{Handle, Loop, RunMode, Signal, Timer};

fn send_to_self(signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A watchdog that fails the test instead of letting it hang.
fn watchdog(lp: &mut Loop) -> Timer {
    let t = Timer::new(lp);
    t.start(lp, 30_000, 0, |_, _| panic!("signal never delivered"))
        .unwrap();
    t.unref(lp).unwrap();
    t
}

#[test]
fn sigusr1_reaches_every_watcher_on_two_loops() {
    // Loop B, on another thread, watches SIGUSR1 too.
    let (ready_tx, ready_rx) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let dog = watchdog(&mut lp);
        let got = Rc::new(RefCell::new(0));
        let g = got.clone();
        let s = Signal::new(&mut lp);
        s.start(&mut lp, libc::SIGUSR1, move |lp, me, signum| {
            assert_eq!(signum, libc::SIGUSR1);
            *g.borrow_mut() += 1;
            me.close(lp, |_, _| {}).unwrap();
            dog.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
        ready_tx.send(()).unwrap();
        lp.run(RunMode::Default);
        let n = *got.borrow();
        n
    });
    ready_rx.recv().unwrap();

    let mut lp = Loop::new().unwrap();
    let dog = watchdog(&mut lp);
    let got: Rc<RefCell<Vec<&str>>> = Rc::default();
    let first = Signal::new(&mut lp);
    let second = Signal::new(&mut lp);
    for (name, s) in [("first", first), ("second", second)] {
        let g = got.clone();
        s.start(&mut lp, libc::SIGUSR1, move |lp, me, _| {
            g.borrow_mut().push(name);
            me.close(lp, |_, _| {}).unwrap();
            if g.borrow().len() == 2 {
                dog.close(lp, |_, _| {}).unwrap();
            }
        })
        .unwrap();
    }
    assert_eq!(first.signum(&lp).unwrap(), libc::SIGUSR1);
    send_to_self("USR1");
    lp.run(RunMode::Default);
    assert_eq!(*got.borrow(), vec!["first", "second"]);
    assert_eq!(other.join().unwrap(), 1);
}

#[test]
fn sigchld_is_delivered_when_a_child_exits() {
    let mut lp = Loop::new().unwrap();
    let dog = watchdog(&mut lp);
    let got = Rc::new(RefCell::new(false));
    let g = got.clone();
    let s = Signal::new(&mut lp);
    s.start(&mut lp, libc::SIGCHLD, move |lp, me, signum| {
        assert_eq!(signum, libc::SIGCHLD);
        *g.borrow_mut() = true;
        me.stop(lp).unwrap();
        dog.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    let status = std::process::Command::new("true").status().unwrap();
    assert!(status.success());
    lp.run(RunMode::Default);
    assert!(*got.borrow());
    assert!(!s.is_active(&lp));
}

#[test]
fn signals_that_cannot_be_watched_are_refused() {
    let mut lp = Loop::new().unwrap();
    let s = Signal::new(&mut lp);
    for bad in [0, -1, libc::SIGKILL, libc::SIGSTOP, 65] {
        let err = s.start(&mut lp, bad, |_, _, _| {}).unwrap_err();
        assert_eq!(err.to_string(), format!("signal {bad} cannot be watched"));
    }
    assert!(!s.is_active(&lp));
}

#[test]
fn deliveries_are_counted_and_oneshot_handles_stop_after_one() {
    // Two raises before the loop looks: every handle runs twice, one round
    // per delivery, as in libuv; a oneshot handle runs once and stops.
    let mut lp = Loop::new().unwrap();
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let a = Signal::new(&mut lp);
    let b = Signal::new(&mut lp);
    let once = Signal::new(&mut lp);
    for (name, s) in [("a", a), ("b", b)] {
        let l = log.clone();
        s.start(&mut lp, libc::SIGUSR2, move |_, _, _| {
            l.borrow_mut().push(name)
        })
        .unwrap();
    }
    let l = log.clone();
    once.start_oneshot(&mut lp, libc::SIGUSR2, move |lp, me, _| {
        assert!(me.is_active(lp), "stopped after its callback, as libuv");
        l.borrow_mut().push("once");
    })
    .unwrap();
    // SAFETY: raise has no memory-safety preconditions; SIGUSR2 is caught
    // by the handler the signal handles installed.
    unsafe {
        libc::raise(libc::SIGUSR2);
        libc::raise(libc::SIGUSR2);
    }
    lp.run(RunMode::NoWait);
    assert_eq!(*log.borrow(), ["a", "b", "once", "a", "b"]);
    assert!(!once.is_active(&lp), "a oneshot handle stops");
    assert!(a.is_active(&lp) && b.is_active(&lp));
    for s in [a, b, once] {
        s.close(&mut lp, |_, _| {}).unwrap();
    }
    lp.run(RunMode::Default);
}
