//! The idle timeout: fires after a quiet period, pushed back by traffic.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{any_port, watchdog};
use eddy_loop::{Handle, Loop, RunMode, Timer};
use eddy_net::{ConnectOptions, ListenOptions, Listener, ReadEvent, Stream};

const IDLE_MS: u64 = 300;

/// Connects to `addr`, runs `then` once connected, and closes the stream
/// when the server's side ends.
fn connect_closing_on_eof(
    lp: &mut Loop,
    addr: eddy_net::Address,
    then: impl FnOnce(&mut Loop, Stream) + 'static,
) {
    Stream::connect(lp, addr, &ConnectOptions::default(), move |lp, s, r| {
        r.unwrap();
        s.read_start(lp, |lp, s, ev| {
            if matches!(ev, ReadEvent::Eof) {
                s.close(lp, |_, _| {}).unwrap();
            }
        })
        .unwrap();
        then(lp, s);
    })
    .unwrap();
}

#[test]
fn idle_timeout_fires_only_after_a_quiet_period() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let last_traffic = Rc::new(Cell::new(0u64));
    let fired_at: Rc<RefCell<Vec<u64>>> = Rc::default();
    let (lt, fa) = (last_traffic.clone(), fired_at.clone());
    let listener = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            let s = c.unwrap();
            let lt2 = lt.clone();
            s.read_start(lp, move |lp, _, ev| {
                if let ReadEvent::Data(_) = ev {
                    lt2.set(lp.now());
                }
            })
            .unwrap();
            let (lt, fa) = (lt.clone(), fa.clone());
            s.set_timeout(lp, IDLE_MS, move |lp, s| {
                fa.borrow_mut().push(lp.now());
                assert!(lp.now() >= lt.get() + IDLE_MS, "fired while traffic flowed");
                s.close(lp, |_, _| {}).unwrap();
                l.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    // A byte every 50 ms, ten times: 500 ms of traffic, longer than the
    // idle timeout, which must not fire meanwhile.
    let sent = Rc::new(Cell::new(0));
    connect_closing_on_eof(&mut lp, addr, move |lp, s| {
        let ticker = Timer::new(lp);
        ticker
            .start(lp, 0, 50, move |lp, t| {
                s.write(lp, b".").unwrap();
                sent.set(sent.get() + 1);
                if sent.get() == 10 {
                    t.close(lp, |_, _| {}).unwrap();
                }
            })
            .unwrap();
    });
    let start = lp.now();
    lp.run(RunMode::Default);
    let fired = fired_at.borrow();
    assert_eq!(fired.len(), 1);
    assert!(
        fired[0] >= start + 450 + IDLE_MS,
        "pushed back by each byte"
    );
}

/// `set_timeout_ms(0)` turns the timeout off and keeps its callback;
/// `set_timeout_ms(ms)` turns it on again with that callback.
#[test]
fn set_timeout_ms_pauses_and_resumes_keeping_the_callback() {
    const SHORT_MS: u64 = 30;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let fired_at: Rc<RefCell<Vec<u64>>> = Rc::default();
    let resumed_at = Rc::new(Cell::new(0u64));
    let (fa, ra) = (fired_at.clone(), resumed_at.clone());
    let listener = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            let s = c.unwrap();
            assert!(
                s.set_timeout_ms(lp, SHORT_MS).is_err(),
                "no timeout set yet"
            );
            let fa = fa.clone();
            s.set_timeout(lp, SHORT_MS, move |lp, s| {
                fa.borrow_mut().push(lp.now());
                s.close(lp, |_, _| {}).unwrap();
                l.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
            s.set_timeout_ms(lp, 0).unwrap();
            // Five periods with the timeout off, then on again.
            let ra = ra.clone();
            lp.set_timeout(5 * SHORT_MS, move |lp, _| {
                ra.set(lp.now());
                s.set_timeout_ms(lp, SHORT_MS).unwrap();
            });
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    connect_closing_on_eof(&mut lp, addr, |_, _| {});
    lp.run(RunMode::Default);
    let fired = fired_at.borrow();
    assert_eq!(fired.len(), 1, "the kept callback ran once");
    assert!(resumed_at.get() > 0 && fired[0] >= resumed_at.get() + SHORT_MS);
}
