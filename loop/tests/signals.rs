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
