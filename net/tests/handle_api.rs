//! The handle conventions shared with eddy-loop: close callbacks get their
//! own handle, `is_closing` holds until they have run, `ref_`/`unref`/
//! `has_ref`, `clear_*` instead of no-op callbacks, and what a stale id
//! answers.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{any_port, echo_server, watchdog};
use eddy_loop::{Handle, Loop, RunMode, Timer};
use eddy_net::{ConnectOptions, Error, ListenOptions, Listener, Stream};

#[test]
fn close_callbacks_get_their_handle_and_see_it_closing() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (listener, addr) = echo_server(&mut lp, &ListenOptions::default());
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l2 = log.clone();
    let s = Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, res| {
            res.unwrap();
            assert!(s.is_active(lp) && !s.is_closing(lp));
            let l3 = l2.clone();
            s.close(lp, move |lp, me| {
                assert_eq!(me, s, "the close callback gets its own stream");
                assert!(me.is_closing(lp), "closing until the callback returns");
                assert!(!me.is_active(lp));
                l3.borrow_mut().push("stream".into());
                let l4 = l3.clone();
                listener
                    .close(lp, move |lp, l| {
                        assert_eq!(l, listener);
                        assert!(l.is_closing(lp));
                        l4.borrow_mut().push("listener".into());
                    })
                    .unwrap();
                assert!(listener.is_closing(lp) && !listener.is_active(lp));
            })
            .unwrap();
            assert!(s.is_closing(lp));
        },
    )
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), ["stream", "listener"]);
    assert!(!s.is_closing(&lp) && !s.is_active(&lp), "stale once closed");
    assert!(!listener.is_closing(&lp) && !listener.is_active(&lp));
}

#[test]
fn a_stream_closed_while_resolving_reaches_the_closing_phase() {
    // No socket yet, so no watcher to close: the stream still gets its
    // close callback in the closing phase, and its connect is cancelled.
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    let l = log.clone();
    let s = Stream::connect_host(
        &mut lp,
        "localhost",
        9,
        &ConnectOptions::default(),
        move |_, _, res| {
            assert!(matches!(res, Err(Error::Cancelled)));
            l.borrow_mut().push("connect cancelled");
        },
    )
    .unwrap();
    let l = log.clone();
    s.close(&mut lp, move |_, _| l.borrow_mut().push("closed"))
        .unwrap();
    assert!(lp.alive(), "the deferred close keeps the loop alive");
    assert_eq!(lp.backend_timeout(), 0, "and the poll from blocking");
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), ["connect cancelled", "closed"]);
}

#[test]
fn ref_unref_and_has_ref_on_streams_and_listeners() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    // Accepted streams are unref'd at once: only the client's count.
    let listener = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        |lp, _, c| {
            c.unwrap().unref(lp).unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    assert!(listener.has_ref(&lp));
    listener.unref(&mut lp).unwrap();
    assert!(!listener.has_ref(&lp));
    let s = Stream::connect(&mut lp, addr, &ConnectOptions::default(), |lp, s, r| {
        r.unwrap();
        assert!(s.has_ref(lp));
        s.unref(lp).unwrap();
        assert!(!s.has_ref(lp));
    })
    .unwrap();
    assert!(s.has_ref(&lp));
    assert!(!lp.run(RunMode::Default), "nothing referenced is left");
    assert!(s.is_active(&lp), "unref'd, still open");
    s.ref_(&mut lp).unwrap();
    assert!(s.has_ref(&lp));
    s.close(&mut lp, |_, _| {}).unwrap();
    listener.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
    assert!(!s.has_ref(&lp) && !listener.has_ref(&lp), "stale: false");
    assert!(matches!(s.ref_(&mut lp), Err(Error::Closed("stream"))));
    assert!(matches!(
        listener.unref(&mut lp),
        Err(Error::Closed("listener"))
    ));
}

#[test]
fn clear_methods_remove_callbacks() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (listener, addr) = echo_server(&mut lp, &ListenOptions::default());
    let fired: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    let f = fired.clone();
    let s = Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, res| {
            res.unwrap();
            let (a, b) = (f.clone(), f.clone());
            s.set_timeout(lp, 1, move |_, _| a.borrow_mut().push("timeout"))
                .unwrap();
            s.clear_timeout(lp).unwrap();
            s.on_close(lp, move |_, _| b.borrow_mut().push("observer"))
                .unwrap();
            s.clear_on_close(lp).unwrap();
            let c = f.clone();
            s.set_high_water_mark(lp, 1).unwrap();
            s.on_drain(lp, move |_, _| c.borrow_mut().push("drain"))
                .unwrap();
            s.clear_on_drain(lp).unwrap();
            // Corked, the bytes queue above the mark: the uncork's flush
            // owes a drain, but nobody listens.
            s.cork(lp).unwrap();
            assert!(!s.write(lp, b"xy").unwrap());
            s.uncork(lp).unwrap();
            let t = Timer::new(lp);
            let f = f.clone();
            t.start(lp, 20, 0, move |lp, t| {
                f.borrow_mut().push("closing");
                s.close(lp, |_, _| {}).unwrap();
                t.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        },
    )
    .unwrap();
    listener.unref(&mut lp).unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*fired.borrow(), ["closing"]);
    assert!(matches!(
        s.clear_on_drain(&mut lp),
        Err(Error::Closed("stream"))
    ));
    listener.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

#[test]
fn queries_take_a_shared_loop_and_answer_closed_for_stale_ids() {
    let mut lp = Loop::new().unwrap();
    let l = Listener::bind(&mut lp, any_port(), &ListenOptions::default(), |_, _, _| {}).unwrap();
    let shared: &Loop = &lp;
    assert_eq!(l.connections(shared).unwrap(), 0);
    assert!(l.local_addr(shared).is_ok());
    l.close(&mut lp, |_, _| {}).unwrap();
    assert!(matches!(l.local_addr(&lp), Err(Error::Closed("listener"))));
    lp.run(RunMode::Default);
    assert!(matches!(l.connections(&lp), Err(Error::Closed("listener"))));
}

#[test]
fn a_reset_reaches_the_reader_as_its_errno() {
    // The loop reads SO_ERROR (which clears it) and stops the watcher; the
    // stream must still report the reset it read, not a plain EOF.
    use std::os::fd::AsRawFd;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let errors: Rc<RefCell<Vec<Option<i32>>>> = Rc::default();
    let e = errors.clone();
    let listener = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            let e = e.clone();
            c.unwrap()
                .read_start(lp, move |lp, s, ev| {
                    if let eddy_net::ReadEvent::Error(err) = ev {
                        e.borrow_mut().push(err.raw_os_error());
                    }
                    let _ = s.close(lp, |_, _| {});
                })
                .unwrap();
            l.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap().ip().unwrap();
    let peer = std::net::TcpStream::connect(addr).unwrap();
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket, and a linger struct of the size passed.
    let r = unsafe {
        libc::setsockopt(
            peer.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    drop(peer); // closes with a reset
    lp.run(RunMode::Default);
    assert_eq!(*errors.borrow(), [Some(libc::ECONNRESET)]);
}
