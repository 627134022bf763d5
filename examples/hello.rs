//! The smallest HTTP server on eddy.
//!
//!     cargo run --release --example hello   # then: curl http://127.0.0.1:8080/

use eddy::http::server::{Server, ServerOptions};
use eddy::{Loop, RunMode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lp = Loop::new()?;
    let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
        res.set_header(lp, "Content-Type", "text/plain").unwrap();
        res.end(lp, b"Hello, World!\n").unwrap();
    });
    let addr = server.listen(&mut lp, "127.0.0.1:8080".parse::<std::net::SocketAddr>()?)?;
    println!("listening on http://{addr}");
    lp.run(RunMode::Default);
    Ok(())
}
