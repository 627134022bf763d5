//! `ClientResponse::collect`: the whole response body in one buffer, up
//! to a limit. Past the limit the request is aborted (its socket closed,
//! never reused). A connection lost mid-body reaches the request's error
//! callback, as for any response.

use std::cell::RefCell;
use std::rc::Rc;

use eddy_loop::Loop;

use super::error::Result;
use super::handles::ClientResponse;
use crate::h1::{CollectError, Collector, Gathered};

/// `collect`'s callback.
type CollectedCb =
    Box<dyn FnOnce(&mut Loop, ClientResponse, std::result::Result<Vec<u8>, CollectError>)>;

/// The gathered bytes and the callback, shared by the two body callbacks.
struct Collecting {
    collector: Option<Collector>,
    cb: Option<CollectedCb>,
}

fn take(state: &RefCell<Collecting>) -> Option<(CollectedCb, Collector)> {
    let mut st = state.borrow_mut();
    let cb = st.cb.take()?;
    Some((cb, st.collector.take()?))
}

impl ClientResponse {
    /// Gathers the body, then runs `cb` with it. Past `limit` bytes (by
    /// `Content-Length` or as they arrive) the request is aborted and `cb`
    /// gets [`CollectError::TooLarge`]. Takes the `on_data` and `on_end`
    /// callbacks.
    pub fn collect(
        self,
        lp: &mut Loop,
        limit: usize,
        cb: impl FnOnce(&mut Loop, ClientResponse, std::result::Result<Vec<u8>, CollectError>) + 'static,
    ) -> Result<()> {
        let collector = Collector::new(limit);
        if collector.refuses_length(self.header(lp, "content-length")) {
            let _ = self.request().abort(lp);
            cb(lp, self, Err(CollectError::TooLarge { limit }));
            return Ok(());
        }
        let state = Rc::new(RefCell::new(Collecting {
            collector: Some(collector),
            cb: Some(Box::new(cb)),
        }));
        let on_data = state.clone();
        self.on_data(lp, move |lp, res, chunk| {
            let over = match on_data.borrow_mut().collector.as_mut() {
                Some(c) => c.add(chunk) == Gathered::OverLimit,
                None => false,
            };
            if over {
                if let Some((cb, _)) = take(&on_data) {
                    let _ = res.request().abort(lp);
                    cb(lp, res, Err(CollectError::TooLarge { limit }));
                }
            }
        })?;
        self.on_end(lp, move |lp, res| {
            if let Some((cb, c)) = take(&state) {
                cb(lp, res, Ok(c.into_body()));
            }
        })
    }
}
