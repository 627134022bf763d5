//! `Stream::probe`, which the Agent asks before reusing a pooled socket:
//! quiet after a drained read with no event since, closed once the peer's
//! FIN is in, even when that FIN is in the current poll's batch and not
//! yet dispatched, and not quiet after an error event (the cases a probe
//! without a syscall must not miss). The one left untested here, a full
//! batch of 1024 events that leaves ready fds for the next wake-up, is
//! refused by `Io::is_quiet_since` (such a poll does not count).

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::rc::Rc;

use common::watchdog;
use eddy_loop::{Loop, RunMode};
use eddy_net::{Probe, ReadEvent, Stream};

/// A connected pair: the loop's end (as a stream) and the peer's.
fn pair(lp: &mut Loop, l: &TcpListener) -> (Stream, TcpStream) {
    let ours = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (peer, _) = l.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    (Stream::from_fd(lp, OwnedFd::from(ours)).unwrap(), peer)
}

#[test]
fn probe_sees_quiet_sockets_and_a_fin_the_poll_has_not_dispatched() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (a1, p1) = pair(&mut lp, &l);
    let (a2, p2) = pair(&mut lp, &l);
    // a2 stays open at EOF, so it can be asked about after its FIN.
    a2.set_allow_half_open(&mut lp, true).unwrap();
    let (p1, p2) = (Rc::new(RefCell::new(p1)), Rc::new(RefCell::new(Some(p2))));
    let seen: Rc<RefCell<Vec<(&str, Probe)>>> = Rc::default();

    // The first poll returns a1 then a2 readable (written in that order).
    // a2 drains its byte; then a1's peer writes again and a2's peer
    // closes, so the next poll returns a1 readable, then a2 at EOF
    // (level triggering keeps both on the ready list in that order): in
    // a1's callback, a2's FIN is in the batch and not yet dispatched.
    let a2_eof = Rc::new(RefCell::new(false));
    let (p1w, p2w, s2, e2) = (p1.clone(), p2.clone(), seen.clone(), a2_eof.clone());
    a2.read_start(&mut lp, move |lp, a2, ev| match ev {
        ReadEvent::Data(_) => {
            s2.borrow_mut()
                .push(("a2 after its read", a2.probe(lp).unwrap()));
            p1w.borrow_mut().write_all(b"b").unwrap();
            drop(p2w.borrow_mut().take());
        }
        _ => *e2.borrow_mut() = true,
    })
    .unwrap();
    let (s1, mut reads) = (seen.clone(), 0);
    a1.read_start(&mut lp, move |lp, a1, ev| {
        if let ReadEvent::Data(_) = ev {
            reads += 1;
            if reads == 2 {
                // The case looked for: a2's FIN is in the batch, after a1
                // (Linux keeps level-triggered fds on its ready list in
                // the order they first became ready).
                assert!(!*a2_eof.borrow(), "a2's FIN still to come in the batch");
                s1.borrow_mut()
                    .push(("a2 with its FIN in", a2.probe(lp).unwrap()));
                a1.close(lp, |_, _| {}).unwrap();
                a2.close(lp, |_, _| {}).unwrap();
            }
        }
    })
    .unwrap();
    p1.borrow_mut().write_all(b"x").unwrap();
    p2.borrow_mut().as_mut().unwrap().write_all(b"a").unwrap();
    lp.run(RunMode::Default);
    assert_eq!(
        *seen.borrow(),
        [
            ("a2 after its read", Probe::Quiet),
            ("a2 with its FIN in", Probe::Closed)
        ]
    );
}

#[test]
fn probe_is_quiet_in_a_later_iteration_when_no_event_came() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (a1, p1) = pair(&mut lp, &l);
    let (a2, mut p2) = pair(&mut lp, &l);
    let seen: Rc<RefCell<Vec<Probe>>> = Rc::default();
    // a2 drains its byte; then (from the next iteration's timers, before
    // its poll) a1's peer writes, and a1's callback, after that poll, asks
    // about a2, which had no event since its read.
    let p1 = RefCell::new(Some(p1));
    a2.read_start(&mut lp, move |lp, _, ev| {
        if let ReadEvent::Data(_) = ev {
            if let Some(mut p1) = p1.borrow_mut().take() {
                lp.set_timeout(0, move |_, _| p1.write_all(b"b").unwrap());
            }
        }
    })
    .unwrap();
    p2.write_all(b"a").unwrap();
    let s = seen.clone();
    a1.read_start(&mut lp, move |lp, a1, ev| {
        if let ReadEvent::Data(_) = ev {
            s.borrow_mut().push(a2.probe(lp).unwrap());
            a1.close(lp, |_, _| {}).unwrap();
            a2.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*seen.borrow(), [Probe::Quiet]);
    drop(p2);
}

/// An error event (here a reset) forgets a drained read: a probe after it
/// looks at the socket, and finds it unfit.
#[test]
fn probe_after_a_reset_is_not_quiet() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, p) = pair(&mut lp, &l);
    let peer = Rc::new(RefCell::new(Some(p)));
    let seen: Rc<RefCell<Vec<Probe>>> = Rc::default();
    let (s, pr) = (seen.clone(), peer.clone());
    a.read_start(&mut lp, move |lp, a, ev| match ev {
        // Drained: then, from the next iteration, a byte the peer never
        // reads, and its close, which therefore resets the connection.
        ReadEvent::Data(_) => {
            let pr = pr.clone();
            lp.set_timeout(0, move |lp, _| {
                a.write(lp, b"x").unwrap();
                drop(pr.borrow_mut().take());
            });
        }
        ReadEvent::Error(_) => {
            let s = s.clone();
            lp.queue_pending(move |lp| {
                // Watched again (a new registration): the drained read of
                // before the reset must not count.
                a.read_resume(lp).unwrap();
                s.borrow_mut().push(a.probe(lp).unwrap());
                a.close(lp, |_, _| {}).unwrap();
            });
        }
        ReadEvent::Eof => {}
    })
    .unwrap();
    peer.borrow_mut().as_mut().unwrap().write_all(b"a").unwrap();
    lp.run(RunMode::Default);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "the reset was heard");
    assert_ne!(seen[0], Probe::Quiet);
}
