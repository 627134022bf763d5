//! Async handles: sends from many threads coalesce, and none is lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eddy_loop::{Async, Handle, Loop, RunMode, Timer};

const THREADS: usize = 8;
const SENDS: usize = 10_000;

#[test]
fn sends_from_eight_threads_are_never_lost() {
    let mut lp = Loop::new().unwrap();
    let produced = Arc::new(AtomicUsize::new(0));
    let calls = std::rc::Rc::new(std::cell::Cell::new(0usize));

    // A watchdog bounds the test if a send were lost; it is unref'd so it
    // does not keep the loop alive by itself.
    let watchdog = Timer::new(&mut lp);
    watchdog
        .start(&mut lp, 30_000, 0, |_, _| panic!("a send was lost"))
        .unwrap();
    watchdog.unref(&mut lp).unwrap();

    let p = produced.clone();
    let c = calls.clone();
    let handle = Async::new(&mut lp, move |lp, me| {
        c.set(c.get() + 1);
        // Everything produced before the send that woke us is visible.
        if p.load(Ordering::Acquire) == THREADS * SENDS {
            me.close(lp, |_, _| {}).unwrap();
            watchdog.close(lp, |_, _| {}).unwrap();
        }
    });
    let sender = handle.sender(&mut lp).unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let sender = sender.clone();
            let produced = produced.clone();
            std::thread::spawn(move || {
                for _ in 0..SENDS {
                    produced.fetch_add(1, Ordering::AcqRel);
                    sender.send().unwrap();
                }
            })
        })
        .collect();
    drop(sender);
    assert!(!lp.run(RunMode::Default));
    for t in threads {
        t.join().unwrap();
    }
    assert!(calls.get() >= 1 && calls.get() <= THREADS * SENDS);
}

#[test]
fn a_stopped_async_remembers_a_send_until_started() {
    let mut lp = Loop::new().unwrap();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    let handle = Async::new(&mut lp, move |lp, me| {
        c.set(c.get() + 1);
        me.close(lp, |_, _| {}).unwrap();
    });
    let sender = handle.sender(&mut lp).unwrap();
    handle.stop(&mut lp).unwrap();
    std::thread::spawn(move || sender.send().unwrap())
        .join()
        .unwrap();
    assert!(
        !lp.run(RunMode::NoWait),
        "stopped: nothing keeps the loop alive"
    );
    assert_eq!(calls.get(), 0);
    handle.start(&mut lp).unwrap();
    lp.run(RunMode::Default);
    assert_eq!(calls.get(), 1);
}
