//! A stream that is not reading still hears its peer go away
//! (`Stream::on_hangup`), and an empty write behind queued bytes completes
//! only once they are all handed to the kernel (a marker).

mod common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;

use common::{any_port, watchdog};
use eddy_loop::{Loop, RunMode};
use eddy_net::{Hangup, ListenOptions, Listener, ReadEvent};

/// Accepts one connection, never reads, and records how the peer left.
fn hangup_with(close: impl FnOnce(std::net::TcpStream) + Send + 'static) -> Hangup {
    let mut lp = Loop::new().unwrap();
    let _dog = watchdog(&mut lp, 30);
    let heard = Rc::new(RefCell::new(None));
    let h = heard.clone();
    let (stopped, wait) = std::sync::mpsc::channel::<()>();
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, s| {
            let s = s.unwrap();
            let h = h.clone();
            let stopped = stopped.clone();
            // Read once (the peer's byte), then stop: only the watch is left.
            s.read_start(lp, move |lp, s, ev| {
                assert!(matches!(ev, ReadEvent::Data(_)));
                s.read_stop(lp).unwrap();
                let h = h.clone();
                s.on_hangup(lp, move |lp, s, how| {
                    *h.borrow_mut() = Some(how);
                    s.close(lp, |_, _| {}).unwrap();
                })
                .unwrap();
                stopped.send(()).unwrap();
            })
            .unwrap();
            l.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    let t = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        // Once the server stopped reading, only the watch can hear it.
        wait.recv().unwrap();
        close(c);
    });
    lp.run(RunMode::Default);
    t.join().unwrap();
    let how = heard.borrow().expect("hang-up heard");
    how
}

#[test]
fn a_stream_not_reading_hears_the_peers_fin() {
    assert_eq!(hangup_with(drop), Hangup::Ended);
}

#[test]
fn a_stream_not_reading_hears_the_peers_reset() {
    use std::os::fd::AsRawFd;
    let how = hangup_with(|c| {
        let l = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: a valid socket fd and a linger struct of the size given.
        let rc = unsafe {
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &l as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
    });
    assert_eq!(how, Hangup::Reset);
}

#[test]
fn an_empty_write_completes_after_the_bytes_before_it() {
    let mut lp = Loop::new().unwrap();
    let _dog = watchdog(&mut lp, 30);
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, s| {
            let s = s.unwrap();
            let big = vec![7u8; 16 << 20];
            let o1 = o.clone();
            s.write_with(lp, big, move |lp, s, r| {
                r.unwrap();
                o1.borrow_mut()
                    .push(format!("big {}", s.bytes_written(lp).unwrap()));
            })
            .unwrap();
            let o2 = o.clone();
            s.write_with(lp, Vec::new(), move |lp, s, r| {
                r.unwrap();
                o2.borrow_mut()
                    .push(format!("marker {}", s.bytes_written(lp).unwrap()));
                s.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
            l.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    let t = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        all.len()
    });
    lp.run(RunMode::Default);
    assert_eq!(t.join().unwrap(), 16 << 20);
    let n = 16 << 20;
    assert_eq!(*order.borrow(), [format!("big {n}"), format!("marker {n}")]);
}
