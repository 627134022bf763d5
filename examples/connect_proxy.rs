//! A CONNECT tunnel proxy: `CONNECT host:port` opens a TCP connection to
//! the target, answers `200 Connection Established`, forwards the bytes the
//! client already sent after its request head, then copies both ways.
//!
//!     cargo run --release --example connect_proxy -- [PORT]   # default 8081
//!     curl -p -x http://127.0.0.1:8081 http://127.0.0.1:8080/   # through it

use eddy::http::server::{Server, ServerOptions};
use eddy::net::{ConnectOptions, ReadEvent, Stream};
use eddy::{Loop, RunMode};

/// Copies what `from` reads into `to`; EOF becomes a shutdown of `to`.
fn pipe(lp: &mut Loop, from: Stream, to: Stream) {
    let _ = from.read_start(lp, move |lp, from, event| match event {
        ReadEvent::Data(bytes) => {
            // Backpressure: stop reading while the other side is behind.
            if let Ok(false) = to.write(lp, bytes) {
                let _ = from.read_stop(lp);
                let _ = to.on_drain(lp, move |lp, _| pipe(lp, from, to));
            }
        }
        ReadEvent::Eof => {
            let _ = to.shutdown(lp, |_, _, _| {});
        }
        ReadEvent::Error(_) => {
            let _ = from.close(lp, |_, _| {});
            let _ = to.close(lp, |_, _| {});
        }
    });
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8081);
    let mut lp = Loop::new()?;
    // Plain requests are not proxied here.
    let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
        let _ = res.set_status(lp, 405);
        let _ = res.set_header(lp, "Allow", "CONNECT");
        let _ = res.end(lp, b"this proxy only tunnels (CONNECT)\n");
    });
    server.on_connect(&mut lp, |lp, head, client, rest| {
        let tunnel = ConnectOptions {
            allow_half_open: true,
            ..ConnectOptions::default()
        };
        let _ = client.set_allow_half_open(lp, true);
        let (host, port) = match head
            .target
            .rsplit_once(':')
            .map(|(h, p)| (h, p.parse::<u16>()))
        {
            Some((h, Ok(p))) => (h.trim_matches(|c| c == '[' || c == ']').to_string(), p),
            _ => {
                let _ = client.write(lp, b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
                let _ = client.end(lp);
                return;
            }
        };
        let name = host.clone();
        let connected =
            Stream::connect_host(lp, &name, port, &tunnel, move |lp, upstream, result| {
                if let Err(e) = result {
                    eprintln!("tunnel to {host}:{port}: {e}");
                    let _ =
                        client.write(lp, b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n");
                    let _ = client.end(lp);
                    let _ = upstream.close(lp, |_, _| {});
                    return;
                }
                let _ = client.write(lp, b"HTTP/1.1 200 Connection Established\r\n\r\n");
                let _ = upstream.write(lp, &rest);
                pipe(lp, client, upstream);
                pipe(lp, upstream, client);
            });
        if connected.is_err() {
            let _ = client.close(lp, |_, _| {});
        }
    })?;
    let addr = server.listen(&mut lp, std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    println!("connect proxy listening on http://{addr}");
    lp.run(RunMode::Default);
    Ok(())
}
