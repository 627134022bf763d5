//! `set_timeout` / `set_interval` / `clear_timer`: Node's self-freeing
//! timers on the loop.

use std::cell::RefCell;
use std::rc::Rc;

use eddy_loop::{Loop, RunMode, TimeoutId};

#[test]
fn a_timeout_fires_once_and_frees_itself() {
    let mut lp = Loop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let id = lp.set_timeout(2, move |lp, _| l.borrow_mut().push(lp.now()));
    assert!(id.is_pending(&lp));
    assert!(id.has_ref(&lp));
    let start = lp.now();
    assert!(!lp.run(RunMode::Default), "nothing is left once it fired");
    assert_eq!(log.borrow().len(), 1);
    assert!(log.borrow()[0] >= start + 2);
    assert!(!id.is_pending(&lp));
    assert!(!lp.clear_timer(id), "a fired timeout is stale");
    assert!(!id.unref(&mut lp));
}

#[test]
fn timeouts_fire_in_deadline_then_start_order() {
    let mut lp = Loop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("b", 3), ("a", 1), ("c", 3), ("zero", 0)] {
        let l = log.clone();
        lp.set_timeout(ms, move |_, _| l.borrow_mut().push(name));
    }
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), ["zero", "a", "b", "c"]);
}

#[test]
fn a_cleared_timeout_never_fires_and_its_stale_id_touches_no_newer_timer() {
    let mut lp = Loop::new().unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let f = fired.clone();
    let first = lp.set_timeout(1, move |_, _| f.borrow_mut().push("first"));
    assert!(lp.clear_timer(first));
    assert!(!lp.clear_timer(first), "clearing twice is a no-op");
    // Let the cleared timer's slot be freed, then reused.
    lp.run(RunMode::NoWait);
    let f = fired.clone();
    let second = lp.set_timeout(1, move |_, _| f.borrow_mut().push("second"));
    assert_ne!(first, second);
    assert!(
        !lp.clear_timer(first),
        "a stale id never reaches the newcomer"
    );
    assert!(second.is_pending(&lp));
    lp.run(RunMode::Default);
    assert_eq!(*fired.borrow(), ["second"]);
}

#[test]
fn a_timeout_can_clear_itself_set_more_and_clear_others() {
    let mut lp = Loop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let victim_slot: Rc<RefCell<Option<TimeoutId>>> = Rc::new(RefCell::new(None));
    let (l, v) = (log.clone(), victim_slot.clone());
    lp.set_timeout(1, move |lp, own| {
        l.borrow_mut().push("outer");
        assert!(
            !own.is_pending(lp),
            "a one-shot is already freed in its callback"
        );
        assert!(!lp.clear_timer(own));
        let victim = v.borrow().unwrap();
        assert!(lp.clear_timer(victim));
        let l2 = l.clone();
        lp.set_timeout(0, move |_, _| l2.borrow_mut().push("inner"));
    });
    let l = log.clone();
    *victim_slot.borrow_mut() = Some(lp.set_timeout(50, move |_, _| l.borrow_mut().push("victim")));
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), ["outer", "inner"]);
}

#[test]
fn an_interval_repeats_until_cleared() {
    let mut lp = Loop::new().unwrap();
    let ticks = Rc::new(RefCell::new(0));
    let t = ticks.clone();
    let id = lp.set_interval(1, move |lp, id| {
        *t.borrow_mut() += 1;
        if *t.borrow() == 5 {
            assert!(lp.clear_timer(id));
        }
    });
    assert!(id.is_pending(&lp));
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*ticks.borrow(), 5);
    assert!(!id.is_pending(&lp));
    assert!(!lp.clear_timer(id));
}

#[test]
fn a_zero_interval_is_clamped_and_does_not_spin_one_iteration() {
    let mut lp = Loop::new().unwrap();
    let ticks = Rc::new(RefCell::new(0u32));
    let t = ticks.clone();
    let id = lp.set_interval(0, move |_, _| *t.borrow_mut() += 1);
    // One iteration fires it at most once, however late it runs.
    for _ in 0..3 {
        let before = *ticks.borrow();
        lp.run(RunMode::Once);
        assert!(*ticks.borrow() - before <= 2);
    }
    assert!(*ticks.borrow() >= 1);
    assert!(lp.clear_timer(id));
    assert!(!lp.run(RunMode::Default));
}

#[test]
fn an_unrefd_timeout_does_not_keep_the_loop_alive() {
    let mut lp = Loop::new().unwrap();
    let fired = Rc::new(RefCell::new(false));
    let f = fired.clone();
    let id = lp.set_timeout(60_000, move |_, _| *f.borrow_mut() = true);
    assert!(id.unref(&mut lp));
    assert!(!id.has_ref(&lp));
    assert!(!lp.run(RunMode::Default), "returns at once");
    assert!(!*fired.borrow());
    assert!(id.ref_(&mut lp));
    assert!(lp.clear_timer(id));
}

#[test]
fn shrinking_after_a_burst_keeps_old_ids_stale() {
    let mut lp = Loop::new().unwrap();
    let old: Vec<TimeoutId> = (0..1000).map(|_| lp.set_timeout(0, |_, _| {})).collect();
    assert!(lp.handle_slots() >= 1000);
    lp.run(RunMode::Default);
    lp.shrink_to_fit();
    assert_eq!(lp.handle_slots(), 0, "nothing live, nothing kept");
    let fired = Rc::new(RefCell::new(0));
    let f = fired.clone();
    let new = lp.set_timeout(1, move |_, _| *f.borrow_mut() += 1);
    for &id in &old {
        assert!(
            !lp.clear_timer(id),
            "an id from before the shrink stays stale"
        );
        assert!(!id.is_pending(&lp));
    }
    assert!(new.is_pending(&lp));
    lp.run(RunMode::Default);
    assert_eq!(*fired.borrow(), 1);
}
