//! Helpers shared by the net tests: an echo server, a watchdog.
#![allow(dead_code)]

use std::net::SocketAddr;

use eddy_loop::{Handle, Loop, Timer};
use eddy_net::{ListenOptions, Listener, ReadEvent, Stream};

/// Fails the test instead of letting it hang; unref'd, so it never keeps
/// the loop alive by itself.
pub fn watchdog(lp: &mut Loop, secs: u64) -> Timer {
    let t = Timer::new(lp);
    t.start(lp, secs * 1000, 0, move |_, _| {
        panic!("test still running after {secs} s")
    })
    .unwrap();
    t.unref(lp).unwrap();
    t
}

pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Echo with backpressure: stop reading while the write queue is above
/// its high-water mark, resume on drain.
pub fn echo_read(lp: &mut Loop, s: Stream, event: ReadEvent<'_>) {
    match event {
        ReadEvent::Data(bytes) => {
            if let Ok(false) = s.write(lp, bytes) {
                s.read_stop(lp).unwrap();
            }
        }
        ReadEvent::Eof => {}
        ReadEvent::Error(_) => {
            let _ = s.close(lp, |_, _| {});
        }
    }
}

pub fn start_echo(lp: &mut Loop, s: Stream) {
    s.on_drain(lp, |lp, s| s.read_start(lp, echo_read).unwrap())
        .unwrap();
    s.read_start(lp, echo_read).unwrap();
}

/// An echo server on 127.0.0.1 with an ephemeral port.
pub fn echo_server(lp: &mut Loop, opts: &ListenOptions) -> (Listener, SocketAddr) {
    let l = Listener::bind(lp, any_port(), opts, |lp, _, conn| {
        start_echo(lp, conn.unwrap());
    })
    .unwrap();
    let addr = l.local_addr(lp).unwrap().ip().unwrap();
    (l, addr)
}

/// The byte at `offset` of the test stream.
pub fn pattern(offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 11)) as u8
}
