//! What every handle shares: close callbacks get their handle and see it
//! closing, `defer_to_closing`, `walk` and the handle type queries.

use std::cell::RefCell;
use std::rc::Rc;

use eddy_loop::{Async, Check, Handle, HandleType, Idle, Loop, RunMode, Signal, Timer};

#[test]
fn a_close_callback_gets_its_handle_which_is_closing_until_it_returns() {
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    let seen = Rc::new(RefCell::new(false));
    let s = seen.clone();
    t.close(&mut lp, move |lp, me| {
        assert_eq!(me, t);
        assert!(
            me.is_closing(lp),
            "uv_is_closing is true in the close callback"
        );
        assert!(!me.is_active(lp));
        *s.borrow_mut() = true;
    })
    .unwrap();
    assert!(t.is_closing(&lp));
    lp.run(RunMode::Default);
    assert!(*seen.borrow());
    assert!(!t.is_closing(&lp), "stale after the callback: false");
}

#[test]
fn deferred_callbacks_run_in_the_closing_phase_in_queue_order() {
    let mut lp = Loop::new().unwrap();
    let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    let c = Check::new(&mut lp);
    let l = log.clone();
    c.start(&mut lp, move |lp, me| {
        l.borrow_mut().push("check");
        me.stop(lp).unwrap();
    })
    .unwrap();
    let l = log.clone();
    lp.defer_to_closing(move |lp| {
        l.borrow_mut().push("deferred");
        let l = l.clone();
        // From the closing phase: the next iteration's closing phase.
        lp.defer_to_closing(move |_| l.borrow_mut().push("deferred again"));
    });
    assert!(lp.alive(), "a deferred callback keeps the loop alive");
    assert_eq!(lp.backend_timeout(), 0);
    assert!(lp.run(RunMode::NoWait), "one still queued");
    assert_eq!(*log.borrow(), ["check", "deferred"]);
    assert!(!lp.run(RunMode::NoWait));
    assert_eq!(*log.borrow(), ["check", "deferred", "deferred again"]);
}

#[test]
fn walk_visits_every_handle_with_its_type() {
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    let i = Idle::new(&mut lp);
    let a = Async::new(&mut lp, |_, _| {});
    let s = Signal::new(&mut lp);
    let closing = Check::new(&mut lp);
    closing.close(&mut lp, |_, _| {}).unwrap();
    let mut seen = Vec::new();
    lp.walk(|_, id, ty| seen.push((id, ty)));
    assert_eq!(
        seen,
        [
            (t.id(), HandleType::Timer),
            (i.id(), HandleType::Idle),
            (a.id(), HandleType::Async),
            (s.id(), HandleType::Signal),
            (closing.id(), HandleType::Check),
        ],
        "closing handles too, as uv_walk"
    );
    assert_eq!(lp.handle_type(t.id()), Some(HandleType::Timer));
    assert_eq!(lp.handle_as::<Timer>(t.id()), Some(t));
    assert_eq!(lp.handle_as::<Idle>(t.id()), None);
    // Closing everything a program opened, from the walk.
    lp.walk(|lp, id, _| {
        id.close(lp, |_, _| {}).unwrap_or(());
    });
    assert!(!lp.run(RunMode::Default));
    let mut left = 0;
    lp.walk(|_, _, _| left += 1);
    assert_eq!(left, 0);
    assert_eq!(lp.handle_type(t.id()), None, "stale: None");
}
