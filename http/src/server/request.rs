//! `Request`'s methods (Node's `IncomingMessage`): its start line and
//! headers are read through the loop; its body arrives through `on_data`
//! then `on_end`.

use eddy_loop::Loop;

use super::conn;
use super::error::{Error, Result};
use super::exchange::{Exchange, RequestData};
use super::handles::Request;
use super::table::{exchange, exchange_ref};
use super::target_form::{path_of, query_of};
use crate::h1::HeaderList;
use crate::parser::Method;

fn data(lp: &Loop, r: Request) -> Option<&RequestData> {
    exchange_ref(lp, r.conn, r.seq).map(|x| &*x.req)
}

/// Lent to `forward_headers` in place.
impl crate::HeaderSource for Request {
    fn with_headers<R>(
        self,
        lp: &mut Loop,
        f: impl FnOnce(&mut Loop, &HeaderList) -> R,
    ) -> Option<R> {
        crate::header_source::lend(
            lp,
            self,
            |lp, r| Some(&mut exchange(lp, r.conn, r.seq)?.req.headers),
            f,
        )
    }
}

fn live(lp: &mut Loop, r: Request) -> Result<&mut Exchange> {
    exchange(lp, r.conn, r.seq).ok_or_else(|| Error::Closed("request"))
}

impl Request {
    /// Whether the request is still queued on an open connection (its
    /// response not yet finished and sent on): `is_active`, as streams and
    /// servers spell it.
    pub fn is_active(self, lp: &Loop) -> bool {
        data(lp, self).is_some()
    }

    /// The old name of [`is_active`](Self::is_active).
    #[deprecated(note = "use is_active")]
    pub fn is_live(self, lp: &Loop) -> bool {
        self.is_active(lp)
    }

    /// The request's method.
    pub fn method(self, lp: &Loop) -> Option<Method> {
        data(lp, self).map(|d| d.method)
    }

    /// The request-target as sent ("/path?query", or absolute form), if it
    /// is UTF-8; see [`target_bytes`](Self::target_bytes).
    pub fn target(self, lp: &Loop) -> Option<&str> {
        data(lp, self).and_then(|d| std::str::from_utf8(&d.target).ok())
    }

    /// The request-target as sent, bytes.
    pub fn target_bytes(self, lp: &Loop) -> Option<&[u8]> {
        data(lp, self).map(|d| &d.target[..])
    }

    /// The target's path: the part before `?` (and before `#`). For an
    /// absolute-form target (`http://host/p?q`) the path after its
    /// authority (`/` if it has none); [`target`](Self::target) keeps the
    /// target as sent.
    pub fn path(self, lp: &Loop) -> Option<&str> {
        let origin = std::str::from_utf8(data(lp, self)?.origin()).ok()?;
        Some(path_of(origin))
    }

    /// The query string after `?`, if any.
    pub fn query(self, lp: &Loop) -> Option<&str> {
        let origin = std::str::from_utf8(data(lp, self)?.origin()).ok()?;
        query_of(origin)
    }

    /// Who the request is for: an absolute-form target's authority, which
    /// takes precedence over `Host` (RFC 9112 section 3.2.2), else the
    /// `Host` header.
    pub fn authority(self, lp: &Loop) -> Option<&[u8]> {
        let d = data(lp, self)?;
        d.authority().or_else(|| d.headers.get("host"))
    }

    /// (major, minor), e.g. (1, 1).
    pub fn version(self, lp: &Loop) -> Option<(u8, u8)> {
        data(lp, self).map(|d| d.version)
    }

    /// The first value of a header, raw bytes (case-insensitive name).
    pub fn header<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        data(lp, self)?.headers.get(name)
    }

    /// The header as Node's `req.headers[name]` gives it (see [`HeaderList`]).
    pub fn header_joined(self, lp: &Loop, name: &str) -> Option<String> {
        data(lp, self)?.headers.get_joined(name)
    }

    /// All header lines, names in their original case, in arrival order.
    pub fn headers(self, lp: &Loop) -> Option<&HeaderList> {
        data(lp, self).map(|d| &d.headers)
    }

    /// Trailer fields after a chunked body; None until the body ends, and
    /// for requests without trailers.
    pub fn trailers(self, lp: &Loop) -> Option<&HeaderList> {
        data(lp, self)?.trailers.as_deref()
    }

    /// Whether the client asked to keep the connection open.
    pub fn keep_alive(self, lp: &Loop) -> bool {
        data(lp, self).is_some_and(|d| d.keep_alive)
    }

    /// Body bytes as they arrive (from a buffer the loop owns: copy what
    /// you keep). Without a callback the body is drained and dropped.
    pub fn on_data(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Request, &[u8]) + 'static,
    ) -> Result<()> {
        live(lp, self)?.body.on_data = Some(Box::new(cb));
        Ok(())
    }

    /// The body is complete (runs at once if it already is).
    pub fn on_end(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Request) + 'static,
    ) -> Result<()> {
        let x = live(lp, self)?;
        if x.body.complete {
            // Delivered from the pending phase, like every completion.
            lp.queue_pending(move |lp| cb(lp, self));
        } else {
            x.body.on_end = Some(Box::new(cb));
        }
        Ok(())
    }

    /// The client went away before the body was complete.
    pub fn on_aborted(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Request) + 'static,
    ) -> Result<()> {
        live(lp, self)?.body.on_abort = Some(Box::new(cb));
        Ok(())
    }

    /// Runs `cb` once when this request's exchange ends (Node's `close` on
    /// `IncomingMessage`), with the same argument as its response's
    /// [`on_close`](super::Response::on_close): `true` once the response
    /// was handed to the kernel whole, `false` if the connection died
    /// first (the request aborted, reset, timed out, closed). Both handles
    /// are stale when it runs.
    pub fn on_close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop, bool) + 'static) -> Result<()> {
        live(lp, self)?.closers.req = Some(Box::new(cb));
        Ok(())
    }

    /// The client's address (Node's `req.socket.remoteAddress`), for
    /// `X-Forwarded-For` or logs.
    pub fn remote_addr(self, lp: &Loop) -> Option<eddy_net::Address> {
        data(lp, self)?;
        let stream = super::table::http_ref(lp)?.conns.get(self.conn)?.stream;
        stream.peer_addr(lp).ok()
    }

    /// Whether the request's head said no body follows (no
    /// `Content-Length` above 0, not chunked): nothing but its end will
    /// come (false for a stale request).
    pub fn has_no_body(self, lp: &Loop) -> bool {
        data(lp, self).is_some_and(|d| !d.body_follows)
    }

    /// Whether the whole body has arrived (false for a stale request).
    pub fn is_complete(self, lp: &Loop) -> bool {
        exchange_ref(lp, self.conn, self.seq).is_some_and(|x| x.body.complete)
    }

    /// Closes the connection now (Node's `req.destroy()`): the request,
    /// its response and any pipelined after it close unfinished.
    pub fn destroy(self, lp: &mut Loop) -> Result<()> {
        live(lp, self)?;
        super::teardown::destroy(lp, self.conn, super::stats::CloseReason::Closed);
        Ok(())
    }

    /// Stops reading from the connection (and so the body) until `resume`,
    /// or until this request's response has gone out.
    pub fn pause(self, lp: &mut Loop) -> Result<()> {
        live(lp, self)?;
        conn::set_user_hold(lp, self.conn, true);
        Ok(())
    }

    /// Reads again after `pause`.
    pub fn resume(self, lp: &mut Loop) -> Result<()> {
        live(lp, self)?;
        conn::set_user_hold(lp, self.conn, false);
        Ok(())
    }
}
