//! The work pool: results come back on the loop thread, queued items can
//! be cancelled, and the loop stays alive until every `after` has run.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use eddy_loop::{Error, Loop, RunMode, WorkError};

const ITEMS: usize = 10_000;

/// The pool's size, read the way eddy-loop reads it.
fn pool_size() -> usize {
    std::env::var("EDDY_THREADPOOL_SIZE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(4, |n| n.min(1024))
}

#[derive(Default)]
struct Outcomes {
    values: Vec<Option<usize>>,
    cancelled: Vec<bool>,
    calls: Vec<u32>,
}

#[test]
fn ten_thousand_items_with_cancellation() {
    let mut lp = Loop::new().unwrap();
    let loop_thread = std::thread::current().id();

    // Occupy every worker so that the items below are all still queued
    // when we cancel half of them: cancellation is then deterministic.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (started_tx, started_rx) = mpsc::channel();
    for _ in 0..pool_size() {
        let (gate, started) = (gate.clone(), started_tx.clone());
        lp.queue_work(
            move || {
                started.send(()).unwrap();
                let (lock, cv) = &*gate;
                let mut open = lock.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
            },
            |_, _, r| r.unwrap(),
        )
        .unwrap();
    }
    for _ in 0..pool_size() {
        started_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    }

    let out = Rc::new(RefCell::new(Outcomes {
        values: vec![None; ITEMS],
        cancelled: vec![false; ITEMS],
        calls: vec![0; ITEMS],
    }));
    let mut handles = Vec::new();
    for i in 0..ITEMS {
        let out = out.clone();
        let h = lp
            .queue_work(
                move || i * 2,
                move |_, _, result| {
                    assert_eq!(std::thread::current().id(), loop_thread);
                    let mut out = out.borrow_mut();
                    out.calls[i] += 1;
                    match result {
                        Ok(v) => out.values[i] = Some(v),
                        Err(WorkError::Cancelled) => out.cancelled[i] = true,
                        Err(e) => panic!("item {i}: {e}"),
                    }
                },
            )
            .unwrap();
        handles.push(h);
    }
    for (i, h) in handles.iter().enumerate() {
        if i % 2 == 1 {
            lp.cancel_work(*h).unwrap();
            // Twice is an error, not a second callback.
            assert!(matches!(lp.cancel_work(*h), Err(Error::WorkBusy)));
        }
    }
    {
        let (lock, cv) = &*gate;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
    assert!(lp.alive());
    assert!(!lp.run(RunMode::Default));

    let out = out.borrow();
    for i in 0..ITEMS {
        assert_eq!(out.calls[i], 1, "item {i}: after must run exactly once");
        if i % 2 == 1 {
            assert!(out.cancelled[i] && out.values[i].is_none());
        } else {
            assert_eq!(out.values[i], Some(i * 2));
        }
    }
    // A finished item can no longer be cancelled.
    assert!(matches!(lp.cancel_work(handles[0]), Err(Error::WorkBusy)));
}

#[test]
fn a_panicking_work_item_reports_instead_of_hanging_the_loop() {
    let mut lp = Loop::new().unwrap();
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    lp.queue_work(
        || -> u32 { panic!("boom (expected by this test)") },
        move |_, _, r| *s.borrow_mut() = Some(r),
    )
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*seen.borrow(), Some(Err(WorkError::Panicked)));
}

#[test]
fn after_gets_its_own_work_handle_already_stale() {
    let mut lp = Loop::new().unwrap();
    let seen: Rc<RefCell<Option<eddy_loop::WorkHandle>>> = Rc::default();
    let s = seen.clone();
    let handle = lp
        .queue_work(
            || 7,
            move |lp, me, r| {
                assert_eq!(r, Ok(7));
                assert!(lp.cancel_work(me).is_err(), "stale by now");
                *s.borrow_mut() = Some(me);
            },
        )
        .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*seen.borrow(), Some(handle));
}
