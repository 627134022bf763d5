//! The incoming request (Node's `IncomingMessage`): a `Copy` handle to an
//! exchange of a connection. Its start line and headers are read through
//! the loop; its body arrives through `on_data` then `on_end`.

use eddy_loop::Loop;

use super::conn::{self, ConnId};
use super::error::{Error, Result};
use super::exchange::{Exchange, RequestData};
use super::table::http_ref;
use crate::h1::HeaderList;
use crate::parser::Method;

pub(crate) type DataCb = Box<dyn FnMut(&mut Loop, Request, &[u8])>;
pub(crate) type EndCb = Box<dyn FnOnce(&mut Loop, Request)>;

/// A request received by a [`Server`](super::Server).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Request {
    pub(crate) conn: ConnId,
    pub(crate) seq: u64,
}

fn data(lp: &Loop, r: Request) -> Option<&RequestData> {
    let cn = http_ref(lp)?.conns.get(r.conn.index as usize)?;
    if cn.gen != r.conn.gen {
        return None;
    }
    cn.exchanges.iter().find(|x| x.seq == r.seq).map(|x| &x.req)
}

#[inline]
pub(crate) fn exchange(lp: &mut Loop, conn: ConnId, seq: u64) -> Option<&mut Exchange> {
    conn::get(lp, conn)?
        .exchanges
        .iter_mut()
        .find(|x| x.seq == seq)
        .map(|x| &mut **x)
}

impl Request {
    /// Whether the request is still queued on an open connection.
    pub fn is_live(self, lp: &Loop) -> bool {
        data(lp, self).is_some()
    }

    pub fn method(self, lp: &Loop) -> Option<Method> {
        data(lp, self).map(|d| d.method)
    }

    /// The request-target as sent ("/path?query", or absolute form).
    pub fn target(self, lp: &Loop) -> Option<&str> {
        data(lp, self).and_then(|d| std::str::from_utf8(&d.target).ok())
    }

    /// The target's path: the part before `?` (and before `#`).
    pub fn path(self, lp: &Loop) -> Option<&str> {
        self.target(lp)
            .map(|t| t.split(['?', '#']).next().unwrap_or(t))
    }

    /// The query string after `?`, if any.
    pub fn query(self, lp: &Loop) -> Option<&str> {
        let t = self.target(lp)?;
        let q = t.split_once('?')?.1;
        Some(q.split('#').next().unwrap_or(q))
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
        let x = exchange(lp, self.conn, self.seq).ok_or(Error::Closed("request"))?;
        x.body.on_data = Some(Box::new(cb));
        Ok(())
    }

    /// The body is complete (runs at once if it already is).
    pub fn on_end(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Request) + 'static,
    ) -> Result<()> {
        let x = exchange(lp, self.conn, self.seq).ok_or(Error::Closed("request"))?;
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
        let x = exchange(lp, self.conn, self.seq).ok_or(Error::Closed("request"))?;
        x.body.on_abort = Some(Box::new(cb));
        Ok(())
    }

    /// Stops reading from the connection (and so the body) until `resume`.
    pub fn pause(self, lp: &mut Loop) -> Result<()> {
        conn::set_user_paused(lp, self.conn, true);
        Ok(())
    }

    pub fn resume(self, lp: &mut Loop) -> Result<()> {
        conn::set_user_paused(lp, self.conn, false);
        Ok(())
    }
}
