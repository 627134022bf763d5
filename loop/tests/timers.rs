//! Timer semantics: ordering, deadlines, repeat, again, re-arming, and
//! closing from callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use eddy_loop::{Check, Error, Handle, Loop, Prepare, RunMode, Timer};

type Log<T> = Rc<RefCell<Vec<T>>>;

fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn equal_deadlines_fire_in_start_order() {
    let mut lp = Loop::new().unwrap();
    let order: Log<usize> = log();
    let mut timers = Vec::new();
    for i in 0..6 {
        let t = Timer::new(&mut lp);
        let order = order.clone();
        t.start(&mut lp, 3, 0, move |_, _| order.borrow_mut().push(i))
            .unwrap();
        timers.push(t);
    }
    // Restarting timer 1 gives it a later sequence: it now fires last.
    let o = order.clone();
    timers[1]
        .start(&mut lp, 3, 0, move |_, _| o.borrow_mut().push(1))
        .unwrap();
    // An earlier deadline started later still fires first.
    let t = Timer::new(&mut lp);
    let o = order.clone();
    t.start(&mut lp, 1, 0, move |_, _| o.borrow_mut().push(99))
        .unwrap();
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*order.borrow(), vec![99, 0, 2, 3, 4, 5, 1]);
}

#[test]
fn a_timer_never_fires_before_its_deadline() {
    let mut lp = Loop::new().unwrap();
    let fired: Log<(u64, u64, u64)> = log();
    for timeout in [0u64, 1, 2, 3, 5, 8, 13, 21] {
        let t = Timer::new(&mut lp);
        let fired = fired.clone();
        t.start(&mut lp, timeout, 0, move |lp, _| {
            fired.borrow_mut().push((timeout, lp.now(), Loop::hrtime()))
        })
        .unwrap();
        assert_eq!(t.deadline(&lp).unwrap(), Some(lp.now() + timeout));
        assert_eq!(t.due_in(&lp).unwrap(), timeout);
    }
    let start = lp.now();
    lp.run(RunMode::Default);
    let fired = fired.borrow();
    assert_eq!(fired.len(), 8);
    for &(timeout, now, hr) in fired.iter() {
        let deadline = start + timeout;
        assert!(
            now >= deadline,
            "loop time {now} before deadline {deadline}"
        );
        // Same clock as `now()`: real time has passed the deadline too.
        assert!(
            hr >= deadline * 1_000_000,
            "fired at {hr} ns, deadline {deadline} ms"
        );
    }
}

#[test]
fn a_repeating_timer_is_rescheduled_from_its_firing_time() {
    // libuv's rule (uv_timer_again before the callback): each deadline is
    // `repeat` after the loop time it fired at, so inside the callback
    // `due_in` reads `repeat`, and after a stall the next interval is never
    // shorter than `repeat`.
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    let fired_at: Log<u64> = log();
    let at = fired_at.clone();
    t.start(&mut lp, 3, 10, move |lp, t| {
        let now = lp.now();
        at.borrow_mut().push(now);
        assert_eq!(t.due_in(lp).unwrap(), 10, "due_in reads repeat");
        assert_eq!(t.deadline(lp).unwrap(), Some(now + 10));
        match at.borrow().len() {
            // A stall of 23 ms inside the first callback.
            1 => std::thread::sleep(std::time::Duration::from_millis(23)),
            4 => t.stop(lp).unwrap(),
            _ => {}
        }
    })
    .unwrap();
    assert_eq!(t.repeat(&lp).unwrap(), 10);
    lp.run(RunMode::Default);
    let fired_at = fired_at.borrow();
    assert_eq!(fired_at.len(), 4);
    for pair in fired_at.windows(2) {
        assert!(
            pair[1] - pair[0] >= 10,
            "an interval shorter than repeat: {fired_at:?}"
        );
    }
    assert_eq!(
        t.deadline(&lp).unwrap(),
        None,
        "stopped in its fourth callback"
    );
    assert!(!t.is_active(&lp));
}

#[test]
fn again_restarts_a_repeating_timer_and_needs_a_start() {
    let mut lp = Loop::new().unwrap();
    let t = Timer::new(&mut lp);
    assert!(matches!(t.again(&mut lp), Err(Error::TimerNotStarted)));

    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    t.start(&mut lp, 1000, 0, move |_, _| *c.borrow_mut() += 1)
        .unwrap();
    // No repeat: again is a no-op and the 1 s deadline stands.
    t.again(&mut lp).unwrap();
    assert_eq!(t.deadline(&lp).unwrap(), Some(lp.now() + 1000));

    t.set_repeat(&mut lp, 2).unwrap();
    t.again(&mut lp).unwrap();
    assert_eq!(t.deadline(&lp).unwrap(), Some(lp.now() + 2));
    t.set_repeat(&mut lp, 0).unwrap(); // fire once more, then stop
    lp.run(RunMode::Default);
    assert_eq!(*count.borrow(), 1);
    assert!(!t.is_active(&lp));
    assert_eq!(t.due_in(&lp).unwrap(), 0);
}

