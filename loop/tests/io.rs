//! I/O watchers on real fds: readiness, hang-up, interest changes, and
//! events from one `epoll_wait` batch that must not reach a watcher stopped
//! or closed earlier in the same batch.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use eddy_loop::{Handle, Interest, Io, Loop, Ready, RunMode};

/// A watcher for `fd`.
fn watch(lp: &mut Loop, fd: std::os::fd::RawFd) -> Io {
    // SAFETY: every test here keeps each fd open until its watcher is
    // stopped or closed, or until the loop is dropped.
    unsafe { Io::new(lp, fd) }
}

#[test]
fn pipe_watcher_sees_readable_writable_and_hang_up() {
    let mut lp = Loop::new().unwrap();
    let (reader, mut writer) = std::io::pipe().unwrap();

    // Writable at once: an empty pipe has room.
    let w = watch(&mut lp, writer.as_raw_fd());
    let seen: Rc<RefCell<Vec<Ready>>> = Rc::default();
    let s = seen.clone();
    w.start(&mut lp, Interest::WRITABLE, move |lp, io, ready| {
        s.borrow_mut().push(ready);
        io.stop(lp).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert!(seen.borrow()[0].is_writable());
    assert!(!seen.borrow()[0].is_readable());

    // Readable once data is there; the callback reads it.
    writer.write_all(b"hello").unwrap();
    let r = watch(&mut lp, reader.as_raw_fd());
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let hup = Rc::new(RefCell::new(false));
    let (g, h) = (got.clone(), hup.clone());
    let mut reader_in_cb = reader.try_clone().unwrap();
    r.start(&mut lp, Interest::READABLE, move |lp, io, ready| {
        if ready.is_hangup() {
            *h.borrow_mut() = true;
            // Stop listening, or a level-triggered hang-up would repeat.
            io.close(lp, |_, _| {}).unwrap();
            return;
        }
        assert!(ready.is_readable());
        let mut buf = [0u8; 16];
        let n = reader_in_cb.read(&mut buf).unwrap();
        g.borrow_mut().extend_from_slice(&buf[..n]);
        io.set_interest(lp, Interest::NONE).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"hello");
    assert!(!r.is_active(&lp), "empty interest deregisters");

    // The writer goes away: the reader sees a hang-up.
    drop(writer);
    r.set_interest(&mut lp, Interest::READABLE).unwrap();
    lp.run(RunMode::Default);
    assert!(*hup.borrow());

    // Writing to a pipe whose reader is gone: the watcher sees an error.
    let (reader2, writer2) = std::io::pipe().unwrap();
    drop(reader2);
    let w2 = watch(&mut lp, writer2.as_raw_fd());
    let err = Rc::new(RefCell::new(false));
    let e = err.clone();
    w2.start(&mut lp, Interest::WRITABLE, move |lp, io, ready| {
        *e.borrow_mut() = ready.is_error();
        io.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert!(*err.borrow());
    drop(reader);
}

#[test]
fn a_hung_up_fd_without_interest_does_not_keep_waking_the_loop() {
    let mut lp = Loop::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    drop(a);
    let io = watch(&mut lp, b.as_raw_fd());
    let calls = Rc::new(RefCell::new(0));
    let c = calls.clone();
    io.start(&mut lp, Interest::READABLE, move |lp, io, ready| {
        assert!(ready.is_read_closed());
        *c.borrow_mut() += 1;
        io.set_interest(lp, Interest::NONE).unwrap();
    })
    .unwrap();
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*calls.borrow(), 1);
}

/// Two watchers that are both ready in the same batch; whichever runs first
/// does `act` to the other. Returns how many callbacks ran in one iteration.
fn same_batch(act: fn(&mut Loop, Io, i32)) -> usize {
    let mut lp = Loop::new().unwrap();
    let (mut a1, a2) = UnixStream::pair().unwrap();
    let (mut b1, b2) = UnixStream::pair().unwrap();
    a1.write_all(b"a").unwrap();
    b1.write_all(b"b").unwrap();
    let ran = Rc::new(RefCell::new(0));
    let watchers: Rc<RefCell<Vec<Io>>> = Rc::default();
    for fd in [a2.as_raw_fd(), b2.as_raw_fd()] {
        let io = watch(&mut lp, fd);
        watchers.borrow_mut().push(io);
        let (ran, watchers) = (ran.clone(), watchers.clone());
        io.start(&mut lp, Interest::READABLE, move |lp, me, _| {
            *ran.borrow_mut() += 1;
            let other = *watchers.borrow().iter().find(|w| **w != me).unwrap();
            let other_fd = other.fd(lp).unwrap();
            act(lp, other, other_fd);
            me.stop(lp).unwrap();
        })
        .unwrap();
    }
    lp.run(RunMode::Once);
    let n = *ran.borrow();
    // The loop goes first: a watcher may still be registered.
    drop(lp);
    drop((a2, b2));
    n
}

#[test]
fn an_event_never_reaches_a_watcher_closed_earlier_in_the_batch() {
    assert_eq!(
        same_batch(|lp, other, _| other.close(lp, |_, _| {}).unwrap()),
        1
    );
}

#[test]
fn an_event_never_reaches_a_watcher_stopped_earlier_in_the_batch() {
    assert_eq!(same_batch(|lp, other, _| other.stop(lp).unwrap()), 1);
}

#[test]
fn an_event_of_an_old_registration_is_dropped_after_a_restart() {
    // Stopped and registered again for the same fd: the queued event
    // belongs to the old registration. Level triggering reports the fd
    // again on the next wait, so nothing is lost.
    assert_eq!(
        same_batch(|lp, other, _| {
            other.stop(lp).unwrap();
            other.set_interest(lp, Interest::READABLE).unwrap();
        }),
        1
    );
}

#[test]
fn an_event_never_reaches_a_new_watcher_on_a_reused_fd_number() {
    // The other watcher is closed and its fd replaced by a new watcher for
    // a fresh socket (which may get the same fd number): the batch's event
    // was for the old watcher and must not reach the new one.
    let mut lp = Loop::new().unwrap();
    let (mut a1, a2) = UnixStream::pair().unwrap();
    let (mut b1, b2) = UnixStream::pair().unwrap();
    a1.write_all(b"a").unwrap();
    b1.write_all(b"b").unwrap();
    let ran = Rc::new(RefCell::new(0));
    let fresh = Rc::new(RefCell::new(Vec::new()));
    type Slots = Vec<(Io, Option<UnixStream>)>;
    let slots: Rc<RefCell<Slots>> = Rc::default();
    for s in [a2, b2] {
        let io = watch(&mut lp, s.as_raw_fd());
        slots.borrow_mut().push((io, Some(s)));
        let (ran, slots, fresh) = (ran.clone(), slots.clone(), fresh.clone());
        io.start(&mut lp, Interest::READABLE, move |lp, me, _| {
            *ran.borrow_mut() += 1;
            me.stop(lp).unwrap();
            let mut slots = slots.borrow_mut();
            let other = slots.iter_mut().find(|(w, _)| *w != me).unwrap();
            other.0.close(lp, |_, _| {}).unwrap();
            drop(other.1.take()); // closes the fd: its number is free
            let (c, d) = UnixStream::pair().unwrap();
            let newcomer = watch(lp, d.as_raw_fd());
            let r = ran.clone();
            newcomer
                .start(lp, Interest::READABLE, move |_, _, _| {
                    *r.borrow_mut() += 100
                })
                .unwrap();
            fresh.borrow_mut().push((c, d, newcomer));
        })
        .unwrap();
    }
    lp.run(RunMode::Once);
    assert_eq!(*ran.borrow(), 1);
    for (_, _, newcomer) in fresh.borrow().iter() {
        newcomer.close(&mut lp, |_, _| {}).unwrap();
    }
    lp.run(RunMode::Default);
    drop((a1, b1));
}
