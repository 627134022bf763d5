//! A reverse proxy on eddy: method, target and headers forwarded byte for
//! byte (hop-by-hop dropped, `X-Forwarded-For` added), bodies piped both
//! ways with backpressure, a keep-alive Agent upstream, 502 when the
//! upstream is down, and the upstream request aborted when the client
//! goes away.
//!
//!     cargo run --release --example proxy -- --port 8080 --upstream http://127.0.0.1:9000

use eddy::http::client::{request, Agent, AgentOptions, RequestOptions};
use eddy::http::pipe::pipe;
use eddy::http::server::{Response, Server, ServerOptions};
use eddy::{Loop, RunMode};

/// 502, unless the answer has begun.
fn bad_gateway(lp: &mut Loop, res: Response) {
    if !res.headers_sent(lp) && res.set_status(lp, 502).is_ok() {
        let _ = res.end(lp, b"bad gateway\n");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |n: &str| args.windows(2).find(|w| w[0] == n).map(|w| w[1].clone());
    let port: u16 = arg("--port").unwrap_or_else(|| "8080".into()).parse()?;
    let upstream = RequestOptions::from_url(&arg("--upstream").ok_or("--upstream URL")?)?;
    let mut lp = Loop::new()?;
    let pool = AgentOptions {
        keep_alive: true,
        ..AgentOptions::default()
    };
    let agent = Agent::new(&mut lp, pool);
    let server = Server::new(&mut lp, ServerOptions::default(), move |lp, req, res| {
        let mut opts = upstream.clone();
        opts.method = req.method(lp).unwrap().as_str().into();
        opts.path = String::from_utf8_lossy(req.target_bytes(lp).unwrap()).into_owned();
        opts.agent = agent.into();
        let xff = req.remote_addr(lp).and_then(|a| a.ip_text());
        let Ok(up) = request(lp, opts, move |lp, ures| {
            let _ = res.forward_head(lp, ures);
            let _ = pipe(lp, ures, res);
        }) else {
            return bad_gateway(lp, res);
        };
        let _ = up.forward_headers(lp, req);
        let _ = up.append_header(lp, "X-Forwarded-For", xff.unwrap_or_default());
        let _ = up.on_error(lp, move |lp, _, _| bad_gateway(lp, res));
        // The client gone before the upstream answered: abort it too.
        let _ = res.on_close(lp, move |lp, done| drop((!done).then(|| up.abort(lp))));
        let _ = pipe(lp, req, up);
    });
    let addr = server.listen(&mut lp, std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    println!("proxy listening on http://{addr}");
    lp.run(RunMode::Default);
    Ok(())
}
