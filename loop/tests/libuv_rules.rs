//! The rules eddy-loop takes from libuv (issue 17): a hang-up is readable,
//! an error is told once with its errno and stops the watcher, close
//! callbacks run last closed first, and `Interest::PRIORITIZED`.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use eddy_loop::{Handle, Interest, Io, Loop, RunMode, Timer};

/// A watcher for `fd`.
fn watch(lp: &mut Loop, fd: std::os::fd::RawFd) -> Io {
    // SAFETY: each test keeps its fds open until their watchers are closed
    // or the loop is dropped.
    unsafe { Io::new(lp, fd) }
}

#[test]
fn a_hang_up_is_readable_so_read_when_readable_code_sees_eof() {
    let mut lp = Loop::new().unwrap();
    let (mut reader, writer) = std::io::pipe().unwrap();
    drop(writer);
    let io = watch(&mut lp, reader.as_raw_fd());
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    io.start(&mut lp, Interest::READABLE, move |lp, me, ready| {
        // libuv-style code: read only when readable.
        if ready.is_readable() {
            let mut buf = [0u8; 8];
            let n = reader.read(&mut buf).unwrap();
            l.borrow_mut().push(format!("readable, read {n}"));
            if n == 0 {
                me.close(lp, |_, _| {}).unwrap();
            }
        } else {
            l.borrow_mut().push("not readable".into());
        }
        assert!(ready.is_hangup() && ready.is_read_closed());
        assert!(ready.error().is_none());
    })
    .unwrap();
    // Bounded: a spinning loop would log many callbacks.
    for _ in 0..3 {
        lp.run(RunMode::NoWait);
    }
    assert_eq!(*log.borrow(), ["readable, read 0"]);
    assert!(!lp.alive());
}

#[test]
fn an_error_is_told_once_with_its_errno_and_stops_the_watcher() {
    let mut lp = Loop::new().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let io = watch(&mut lp, writer.as_raw_fd());
    let calls: Rc<RefCell<Vec<Option<i32>>>> = Rc::default();
    let c = calls.clone();
    io.start(&mut lp, Interest::WRITABLE, move |lp, me, ready| {
        assert!(!me.is_active(lp), "stopped before the callback");
        assert!(ready.is_error());
        assert!(!ready.is_writable());
        c.borrow_mut()
            .push(ready.error().and_then(|e| e.raw_os_error()));
    })
    .unwrap();
    for _ in 0..3 {
        lp.run(RunMode::NoWait);
    }
    assert_eq!(
        *calls.borrow(),
        [Some(libc::EPIPE)],
        "once, EPIPE for a pipe"
    );
    assert!(!io.is_active(&lp));
    assert!(!lp.alive(), "a stopped watcher keeps nothing alive");
    // Watching again reports it again, once.
    io.set_interest(&mut lp, Interest::WRITABLE).unwrap();
    lp.run(RunMode::NoWait);
    assert_eq!(calls.borrow().len(), 2);
    io.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

#[test]
fn a_socket_error_carries_so_error() {
    // A reset: the peer closes with unread data, so the kernel sends RST;
    // our side's error is ECONNRESET, read from SO_ERROR.
    let mut lp = Loop::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    ours.write_all(b"unread").unwrap();
    // Wait until the bytes reached the peer, so its close resets.
    let mut probe = [0u8; 1];
    theirs.peek(&mut probe).unwrap();
    drop(theirs);
    ours.set_nonblocking(true).unwrap();
    let io = watch(&mut lp, ours.as_raw_fd());
    let seen: Rc<RefCell<Vec<Option<i32>>>> = Rc::default();
    let s = seen.clone();
    io.start(&mut lp, Interest::READABLE, move |lp, me, ready| {
        s.borrow_mut()
            .push(ready.error().and_then(|e| e.raw_os_error()));
        if ready.error().is_none() {
            me.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::NoWait);
    assert_eq!(*seen.borrow(), [Some(libc::ECONNRESET)]);
    io.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

#[test]
fn close_callbacks_run_last_closed_first() {
    let mut lp = Loop::new().unwrap();
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    for name in ["a", "b", "c"] {
        let t = Timer::new(&mut lp);
        let l = log.clone();
        t.close(&mut lp, move |_, _| l.borrow_mut().push(name))
            .unwrap();
    }
    let l = log.clone();
    lp.defer_to_closing(move |_| l.borrow_mut().push("deferred"));
    lp.run(RunMode::Default);
    assert_eq!(
        *log.borrow(),
        ["deferred", "c", "b", "a"],
        "as libuv's list"
    );
}

#[test]
fn prioritized_interest_hears_urgent_data() {
    let mut lp = Loop::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    // SAFETY: a valid socket and a one-byte buffer that outlives the call.
    let sent = unsafe { libc::send(theirs.as_raw_fd(), b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
    assert_eq!(sent, 1);
    let io = watch(&mut lp, ours.as_raw_fd());
    let seen = Rc::new(RefCell::new(false));
    let s = seen.clone();
    io.start(&mut lp, Interest::PRIORITIZED, move |lp, me, ready| {
        *s.borrow_mut() = ready.is_prioritized();
        me.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert!(*seen.borrow());
    drop((ours, theirs));
}

#[test]
fn stopping_a_watcher_in_its_callback_keeps_the_loop_from_spinning() {
    let mut lp = Loop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"x").unwrap();
    let io = watch(&mut lp, b.as_raw_fd());
    let calls = Rc::new(RefCell::new(0));
    let c = calls.clone();
    io.start(&mut lp, Interest::READABLE, move |lp, me, _| {
        *c.borrow_mut() += 1;
        me.stop(lp).unwrap();
    })
    .unwrap();
    assert!(!lp.run(RunMode::Default));
    assert_eq!(*calls.borrow(), 1);
    io.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

#[test]
fn disconnect_interest_alone_hears_the_half_close_but_not_data() {
    let mut lp = Loop::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    a.write_all(b"data").unwrap();
    a.shutdown(std::net::Shutdown::Write).unwrap();
    let io = watch(&mut lp, b.as_raw_fd());
    let seen: Rc<RefCell<Vec<(bool, bool)>>> = Rc::default();
    let s = seen.clone();
    io.start(&mut lp, Interest::DISCONNECT, move |lp, me, ready| {
        s.borrow_mut()
            .push((ready.is_read_closed(), ready.is_readable()));
        me.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(
        *seen.borrow(),
        [(true, false)],
        "UV_DISCONNECT, not UV_READABLE"
    );
    drop((a, b));
}
