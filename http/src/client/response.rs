//! The response's public API (Node's `IncomingMessage` on the client
//! side). Status and headers are read through the loop; the body arrives
//! through `on_data`, then `on_end`. `pause` stops reading the socket
//! (body bytes already parsed wait) and `resume` delivers them and reads
//! on.

use eddy_loop::Loop;

use super::conn;
use super::error::{Error, Result};
use super::exchange;
use super::handles::{ClientRequest, ClientResponse};
use super::table::{req, req_ref, res, Body, Flow, Link, Response};
use crate::h1::HeaderList;

/// Lent to `forward_headers` in place.
impl crate::HeaderSource for ClientResponse {
    fn with_headers<R>(
        self,
        lp: &mut Loop,
        f: impl FnOnce(&mut Loop, &HeaderList) -> R,
    ) -> Option<R> {
        crate::header_source::lend(lp, self.id, |lp, r| Some(&mut res(lp, r)?.headers), f)
    }
}

/// Lent to `forward_head` in place, as the headers are.
impl crate::StatusSource for ClientResponse {
    fn with_status<R>(
        self,
        lp: &mut Loop,
        f: impl FnOnce(&mut Loop, u16, &[u8]) -> R,
    ) -> Option<R> {
        let status = res(lp, self.id)?.status;
        crate::header_source::lend(
            lp,
            self.id,
            |lp, r| Some(&mut res(lp, r)?.reason),
            |lp, reason| f(lp, status, reason),
        )
    }
}

impl ClientResponse {
    fn record(self, lp: &Loop) -> Option<&Response> {
        req_ref(lp, self.id)?.res.as_deref()
    }

    fn record_mut(self, lp: &mut Loop) -> Result<&mut Response> {
        res(lp, self.id).ok_or_else(|| Error::Closed("response"))
    }

    /// The request this answers.
    pub fn request(self) -> ClientRequest {
        ClientRequest { id: self.id }
    }

    /// The status code (Node's `statusCode`).
    pub fn status(self, lp: &Loop) -> Option<u16> {
        self.record(lp).map(|s| s.status)
    }

    /// The reason phrase, bytes as sent ("OK"; Node's `statusMessage`).
    pub fn reason(self, lp: &Loop) -> Option<&[u8]> {
        self.record(lp).map(|s| &s.reason[..])
    }

    /// The reason phrase as received: [`reason`](Self::reason) under
    /// Node's name (`statusMessage`), for a proxy to forward with
    /// `Response::set_status_message`.
    pub fn status_message(self, lp: &Loop) -> Option<&[u8]> {
        self.reason(lp)
    }

    /// (major, minor), e.g. (1, 1).
    pub fn version(self, lp: &Loop) -> Option<(u8, u8)> {
        self.record(lp).map(|s| s.version)
    }

    /// Every header line in arrival order, raw names.
    pub fn headers(self, lp: &Loop) -> Option<&HeaderList> {
        self.record(lp).map(|s| &s.headers)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        self.record(lp)?.headers.get(name)
    }

    /// The header as Node's `res.headers[name]` gives it.
    pub fn header_joined(self, lp: &Loop, name: &str) -> Option<String> {
        self.record(lp)?.headers.get_joined(name)
    }

    /// Trailer lines of a chunked body (complete once `on_end` runs).
    pub fn trailers(self, lp: &Loop) -> Option<&HeaderList> {
        self.record(lp).map(|s| &s.trailers)
    }

    /// Whether the whole body was received and `on_end` ran (Node's
    /// `complete`).
    pub fn is_complete(self, lp: &Loop) -> bool {
        self.record(lp).is_some_and(|s| s.body == Body::Delivered)
    }

    /// Body bytes as they arrive (chunked framing removed). Without this
    /// callback the body is read and dropped.
    pub fn on_data(
        self,
        lp: &mut Loop,
        mut cb: impl FnMut(&mut Loop, ClientResponse, &[u8]) + 'static,
    ) -> Result<()> {
        self.record_mut(lp)?.on_data = Some(Box::new(move |lp, id, data| {
            cb(lp, ClientResponse { id }, data)
        }));
        Ok(())
    }

    /// The body ended (after every `on_data`). A connection lost mid-body
    /// calls the request's error callback instead.
    pub fn on_end(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, ClientResponse) + 'static,
    ) -> Result<()> {
        self.record_mut(lp)?.on_end = Some(Box::new(move |lp, id| cb(lp, ClientResponse { id })));
        Ok(())
    }

    /// Stops body delivery and reading from the socket.
    pub fn pause(self, lp: &mut Loop) -> Result<()> {
        let res = self.record_mut(lp)?;
        if res.body == Body::Delivered {
            return Ok(());
        }
        res.flow = Flow::Paused;
        if let Some(Link::On(c)) = req(lp, self.id).map(|st| st.link) {
            conn::stop_reading(lp, c);
        }
        Ok(())
    }

    /// Delivers what was held (from the pending phase) and reads on.
    pub fn resume(self, lp: &mut Loop) -> Result<()> {
        let res = self.record_mut(lp)?;
        if res.flow == Flow::Flowing {
            return Ok(());
        }
        res.flow = Flow::Flowing;
        let r = self.id;
        lp.queue_pending(move |lp| exchange::resume_delivery(lp, r));
        Ok(())
    }
}
