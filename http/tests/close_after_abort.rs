//! Every exchange ends in exactly one close event, even when a callback
//! run as the connection winds down destroys it: a response that ends
//! with `Connection: close` drops the requests pipelined after it, and
//! one of those, still receiving its body, hears `aborted` and destroys
//! the connection from there. The finished response still hears its
//! close, once, finished: its bytes were with the kernel already.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::Duration;

use common::TestServer;
use eddy_http::server::{Request, Response, ServerOptions};
use eddy_loop::Loop;

/// Where the first response's close is told (its `finished` flag).
static FIRST_CLOSED: Mutex<Option<Sender<bool>>> = Mutex::new(None);
static SECOND_ABORTED: AtomicUsize = AtomicUsize::new(0);

fn routes(lp: &mut Loop, req: Request, res: Response) {
    if req.path(lp) == Some("/first") {
        res.on_close(lp, |_, finished| {
            if let Some(tx) = FIRST_CLOSED.lock().unwrap().as_ref() {
                let _ = tx.send(finished);
            }
        })
        .unwrap();
        // Ends on the next iteration: the second request is queued by then.
        // Its head says `Connection: close`: what is pipelined after it
        // is dropped when it leaves the queue.
        lp.set_timeout(0, move |lp, _| {
            let _ = res.set_header(lp, "Connection", "close");
            let _ = res.end(lp, b"one");
        });
    } else {
        req.on_aborted(lp, |lp, req| {
            SECOND_ABORTED.fetch_add(1, Ordering::SeqCst);
            let _ = req.destroy(lp);
        })
        .unwrap();
    }
}

#[test]
fn a_connection_destroyed_by_an_abort_still_closes_the_finished_response() {
    let (tx, told) = channel();
    *FIRST_CLOSED.lock().unwrap() = Some(tx);
    let server = TestServer::start(ServerOptions::default(), routes);
    let mut s = server.connect();
    s.write_all(
        b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n\
          POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
    )
    .unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let finished = told.recv_timeout(Duration::from_secs(10));
    assert_eq!(finished, Ok(true), "{:?}", String::from_utf8_lossy(&all));
    assert_eq!(SECOND_ABORTED.load(Ordering::SeqCst), 1);
    // Exactly once.
    server.wait_connections(0);
    assert!(told.try_recv().is_err());
}