#[test]
fn zero_timer_rearmed_in_its_callback_fires_once_per_iteration() {
    let mut lp = Loop::new().unwrap();
    let iteration = Rc::new(RefCell::new(0u32));
    let prepare = Prepare::new(&mut lp);
    let it = iteration.clone();
    prepare
        .start(&mut lp, move |_, _| *it.borrow_mut() += 1)
        .unwrap();
    prepare.unref(&mut lp).unwrap();
    let polled_between: Log<u32> = log();
    let check = Check::new(&mut lp);
    let (it, pb) = (iteration.clone(), polled_between.clone());
    check
        .start(&mut lp, move |_, _| pb.borrow_mut().push(*it.borrow()))
        .unwrap();
    check.unref(&mut lp).unwrap();

    let fired_in: Log<u32> = log();
    let t = Timer::new(&mut lp);
    let (it, fi) = (iteration.clone(), fired_in.clone());
    t.start(&mut lp, 0, 0, move |lp, t| {
        fi.borrow_mut().push(*it.borrow());
        if fi.borrow().len() < 10 {
            t.rearm(lp, 0).unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::Default);
    let fired_in = fired_in.borrow();
    assert!(fired_in.len() >= 2);
    for pair in fired_in.windows(2) {
        assert!(
            pair[1] > pair[0],
            "fired twice in one iteration: {fired_in:?}"
        );
    }
    assert_eq!(fired_in.len(), 10);
    // Timers run before prepare: a firing in the iteration whose prepare
    // count becomes i+1 follows the poll and check of iteration i.
    for &i in fired_in.iter().skip(1) {
        assert!(polled_between.borrow().contains(&i), "{fired_in:?}");
    }
}

#[test]
fn a_repeating_timer_can_close_itself_from_its_callback() {
    let mut lp = Loop::new().unwrap();
    let events: Log<&str> = log();
    let t = Timer::new(&mut lp);
    let e = events.clone();
    t.start(&mut lp, 1, 1, move |lp, t| {
        e.borrow_mut().push("fire");
        let e = e.clone();
        t.close(lp, move |_, _| e.borrow_mut().push("closed"))
            .unwrap();
        assert!(t.is_closing(lp));
        assert!(matches!(
            t.start(lp, 1, 0, |_, _| {}),
            Err(Error::Closed("timer"))
        ));
    })
    .unwrap();
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*events.borrow(), vec!["fire", "closed"]);
    assert!(matches!(t.stop(&mut lp), Err(Error::Closed("timer"))));
}

#[test]
fn a_timer_closed_or_stopped_by_an_earlier_callback_of_the_batch_does_not_run() {
    let mut lp = Loop::new().unwrap();
    let ran: Log<&str> = log();
    let a = Timer::new(&mut lp);
    let b = Timer::new(&mut lp);
    let c = Timer::new(&mut lp);
    let r = ran.clone();
    a.start(&mut lp, 2, 0, move |lp, _| {
        r.borrow_mut().push("a");
        b.close(lp, |_, _| {}).unwrap();
        c.stop(lp).unwrap();
    })
    .unwrap();
    let r = ran.clone();
    b.start(&mut lp, 2, 0, move |_, _| r.borrow_mut().push("b"))
        .unwrap();
    let r = ran.clone();
    c.start(&mut lp, 2, 0, move |_, _| r.borrow_mut().push("c"))
        .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*ran.borrow(), vec!["a"]);
}

#[test]
fn many_timers_fire_in_order() {
    let mut lp = Loop::new().unwrap();
    let fired: Log<u64> = log();
    // Deadlines in a scrambled order, several per millisecond.
    for i in 0..2000u64 {
        let timeout = (i * 7919) % 20;
        let t = Timer::new(&mut lp);
        let f = fired.clone();
        t.start(&mut lp, timeout, 0, move |lp, t| {
            f.borrow_mut().push(timeout);
            t.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    }
    lp.run(RunMode::Default);
    let fired = fired.borrow();
    assert_eq!(fired.len(), 2000);
    assert!(fired.windows(2).all(|w| w[0] <= w[1]));
}
