//! hyper 1.x "hello" server, the hyper peer of `benches/load.sh` and
//! `benches/idle_memory.sh`.
//!
//! ```text
//! hyper_peer PORT    # prints "listening on http://127.0.0.1:PORT"
//! ```
//!
//! Answers every request with the same 176-byte response as eddy-server,
//! `http_epoll.c` and `http_node.js` (checked by `resp_check.py`), headers in
//! the same order and case. It is written the way a hyper user would write a
//! fast server: a current-thread tokio runtime, one task per connection,
//! `http1::Builder` with keep-alive and `pipeline_flush(true)` (responses to
//! pipelined requests leave in one write), `title_case_headers(true)` for the
//! header case the others send, TCP_NODELAY, and the Date value cached and
//! refreshed at most once per second. No timer is installed, so hyper keeps
//! idle connections open until the client closes them.

use std::cell::RefCell;
use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, SERVER,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = b"Hello, World!";
/// Not among `http`'s standard names; made once, not parsed per response.
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

thread_local! {
    /// (second it was formatted for, the Date header value)
    static DATE_CACHE: RefCell<(u64, HeaderValue)> =
        RefCell::new((u64::MAX, HeaderValue::from_static("")));
}

/// The IMF-fixdate for now, formatted at most once per second.
fn date() -> HeaderValue {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let text = httpdate::fmt_http_date(now);
            *c = (
                secs,
                HeaderValue::from_str(&text).expect("an HTTP date is a valid header value"),
            );
        }
        c.1.clone()
    })
}

async fn hello(_req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY)));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    h.insert(CONTENT_LENGTH, HeaderValue::from_static("13"));
    h.insert(DATE, date());
    h.insert(SERVER, HeaderValue::from_static("eddy"));
    h.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert(KEEP_ALIVE, HeaderValue::from_static("timeout=5"));
    Ok(resp)
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: hyper_peer PORT");
            std::process::exit(2);
        });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        println!("listening on http://127.0.0.1:{port}");
        let mut http = http1::Builder::new();
        http.keep_alive(true)
            .pipeline_flush(true)
            .title_case_headers(true);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                // EMFILE and friends: say so, back off briefly instead of
                // spinning on a listener that stays readable, keep accepting.
                Err(e) => {
                    eprintln!("accept: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let conn = http.serve_connection(TokioIo::new(stream), service_fn(hello));
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
}
