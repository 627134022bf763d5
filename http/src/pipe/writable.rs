//! The writable side of a pipe: writing with backpressure, ending, the
//! drain, hearing that it went away, and cutting it. Implemented for the
//! server's `Response`, the client's `ClientRequest` and a net `Stream`.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::Error;
use crate::client::ClientRequest;
use crate::server::Response;

/// A body that can be written from a pipe.
pub trait Writable: Copy + 'static {
    /// Writes `chunk`; `Ok(false)` once buffered output reached the
    /// high-water mark (wait for the drain).
    fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool, Error>;
    /// Ends the body; `Err` if it is already gone.
    fn end(self, lp: &mut Loop) -> Result<(), Error>;
    /// Runs `cb` when buffered output drained below the mark.
    fn on_drain(self, lp: &mut Loop, cb: impl FnMut(&mut Loop) + 'static) -> Result<(), Error>;
    /// Runs `cb` once if it goes away before it finished.
    fn on_gone(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<(), Error>;
    /// Cuts it visibly (the source failed): never a clean end.
    fn abort(self, lp: &mut Loop);
    /// `Err` if it is already gone.
    fn check_open(self, lp: &Loop) -> Result<(), Error>;
}

impl Writable for Response {
    fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool, Error> {
        Response::write(self, lp, chunk).map_err(|_| Error::Closed("response"))
    }

    fn end(self, lp: &mut Loop) -> Result<(), Error> {
        match Response::end(self, lp, b"") {
            Err(crate::server::Error::Closed(_)) => Err(Error::Closed("response")),
            // Ended (short of its length, say, which closes it as it is).
            _ => Ok(()),
        }
    }

    fn on_drain(self, lp: &mut Loop, mut cb: impl FnMut(&mut Loop) + 'static) -> Result<(), Error> {
        Response::on_drain(self, lp, move |lp, _| cb(lp)).map_err(|_| Error::Closed("response"))
    }

    fn on_gone(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<(), Error> {
        self.watch_close(lp, move |lp, finished| {
            if !finished {
                cb(lp);
            }
        })
        .map_err(|_| Error::Closed("response"))
    }

    fn abort(self, lp: &mut Loop) {
        let _ = self.destroy(lp);
    }

    fn check_open(self, lp: &Loop) -> Result<(), Error> {
        // Stale once it left its queue (then it has no headers to show).
        match self.get_headers(lp) {
            Some(_) => Ok(()),
            None => Err(Error::Closed("response")),
        }
    }
}

impl Writable for ClientRequest {
    fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool, Error> {
        ClientRequest::write(self, lp, chunk).map_err(|_| Error::Closed("request"))
    }

    fn end(self, lp: &mut Loop) -> Result<(), Error> {
        match ClientRequest::end(self, lp, b"") {
            Err(crate::client::Error::Closed(_)) => Err(Error::Closed("request")),
            _ => Ok(()),
        }
    }

    fn on_drain(self, lp: &mut Loop, mut cb: impl FnMut(&mut Loop) + 'static) -> Result<(), Error> {
        ClientRequest::on_drain(self, lp, move |lp, _| cb(lp)).map_err(|_| Error::Closed("request"))
    }

    fn on_gone(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<(), Error> {
        self.watch_close(lp, move |lp, finished| {
            if !finished {
                cb(lp);
            }
        })
        .map_err(|_| Error::Closed("request"))
    }

    fn abort(self, lp: &mut Loop) {
        let _ = ClientRequest::abort(self, lp);
    }

    fn check_open(self, lp: &Loop) -> Result<(), Error> {
        match self.is_active(lp) {
            true => Ok(()),
            false => Err(Error::Closed("request")),
        }
    }
}

impl Writable for Stream {
    fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool, Error> {
        Stream::write(self, lp, chunk).map_err(|_| Error::Closed("stream"))
    }

    fn end(self, lp: &mut Loop) -> Result<(), Error> {
        match Stream::end(self, lp) {
            Err(eddy_net::Error::Closed(_)) => Err(Error::Closed("stream")),
            _ => Ok(()),
        }
    }

    fn on_drain(self, lp: &mut Loop, mut cb: impl FnMut(&mut Loop) + 'static) -> Result<(), Error> {
        Stream::on_drain(self, lp, move |lp, _| cb(lp)).map_err(|_| Error::Closed("stream"))
    }

    fn on_gone(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<(), Error> {
        // A stream cannot tell a finished close from another: whoever
        // reads it after its source ended finds nothing to abort.
        Stream::on_close(self, lp, move |lp, _| cb(lp)).map_err(|_| Error::Closed("stream"))
    }

    fn abort(self, lp: &mut Loop) {
        let _ = self.close(lp, |_, _| {});
    }

    fn check_open(self, lp: &Loop) -> Result<(), Error> {
        match self.is_active(lp) {
            true => Ok(()),
            false => Err(Error::Closed("stream")),
        }
    }
}
