//! An `Upgrade` hand-off: a request with `Connection: Upgrade` and
//! `Upgrade: line-echo` switches the connection to a line protocol that
//! echoes each line back. Other requests get a short explanation.
//!
//!     cargo run --release --example upgrade -- [PORT]   # default 8082
//!     printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: line-echo\r\n\r\nhi\n' \
//!         | cargo run --release --example tcpcat -- 127.0.0.1 8082

use eddy::http::server::{Server, ServerOptions};
use eddy::net::{ReadEvent, Stream};
use eddy::{Loop, RunMode};

/// Echoes every complete line in `pending`, keeping a partial last line.
fn echo_lines(lp: &mut Loop, s: Stream, pending: &mut Vec<u8>) {
    while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = pending.drain(..=nl).collect();
        let _ = s.write(lp, &line);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8082);
    let mut lp = Loop::new()?;
    let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
        let _ = res.set_status(lp, 426);
        let _ = res.set_header(lp, "Upgrade", "line-echo");
        let _ = res.end(lp, b"send Connection: Upgrade and Upgrade: line-echo\n");
    });
    server.on_upgrade(&mut lp, |lp, head, s, rest| {
        if head.headers.get("upgrade") != Some(&b"line-echo"[..]) {
            let _ = s.write(lp, b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            let _ = s.end(lp);
            return;
        }
        let _ = s.write(
            lp,
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: line-echo\r\n\r\n",
        );
        // Bytes that came with the request head belong to the new protocol.
        let mut pending = rest;
        echo_lines(lp, s, &mut pending);
        let _ = s.read_start(lp, move |lp, s, event| match event {
            ReadEvent::Data(bytes) => {
                pending.extend_from_slice(bytes);
                echo_lines(lp, s, &mut pending);
            }
            ReadEvent::Eof | ReadEvent::Error(_) => {
                let _ = s.end(lp);
            }
        });
    })?;
    let addr = server.listen(&mut lp, std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    println!("upgrade server listening on http://{addr}");
    lp.run(RunMode::Default);
    Ok(())
}
