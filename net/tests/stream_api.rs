//! The stream API around the data path: stale ids, try_write, cork and
//! uncork, byte counters, socket options, ref/unref.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{any_port, watchdog};
use eddy_loop::{Loop, RunMode};
use eddy_net::{ConnectOptions, Error, ListenOptions, Listener, ReadEvent, Stream};

/// Runs `client` on a connected stream whose peer collects what it reads
/// into the returned buffer until EOF.
fn with_collecting_peer(
    lp: &mut Loop,
    client: impl FnOnce(&mut Loop, Stream) + 'static,
) -> Rc<RefCell<Vec<u8>>> {
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got.clone();
    let listener = Listener::bind(
        lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            let g = g.clone();
            c.unwrap()
                .read_start(lp, move |lp, _, ev| match ev {
                    ReadEvent::Data(b) => g.borrow_mut().extend_from_slice(b),
                    // Default half-open handling ends and closes this side.
                    ReadEvent::Eof => l.close(lp, |_, _| {}).unwrap(),
                    ReadEvent::Error(e) => panic!("{e}"),
                })
                .unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(lp).unwrap();
    Stream::connect(lp, addr, &ConnectOptions::default(), move |lp, s, r| {
        r.unwrap();
        client(lp, s);
    })
    .unwrap();
    got
}

#[test]
fn corked_writes_wait_for_uncork_and_go_out_together() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let got = with_collecting_peer(&mut lp, |lp, s| {
        s.cork(lp).unwrap();
        s.write(lp, b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        s.write(lp, b"body").unwrap();
        assert_eq!(
            s.write_queue_size(lp).unwrap(),
            23,
            "nothing sent while corked"
        );
        assert_eq!(s.bytes_written(lp).unwrap(), 0);
        s.uncork(lp).unwrap();
        assert_eq!(s.write_queue_size(lp).unwrap(), 0, "one flush on uncork");
        assert_eq!(s.bytes_written(lp).unwrap(), 23);
        s.end(lp).unwrap();
    });
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"HTTP/1.1 200 OK\r\n\r\nbody");
}

#[test]
fn try_write_never_queues() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let got = with_collecting_peer(&mut lp, |lp, s| {
        assert_eq!(s.try_write(lp, b"now").unwrap(), 3);
        // With something queued, try_write writes nothing (order matters).
        s.cork(lp).unwrap();
        s.write(lp, b"-queued").unwrap();
        assert_eq!(s.try_write(lp, b"skipped").unwrap(), 0);
        s.uncork(lp).unwrap();
        s.end(lp).unwrap();
        assert!(matches!(s.try_write(lp, b"x"), Err(Error::WriteAfterEnd)));
    });
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"now-queued");
}

#[test]
fn counters_options_and_stale_ids() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let closed: Rc<RefCell<Option<Stream>>> = Rc::default();
    let c = closed.clone();
    let got = with_collecting_peer(&mut lp, move |lp, s| {
        s.set_nodelay(lp, true).unwrap();
        s.set_keepalive(lp, true, 30).unwrap();
        assert!(s.is_active(lp));
        assert_eq!(s.data(lp).unwrap(), 0);
        s.set_data(lp, 0xfeed_0000_0001).unwrap();
        assert_eq!(s.data(lp).unwrap(), 0xfeed_0000_0001);
        s.write(lp, &[1u8; 1000]).unwrap();
        assert_eq!(s.bytes_written(lp).unwrap(), 1000);
        assert_eq!(s.bytes_read(lp).unwrap(), 0);
        let local = s.local_addr(lp).unwrap();
        assert_eq!(local.ip().unwrap().ip().to_string(), "127.0.0.1");
        s.end(lp).unwrap();
        *c.borrow_mut() = Some(s);
    });
    lp.run(RunMode::Default);
    assert_eq!(got.borrow().len(), 1000);
    let s = closed.borrow().unwrap();
    assert!(!s.is_active(&lp));
    assert!(matches!(
        s.write(&mut lp, b"x"),
        Err(Error::Closed("stream"))
    ));
    assert!(matches!(s.read_stop(&mut lp), Err(Error::Closed("stream"))));
    assert!(matches!(s.data(&lp), Err(Error::Closed("stream"))));
    assert!(matches!(
        s.set_data(&mut lp, 1),
        Err(Error::Closed("stream"))
    ));
    assert!(matches!(
        s.close(&mut lp, |_, _| {}),
        Err(Error::Closed("stream"))
    ));
    assert_eq!(
        s.write(&mut lp, b"x").unwrap_err().to_string(),
        "stream is closed"
    );
}

#[test]
fn an_unrefd_stream_does_not_keep_the_loop_alive() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let listener =
        Listener::bind(&mut lp, any_port(), &ListenOptions::default(), |_, _, _| {}).unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    listener.unref(&mut lp).unwrap();
    let stream: Rc<RefCell<Option<Stream>>> = Rc::default();
    let st = stream.clone();
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, r| {
            r.unwrap();
            s.read_start(lp, |_, _, _| {}).unwrap();
            s.unref(lp).unwrap();
            *st.borrow_mut() = Some(s);
        },
    )
    .unwrap();
    // Connected and reading, but unref'd (and so is the listener): run
    // returns instead of waiting for data that never comes.
    assert!(!lp.run(RunMode::Default));
    let s = stream.borrow().unwrap();
    assert!(s.is_reading(&lp));
    s.ref_(&mut lp).unwrap();
    assert!(lp.alive());
    s.close(&mut lp, |_, _| {}).unwrap();
    listener.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}

/// `write_reporting` says whether a write left anything queued: nothing
/// when the kernel takes it all, something once a peer that does not read
/// lets the socket buffers fill, and then for every write behind it; its
/// `below_mark` is what `write` returns.
#[test]
fn write_reporting_says_what_was_left_queued() {
    use eddy_net::Written;
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    // A peer that accepts and never reads, until the test ends.
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let got: Rc<RefCell<Vec<Written>>> = Rc::default();
    let g = got.clone();
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, res| {
            res.unwrap();
            let mut g = g.borrow_mut();
            g.push(s.write_reporting(lp, b"small").unwrap());
            let big = vec![b'x'; 1 << 20];
            // Until the kernel stops taking it all (its buffers are bounded).
            for _ in 0..256 {
                let w = s.write_reporting(lp, &big).unwrap();
                if w != Written::All {
                    g.push(w);
                    break;
                }
            }
            g.push(s.write_reporting(lp, b"behind").unwrap());
            assert!(!s.write(lp, b"and more").unwrap());
            s.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    let (_held, _) = peer.accept().unwrap();
    lp.run(RunMode::Default);
    let got = got.borrow();
    assert_eq!(got[0], Written::All);
    assert_eq!(got[1], Written::Queued { below_mark: false }, "{got:?}");
    assert_eq!(got[2], Written::Queued { below_mark: false }, "{got:?}");
    assert!(!got[2].below_mark());
}
