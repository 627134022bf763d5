//! The readable side of a pipe: a body's events, pause and resume, and
//! abandoning it. Implemented for the server's `Request`, the client's
//! `ClientResponse` and a net `Stream`.

use eddy_loop::Loop;
use eddy_net::{ReadEvent, Stream};

use super::Error;
use crate::client::ClientResponse;
use crate::server::Request;

/// A body that can be read into a pipe.
pub trait Readable: Copy + 'static {
    /// Delivers the body from now on: each chunk to `data` as it
    /// arrives, then `end` once it ended whole, or `abort` if it was cut
    /// off (the peer went away, a reset, an error).
    fn start(
        self,
        lp: &mut Loop,
        data: impl FnMut(&mut Loop, &[u8]) + 'static,
        end: impl FnOnce(&mut Loop) + 'static,
        abort: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error>;
    /// Stops the flow (backpressure).
    fn pause(self, lp: &mut Loop);
    /// Lets it flow again.
    fn resume(self, lp: &mut Loop);
    /// Abandons it: the destination is gone.
    fn abort(self, lp: &mut Loop);
    /// Whether it is known now to hold nothing: no chunk will come, and
    /// nothing can cut it, so a pipe only carries its end.
    fn is_known_empty(self, _lp: &Loop) -> bool {
        false
    }
    /// Runs `end` when it ends (a body known to be empty: see
    /// [`is_known_empty`](Self::is_known_empty)).
    fn on_end_only(
        self,
        lp: &mut Loop,
        end: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error> {
        self.start(lp, |_, _| {}, end, |_| {})
    }
}

impl Readable for Request {
    fn start(
        self,
        lp: &mut Loop,
        mut data: impl FnMut(&mut Loop, &[u8]) + 'static,
        end: impl FnOnce(&mut Loop) + 'static,
        abort: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error> {
        let closed = |_| Error::Closed("request");
        self.on_data(lp, move |lp, _, chunk| data(lp, chunk))
            .map_err(closed)?;
        self.on_end(lp, move |lp, _| end(lp)).map_err(closed)?;
        self.on_aborted(lp, move |lp, _| abort(lp)).map_err(closed)
    }

    fn pause(self, lp: &mut Loop) {
        let _ = Request::pause(self, lp);
    }

    fn resume(self, lp: &mut Loop) {
        let _ = Request::resume(self, lp);
    }

    fn abort(self, lp: &mut Loop) {
        // A body already whole has nothing to abort (its response is the
        // other pipe's); else the client's connection goes.
        if !self.is_complete(lp) {
            let _ = self.destroy(lp);
        }
    }

    fn is_known_empty(self, lp: &Loop) -> bool {
        // Its end comes in the same parse as its head: no byte between
        // them for a pause, a drain or an abort to act on.
        self.has_no_body(lp)
    }

    fn on_end_only(
        self,
        lp: &mut Loop,
        end: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error> {
        self.on_end(lp, move |lp, _| end(lp))
            .map_err(|_| Error::Closed("request"))
    }
}

impl Readable for ClientResponse {
    fn start(
        self,
        lp: &mut Loop,
        mut data: impl FnMut(&mut Loop, &[u8]) + 'static,
        end: impl FnOnce(&mut Loop) + 'static,
        abort: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error> {
        let closed = |_| Error::Closed("response");
        self.on_data(lp, move |lp, _, chunk| data(lp, chunk))
            .map_err(closed)?;
        self.on_end(lp, move |lp, _| end(lp)).map_err(closed)?;
        self.request()
            .watch_close(lp, move |lp, finished| {
                if !finished {
                    abort(lp);
                }
            })
            .map_err(closed)
    }

    fn pause(self, lp: &mut Loop) {
        let _ = ClientResponse::pause(self, lp);
    }

    fn resume(self, lp: &mut Loop) {
        let _ = ClientResponse::resume(self, lp);
    }

    fn abort(self, lp: &mut Loop) {
        // Its socket is closed, never pooled.
        let _ = self.request().abort(lp);
    }
}

impl Readable for Stream {
    fn start(
        self,
        lp: &mut Loop,
        mut data: impl FnMut(&mut Loop, &[u8]) + 'static,
        end: impl FnOnce(&mut Loop) + 'static,
        abort: impl FnOnce(&mut Loop) + 'static,
    ) -> Result<(), Error> {
        let (mut end, mut abort) = (Some(end), Some(abort));
        self.read_start(lp, move |lp, _, ev| match ev {
            ReadEvent::Data(chunk) => data(lp, chunk),
            ReadEvent::Eof => {
                if let Some(end) = end.take() {
                    end(lp);
                }
            }
            ReadEvent::Error(_) => {
                if let Some(abort) = abort.take() {
                    abort(lp);
                }
            }
        })
        .map_err(|_| Error::Closed("stream"))
    }

    fn pause(self, lp: &mut Loop) {
        let _ = self.read_stop(lp);
    }

    fn resume(self, lp: &mut Loop) {
        let _ = self.read_resume(lp);
    }

    fn abort(self, lp: &mut Loop) {
        let _ = self.close(lp, |_, _| {});
    }
}
