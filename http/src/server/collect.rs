//! `Request::collect`: the whole request body in one buffer, up to a
//! limit (Express's `body-parser`, Node's `for await` over a request).
//! Past the limit, by `Content-Length` or as bytes arrive, the server
//! answers 413 and closes the connection (if the response has not begun).

use std::cell::RefCell;
use std::rc::Rc;

use eddy_loop::Loop;

use super::error::Result;
use super::handles::{Request, Response};
use crate::h1::{CollectError, Collector, Gathered};

/// `collect`'s callback.
type CollectedCb = Box<dyn FnOnce(&mut Loop, Request, std::result::Result<Vec<u8>, CollectError>)>;

/// One collection: the gathered bytes and the callback, shared by the
/// body callbacks of one request and freed with them.
struct Collecting {
    collector: Option<Collector>,
    cb: Option<CollectedCb>,
}

type Shared = Rc<RefCell<Collecting>>;

/// Takes the callback and the bytes out (once).
fn take(state: &Shared) -> Option<(CollectedCb, Collector)> {
    let mut st = state.borrow_mut();
    let cb = st.cb.take()?;
    Some((cb, st.collector.take()?))
}

fn too_large(lp: &mut Loop, req: Request, limit: usize, cb: CollectedCb) {
    let res = Response {
        conn: req.conn,
        seq: req.seq,
    };
    if !res.headers_sent(lp) {
        let _ = res.write_head(
            lp,
            413,
            &[("Content-Type", "text/plain"), ("Connection", "close")],
        );
        let _ = res.end(lp, b"payload too large\n");
    }
    cb(lp, req, Err(CollectError::TooLarge { limit }))
}

impl Request {
    /// Gathers the body, then runs `cb` with it; past `limit` bytes the
    /// request is answered `413 Payload Too Large` (unless its response has
    /// begun) and its connection closes, and `cb` gets
    /// [`CollectError::TooLarge`]; a client leaving mid-body gives
    /// [`CollectError::Aborted`]. This takes the request's `on_data`,
    /// `on_end` and `on_aborted` callbacks.
    pub fn collect(
        self,
        lp: &mut Loop,
        limit: usize,
        cb: impl FnOnce(&mut Loop, Request, std::result::Result<Vec<u8>, CollectError>) + 'static,
    ) -> Result<()> {
        let collector = Collector::new(limit);
        if collector.refuses_length(self.header(lp, "content-length")) {
            // Refused before a byte of it is read.
            too_large(lp, self, limit, Box::new(cb));
            return Ok(());
        }
        let state: Shared = Rc::new(RefCell::new(Collecting {
            collector: Some(collector),
            cb: Some(Box::new(cb)),
        }));
        let on_data = state.clone();
        self.on_data(lp, move |lp, req, chunk| {
            let over = match on_data.borrow_mut().collector.as_mut() {
                Some(c) => c.add(chunk) == Gathered::OverLimit,
                None => false, // already refused: the rest is dropped
            };
            if over {
                if let Some((cb, _)) = take(&on_data) {
                    too_large(lp, req, limit, cb);
                }
            }
        })?;
        let on_end = state.clone();
        self.on_end(lp, move |lp, req| {
            if let Some((cb, c)) = take(&on_end) {
                cb(lp, req, Ok(c.into_body()));
            }
        })?;
        self.on_aborted(lp, move |lp, req| {
            if let Some((cb, _)) = take(&state) {
                cb(lp, req, Err(CollectError::Aborted));
            }
        })
    }
}
