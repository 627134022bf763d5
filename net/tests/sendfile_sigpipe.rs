//! `sendfile(2)` has no MSG_NOSIGNAL: on a socket whose peer is gone it
//! raises SIGPIPE. This binary restores SIGPIPE's default action (which
//! kills the process), as a C program embedding eddy may have it, and
//! makes `send_file` hit EPIPE: the write must fail, the process live on.
//! One test in this binary: the signal disposition is process-wide.

mod common;

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::rc::Rc;

use common::{any_port, watchdog};
use eddy_loop::{Loop, RunMode};
use eddy_net::{ListenOptions, Listener, ReadEvent};

#[test]
fn send_file_to_a_reset_peer_fails_with_epipe_instead_of_killing_the_process() {
    // SAFETY: SIG_DFL is a valid disposition for SIGPIPE; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let path = std::env::temp_dir().join(format!("eddy-sigpipe-{}", std::process::id()));
    File::create(&path)
        .unwrap()
        .write_all(&[7u8; 100_000])
        .unwrap();
    let file = File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let outcome: Rc<RefCell<Option<Option<i32>>>> = Rc::default();
    let o = outcome.clone();
    let written = Rc::new(std::cell::Cell::new(false));
    let w = written.clone();
    let file = RefCell::new(Some(file));
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            l.close(lp, |_, _| {}).unwrap();
            let s = c.unwrap();
            s.write(lp, b"unread").unwrap();
            w.set(true);
            let (o, f) = (o.clone(), file.borrow_mut().take());
            let mut f = Some(f.unwrap());
            s.read_start(lp, move |lp, s, ev| {
                if let ReadEvent::Error(_) = ev {
                    // The reset was reported to the read: the next send to
                    // this socket gets EPIPE, and with it a SIGPIPE.
                    let o = o.clone();
                    let file = f.take().unwrap();
                    let r = s.send_file(lp, file, 0, 100_000, move |lp, s, r| {
                        *o.borrow_mut() = Some(r.err().and_then(|e| e.raw_os_error()));
                        let _ = s.close(lp, |_, _| {});
                    });
                    assert!(r.is_ok(), "{r:?}");
                }
            })
            .unwrap();
        },
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    let client = std::net::TcpStream::connect(addr).unwrap();
    while !written.get() {
        lp.run(RunMode::Once);
    }
    // The bytes are here (peek waits for them and leaves them unread).
    assert!(client.peek(&mut [0u8; 1]).unwrap() > 0);
    // Closing with unread bytes sends a reset.
    drop(client);
    lp.run(RunMode::Default);
    assert_eq!(*outcome.borrow(), Some(Some(libc::EPIPE)));
}
