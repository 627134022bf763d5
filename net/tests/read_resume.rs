//! A reader can pause and resume its own stream from inside its callback
//! (Node's `socket.pause()` then `socket.resume()` in a `data` handler).

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::rc::Rc;

use common::watchdog;
use eddy_loop::{Loop, RunMode};
use eddy_net::{ReadEvent, Stream};

#[test]
fn read_resume_works_from_inside_the_read_callback() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (peer, _) = l.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    let s = Stream::from_fd(&mut lp, OwnedFd::from(ours)).unwrap();
    let peer = Rc::new(RefCell::new(peer));
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let (p, g) = (peer.clone(), got.clone());
    s.read_start(&mut lp, move |lp, s, ev| {
        let ReadEvent::Data(bytes) = ev else { return };
        g.borrow_mut().extend_from_slice(bytes);
        if g.borrow().len() == 1 {
            s.read_stop(lp).unwrap();
            s.read_resume(lp)
                .expect("the running reader counts as installed");
            p.borrow_mut().write_all(b"b").unwrap();
        } else {
            s.close(lp, |_, _| {}).unwrap();
        }
    })
    .unwrap();
    peer.borrow_mut().write_all(b"a").unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*got.borrow(), b"ab");
    // Without `read_start`, there is nothing to resume.
    let mut lp = Loop::new().unwrap();
    let ours = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ours.set_nonblocking(true).unwrap();
    let s = Stream::from_fd(&mut lp, OwnedFd::from(ours)).unwrap();
    assert!(s.read_resume(&mut lp).is_err());
    s.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
}
