//! An echo server on eddy-net.
//!
//!     cargo run --release --example echo -- --port 7000 [--host 127.0.0.1] [--unix PATH]
//!
//! Prints `listening on ADDR` once ready, echoes every byte back with
//! backpressure (it stops reading while the peer is slow to read), honours
//! half-close (after the client shuts down its side, the server finishes
//! echoing, then closes), and exits on SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;

use eddy::event_loop::{Handle, Signal};
use eddy::net::{Address, ListenOptions, Listener, ReadEvent, Stream};
use eddy::{Loop, RunMode};

fn on_read(lp: &mut Loop, s: Stream, event: ReadEvent<'_>) {
    match event {
        ReadEvent::Data(bytes) => {
            // Above the high-water mark: stop reading until the queue drains.
            if let Ok(false) = s.write(lp, bytes) {
                let _ = s.read_stop(lp);
            }
        }
        // The default (no half-open): the stream ends our side after the
        // queued echo is flushed, then closes.
        ReadEvent::Eof => {}
        ReadEvent::Error(_) => {
            let _ = s.close(lp, |_, _| {});
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: echo --port PORT [--host HOST] | --unix PATH");
    std::process::exit(2);
}

fn main() {
    let mut host = "127.0.0.1".to_string();
    let (mut port, mut unix) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse::<u16>().ok()),
            "--host" => host = args.next().unwrap_or_else(|| usage()),
            "--unix" => unix = args.next(),
            _ => usage(),
        }
    }
    let addr = match (unix, port) {
        (Some(path), _) => Address::Unix(path.into()),
        (None, Some(port)) => {
            let ip = host.trim_matches(|c| c == '[' || c == ']');
            match format!("[{ip}]:{port}").parse::<SocketAddr>() {
                Ok(a) => Address::Ip(a),
                Err(_) => match eddy::net::resolve_blocking(&format!("{host}:{port}")) {
                    Ok(a) => Address::Ip(a),
                    Err(e) => {
                        eprintln!("echo: {e}");
                        std::process::exit(1);
                    }
                },
            }
        }
        (None, None) => usage(),
    };

    let mut lp = Loop::new().expect("create loop");
    let listener = Listener::bind(&mut lp, addr, &ListenOptions::default(), |lp, _, conn| {
        let Ok(s) = conn else { return };
        let _ = s.on_drain(lp, |lp, s| {
            let _ = s.read_start(lp, on_read);
        });
        let _ = s.read_start(lp, on_read);
    });
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            eprintln!("echo: {e}");
            std::process::exit(1);
        }
    };
    for signum in [libc::SIGINT, libc::SIGTERM] {
        let sig = Signal::new(&mut lp);
        sig.start(&mut lp, signum, move |lp, _, _| {
            let _ = listener.close(lp, |_, _| {});
            lp.stop();
        })
        .expect("watch signal");
        sig.unref(&mut lp).expect("unref");
    }
    // Ready only once the signal handlers are in place.
    println!("listening on {}", listener.local_addr(&lp).unwrap());
    let _ = std::io::stdout().flush();

    lp.run(RunMode::Default);
}
