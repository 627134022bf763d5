//! The incoming response (Node's `IncomingMessage` on the client side): a
//! `Copy` handle to the response part of a request. Status and headers are
//! read through the loop; the body arrives through `on_data`, then
//! `on_end`. `pause` stops reading the socket (body bytes already parsed
//! wait here) and `resume` delivers them and reads on.

use eddy_loop::Loop;

use super::error::{Error, Result};
use super::request::{state, ClientRequest};
use super::table::client_ref;
use crate::server::HeaderList;

pub(crate) type DataCb = Box<dyn FnMut(&mut Loop, ClientResponse, &[u8])>;
pub(crate) type EndCb = Box<dyn FnOnce(&mut Loop, ClientResponse)>;

/// The final response to a [`ClientRequest`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClientResponse {
    pub(crate) req: ClientRequest,
}

#[derive(Default)]
pub(crate) struct ResState {
    pub status: u16,
    pub reason: String,
    pub version: (u8, u8),
    pub headers: HeaderList,
    pub trailers: HeaderList,
    pub on_data: Option<DataCb>,
    pub on_end: Option<EndCb>,
    pub paused: bool,
    /// Body bytes parsed while paused.
    pub buffered: Vec<u8>,
    /// The parser saw the end of the message.
    pub parsed: bool,
    /// `on_end` ran.
    pub ended: bool,
}

impl ResState {
    /// Back to empty, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.status = 0;
        self.reason.clear();
        self.version = (0, 0);
        self.headers.clear();
        self.trailers.clear();
        self.on_data = None;
        self.on_end = None;
        self.paused = false;
        self.buffered.clear();
        self.parsed = false;
        self.ended = false;
    }
}

fn res_ref(lp: &Loop, r: ClientResponse) -> Option<&ResState> {
    client_ref(lp)?
        .reqs
        .get(r.req.index as usize)
        .filter(|st| st.gen == r.req.gen)?
        .res
        .as_deref()
}

pub(crate) fn res_mut(lp: &mut Loop, r: ClientRequest) -> Result<&mut ResState> {
    state(lp, r)?
        .res
        .as_deref_mut()
        .ok_or(Error::Closed("response"))
}

impl ClientResponse {
    pub fn request(self) -> ClientRequest {
        self.req
    }

    pub fn status(self, lp: &Loop) -> Option<u16> {
        res_ref(lp, self).map(|s| s.status)
    }

    /// The reason phrase as sent ("OK").
    pub fn reason(self, lp: &Loop) -> Option<&str> {
        res_ref(lp, self).map(|s| s.reason.as_str())
    }

    /// (major, minor), e.g. (1, 1).
    pub fn version(self, lp: &Loop) -> Option<(u8, u8)> {
        res_ref(lp, self).map(|s| s.version)
    }

    /// Every header line in arrival order, raw names.
    pub fn headers(self, lp: &Loop) -> Option<&HeaderList> {
        res_ref(lp, self).map(|s| &s.headers)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        res_ref(lp, self)?.headers.get(name)
    }

    /// The header as Node's `res.headers[name]` gives it.
    pub fn header_joined(self, lp: &Loop, name: &str) -> Option<String> {
        res_ref(lp, self)?.headers.get_joined(name)
    }

    /// Trailer lines of a chunked body (complete once `on_end` runs).
    pub fn trailers(self, lp: &Loop) -> Option<&HeaderList> {
        res_ref(lp, self).map(|s| &s.trailers)
    }

    /// Whether the whole body was received and `on_end` ran.
    pub fn is_complete(self, lp: &Loop) -> bool {
        res_ref(lp, self).is_some_and(|s| s.ended)
    }

    /// Body bytes as they arrive (chunked framing removed). Without this
    /// callback the body is read and dropped.
    pub fn on_data(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, ClientResponse, &[u8]) + 'static,
    ) -> Result<()> {
        res_mut(lp, self.req)?.on_data = Some(Box::new(cb));
        Ok(())
    }

    /// The body ended (after every `on_data`). A connection lost mid-body
    /// calls the request's error callback instead.
    pub fn on_end(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, ClientResponse) + 'static,
    ) -> Result<()> {
        res_mut(lp, self.req)?.on_end = Some(Box::new(cb));
        Ok(())
    }

    /// Stops body delivery and reading from the socket.
    pub fn pause(self, lp: &mut Loop) -> Result<()> {
        let res = res_mut(lp, self.req)?;
        if res.ended {
            return Ok(());
        }
        res.paused = true;
        if let Some(c) = state(lp, self.req)?.conn {
            super::conn::stop_reading(lp, c);
        }
        Ok(())
    }

    /// Delivers what was held (from the pending phase) and reads on.
    pub fn resume(self, lp: &mut Loop) -> Result<()> {
        let res = res_mut(lp, self.req)?;
        if !res.paused {
            return Ok(());
        }
        res.paused = false;
        let r = self.req;
        lp.queue_pending(move |lp| super::finish::resume_delivery(lp, r));
        Ok(())
    }
}
