//! A tiny netcat on eddy-net.
//!
//!     cargo run --release --example tcpcat -- HOST PORT
//!
//! Resolves HOST on the loop's work pool and connects; copies stdin to the
//! socket and the socket to stdout; shuts down its writing side at stdin
//! EOF; exits 0 when the peer closes, non-zero with the error on failure.

use std::io::{Read, Write};
use std::sync::mpsc;

use eddy::event_loop::Async;
use eddy::net::{ConnectOptions, ReadEvent, Stream};
use eddy::{Loop, RunMode};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("tcpcat: {msg}");
    std::process::exit(1);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port] = args.as_slice() else {
        eprintln!("usage: tcpcat HOST PORT");
        std::process::exit(2);
    };
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| fail(format!("bad port {port:?}")));
    let mut lp = Loop::new().unwrap_or_else(|e| fail(e));

    // stdin may be a file, which epoll cannot watch: a thread reads it and
    // hands chunks to the loop (the bounded channel is the backpressure).
    let (tx, rx) = mpsc::sync_channel::<Option<Vec<u8>>>(16);
    let opts = ConnectOptions {
        allow_half_open: true,
        ..ConnectOptions::default()
    };
    let stream = Stream::connect_host(&mut lp, host, port, &opts, |lp, s, result| {
        if let Err(e) = result {
            fail(e);
        }
        let _ = s.read_start(lp, |_, _, event| match event {
            ReadEvent::Data(bytes) => {
                let mut out = std::io::stdout().lock();
                if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
                    std::process::exit(1);
                }
            }
            ReadEvent::Eof => std::process::exit(0),
            ReadEvent::Error(e) => fail(e),
        });
    })
    .unwrap_or_else(|e| fail(e));

    let from_stdin = Async::new(&mut lp, move |lp, _| {
        while let Ok(chunk) = rx.try_recv() {
            match chunk {
                Some(bytes) => {
                    let _ = stream.write_vec(lp, bytes);
                }
                None => {
                    let _ = stream.shutdown(lp, |_, _, _| {});
                }
            }
        }
    });
    let sender = from_stdin.sender(&mut lp).unwrap_or_else(|e| fail(e));
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let chunk = match stdin.read(&mut buf) {
                Ok(0) | Err(_) => None,
                Ok(n) => Some(buf[..n].to_vec()),
            };
            let done = chunk.is_none();
            if tx.send(chunk).is_err() || sender.send().is_err() || done {
                return;
            }
        }
    });
    lp.run(RunMode::Default);
}
