//! `Response`'s methods (Node's `ServerResponse`). Framing is decided by
//! `h1::decide` when the head goes out (Node's rules: a `Content-Length`
//! when `end(data)` knows the whole body and nothing was written before;
//! otherwise chunked for HTTP/1.1 and close-delimited for HTTP/1.0; no
//! body at all for HEAD, 1xx, 204 and 304). Head and body are composed into
//! one buffer, so a short response is one write.

use eddy_loop::Loop;

use super::conn;
use super::error::{Error, Result};
use super::exchange::Exchange;
use super::handles::Response;
use super::output::{self, SendRefused};
use super::status::{is_reason_phrase, reason_phrase};
use super::table::{exchange, exchange_ref};
use crate::h1::{is_field_value, is_token, HeaderList};

#[inline(always)]
fn check_header(name: &str, value: &[u8]) -> Result<()> {
    if is_token(name.as_bytes()) & is_field_value(value) {
        Ok(())
    } else {
        Err(Error::InvalidHeader(name.to_string()))
    }
}

fn live(lp: &mut Loop, r: Response) -> Result<&mut Exchange> {
    exchange(lp, r.conn, r.seq).ok_or_else(|| Error::Closed("response"))
}

fn unsent(lp: &mut Loop, r: Response) -> Result<&mut Exchange> {
    let x = live(lp, r)?;
    if x.res.head_sent() {
        return Err(Error::HeadersSent);
    }
    Ok(x)
}

impl Response {
    /// Sets the status code (100..=999) of a response not yet sent.
    pub fn set_status(self, lp: &mut Loop, status: u16) -> Result<()> {
        if !(100..=999).contains(&status) {
            return Err(Error::InvalidStatus(status));
        }
        unsent(lp, self)?.res.status = status;
        Ok(())
    }

    /// Sets the reason phrase of a response not yet sent (Node's
    /// `statusMessage`), bytes as given: a proxy forwards its upstream's.
    /// A phrase with CR, LF or another control byte is refused
    /// ([`Error::InvalidStatusMessage`]). Without it the status's
    /// standard phrase goes out.
    pub fn set_status_message(self, lp: &mut Loop, phrase: impl AsRef<[u8]>) -> Result<()> {
        let phrase = phrase.as_ref();
        if !is_reason_phrase(phrase) {
            let shown = String::from_utf8_lossy(phrase).into_owned();
            return Err(Error::InvalidStatusMessage(shown));
        }
        unsent(lp, self)?.res.reason = Some(phrase.into());
        Ok(())
    }

    /// Sets a header, replacing any of the same name (case-insensitive),
    /// as Node's `setHeader`. The value goes out byte for byte: names must
    /// be tokens, values RFC 9110 field-values (no CR, LF or NUL; obs-text
    /// 0x80-0xFF is passed through). Invalid ones are refused and never
    /// written.
    pub fn set_header(self, lp: &mut Loop, name: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let value = value.as_ref();
        check_header(name, value)?;
        let res = &mut unsent(lp, self)?.res;
        res.lines_changed();
        res.headers.remove(name);
        res.headers.push(name, value);
        Ok(())
    }

    /// Adds a header line, keeping existing ones of the same name (Node's
    /// `appendHeader`, for `Set-Cookie`); checked as `set_header`.
    pub fn append_header(self, lp: &mut Loop, name: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let value = value.as_ref();
        check_header(name, value)?;
        let res = &mut unsent(lp, self)?.res;
        res.lines_changed();
        res.headers.push(name, value);
        Ok(())
    }

    /// The first value of a header set on this response, bytes as set
    /// (case-insensitive name).
    pub fn get_header<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        exchange_ref(lp, self.conn, self.seq)?.res.headers.get(name)
    }

    /// The old name of [`get_header`](Self::get_header).
    #[deprecated(note = "use get_header, which returns bytes")]
    pub fn get_header_bytes<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        self.get_header(lp, name)
    }

    /// The headers set on this response, in order.
    pub fn get_headers(self, lp: &Loop) -> Option<&HeaderList> {
        exchange_ref(lp, self.conn, self.seq).map(|x| &x.res.headers)
    }

    /// Removes every header of this name set on this response.
    pub fn remove_header(self, lp: &mut Loop, name: &str) -> Result<()> {
        let res = &mut unsent(lp, self)?.res;
        res.lines_changed();
        res.headers.remove(name);
        Ok(())
    }

    /// Adds the lines of a received header list that are not hop-by-hop,
    /// byte for byte ([`HeaderList::forward_into`]); lines that are not
    /// valid are refused, and then none is added. The list is a
    /// `&HeaderList` or a received message, read in place (an upstream
    /// [`ClientResponse`](crate::client::ClientResponse), say):
    /// `res.forward_headers(lp, ures)`.
    pub fn forward_headers(self, lp: &mut Loop, received: impl crate::HeaderSource) -> Result<()> {
        received
            .with_headers(lp, |lp, list| {
                let lines = list.forwardable();
                let res = &mut unsent(lp, self)?.res;
                if res.headers.is_empty() && lines.are_all_of(&res.previous) {
                    // The lines of this record's last response, byte for
                    // byte (checked then): taken back whole.
                    res.take_back_lines();
                    return Ok(());
                }
                if let Some(n) = lines.first_invalid() {
                    let shown = String::from_utf8_lossy(n).into_owned();
                    return Err(Error::InvalidHeader(shown));
                }
                res.lines_changed();
                lines.copy_into(&mut res.headers);
                Ok(())
            })
            .unwrap_or(Err(Error::Closed("received message")))
    }

    /// Forwards a received response's head, as a proxy answers with its
    /// upstream's (Node's `res.writeHead(up.statusCode, up.statusMessage,
    /// up.headers)`): the status code, the reason phrase byte for byte
    /// (none kept when it is the registry's), and the lines that are not
    /// hop-by-hop ([`forward_headers`](Self::forward_headers)).
    pub fn forward_head(
        self,
        lp: &mut Loop,
        received: impl crate::HeaderSource + crate::StatusSource + Copy,
    ) -> Result<()> {
        received
            .with_status(lp, |lp, status, reason| {
                self.set_status(lp, status)?;
                if reason == reason_phrase(status).as_bytes() {
                    unsent(lp, self)?.res.reason = None;
                    Ok(())
                } else {
                    self.set_status_message(lp, reason)
                }
            })
            .unwrap_or(Err(Error::Closed("received message")))?;
        self.forward_headers(lp, received)
    }

    /// Sets the status and headers; they go out with the first body bytes
    /// (or `end`, or `flush_headers`).
    pub fn write_head(self, lp: &mut Loop, status: u16, headers: &[(&str, &str)]) -> Result<()> {
        if !(100..=999).contains(&status) {
            return Err(Error::InvalidStatus(status));
        }
        let res = &mut unsent(lp, self)?.res;
        if res.headers.is_empty() && res.previous.is_set_from(headers) {
            // The head of this record's last response, byte for byte: its
            // lines were checked then, and are taken back whole.
            res.status = status;
            res.take_back_lines();
            return Ok(());
        }
        // Every line is checked before any is set: a refusal sets none.
        for (n, v) in headers {
            check_header(n, v.as_bytes())?;
        }
        // `set_status` then `set_header` for each, in one lookup.
        res.status = status;
        res.lines_changed();
        let bytes = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        res.headers.reserve(headers.len(), bytes);
        for (n, v) in headers {
            res.headers.remove(n);
            res.headers.push(n, v.as_bytes());
        }
        Ok(())
    }

    /// Whether the head has been sent (Node's `headersSent`); false for a
    /// stale response.
    pub fn headers_sent(self, lp: &Loop) -> bool {
        exchange_ref(lp, self.conn, self.seq).is_some_and(|x| x.res.head_sent())
    }

    /// Whether `end` was called (Node's `writableEnded`). A response that
    /// has left its connection's queue (sent on, or the connection closed)
    /// counts as finished.
    pub fn is_finished(self, lp: &Loop) -> bool {
        exchange_ref(lp, self.conn, self.seq).is_none_or(|x| x.res.is_finished())
    }

    /// Sends the head now (chunked or close-delimited body to follow).
    pub fn flush_headers(self, lp: &mut Loop) -> Result<()> {
        self.send(lp, &[], false).map(drop)
    }

    /// Writes body bytes. Returns false once the connection's buffered
    /// output is above its high-water mark: wait for `on_drain`. On a
    /// response without a body (HEAD, 204, 304) the bytes are dropped.
    /// Bytes past a declared `Content-Length` are refused
    /// ([`Error::ContentLengthExceeded`]): none of them is sent.
    pub fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool> {
        self.send(lp, chunk, false).map(|sent| sent.room.is_below())
    }

    /// Writes body bytes shared, not copied: a block many responses send
    /// (a file's cached bytes, a generated payload) is queued on the socket
    /// as a reference ([`eddy_net::SharedBytes`]), so a slow reader holds
    /// no copy of it. Copied after all where the response's output cannot
    /// go straight to the socket (behind an earlier pipelined response, or
    /// inside a batch). Returns what [`write`](Self::write) returns.
    pub fn write_shared(
        self,
        lp: &mut Loop,
        bytes: impl Into<eddy_net::SharedBytes>,
    ) -> Result<bool> {
        output::send_shared(lp, self.conn, self.seq, bytes.into())
            .map(|sent| sent.room.is_below())
            .map_err(|e| match e {
                SendRefused::Closed => Error::Closed("response"),
                SendRefused::Finished => Error::WriteAfterEnd,
                SendRefused::Overrun(over) => Error::ContentLengthExceeded(over),
            })
    }

    /// Finishes the response, with `data` as the last (or only) body bytes.
    ///
    /// `Content-Length` is strict (Node's `strictContentLength`): `data`
    /// past the declared length is refused with
    /// [`Error::ContentLengthExceeded`] and nothing of it is sent (the
    /// response is not ended); ending short of it returns
    /// [`Error::ContentLengthShort`]: the response is over as sent, its
    /// `on_close` hears `false`, and the connection closes after it.
    pub fn end(self, lp: &mut Loop, data: &[u8]) -> Result<()> {
        let sent = self.send(lp, data, true)?;
        if sent.finished_at_front {
            // At the front: it leaves the queue now.
            conn::advance(lp, self.conn);
        }
        match sent.short {
            Some(short) => Err(Error::ContentLengthShort(short)),
            None => Ok(()),
        }
    }

    /// Trailer fields, sent after a chunked body.
    pub fn add_trailers(self, lp: &mut Loop, trailers: &[(&str, &str)]) -> Result<()> {
        for (n, v) in trailers {
            check_header(n, v.as_bytes())?;
        }
        let x = live(lp, self)?;
        for (n, v) in trailers {
            x.res.trailers.push(n, v);
        }
        Ok(())
    }

    /// Runs `cb` with this response when buffered output drains below the
    /// high-water mark.
    pub fn on_drain(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Response) + 'static,
    ) -> Result<()> {
        live(lp, self)?.res.drain_cb = Some(Box::new(cb));
        Ok(())
    }

    /// Runs `cb` once when this response's life ends (Node's `close`
    /// event, with `writableFinished` as its argument):
    /// - `true` once the last byte of the response was handed to the
    ///   kernel;
    /// - `false` when the connection died first: a reset, the client's
    ///   EOF before the response was done, a timeout,
    ///   `close_all_connections`, a body that ended short of its
    ///   `Content-Length`; whether the handler had written nothing yet,
    ///   waited on a drain or paused the request.
    ///
    /// It runs from the pending phase; the response (and its request) is
    /// stale by then. Register it before `end`: a response that already
    /// left its queue is stale. A later call replaces the callback.
    pub fn on_close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop, bool) + 'static) -> Result<()> {
        live(lp, self)?.closers.res = Some(Box::new(cb));
        Ok(())
    }

    /// Adds a listener of this response's close, besides the user's
    /// `on_close` (a pipe's).
    pub(crate) fn watch_close(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, bool) + 'static,
    ) -> Result<()> {
        live(lp, self)?.closers.watchers.push(Box::new(cb));
        Ok(())
    }

    /// Closes the connection now (Node's `res.destroy()`): what is not
    /// sent yet never is, so a body in progress is visibly cut (a chunked
    /// one without its last chunk, a counted one short). Every exchange
    /// on it closes unfinished.
    pub fn destroy(self, lp: &mut Loop) -> Result<()> {
        live(lp, self)?;
        super::teardown::destroy(lp, self.conn, super::stats::CloseReason::Closed);
        Ok(())
    }

    /// Sends `100 Continue` (for a request with `Expect: 100-continue`).
    pub fn write_continue(self, lp: &mut Loop) -> Result<()> {
        self.informational(lp, b"HTTP/1.1 100 Continue\r\n\r\n")?;
        live(lp, self)?.res.continue_sent = true;
        Ok(())
    }

    /// Sends `103 Early Hints` with `Link` headers.
    pub fn write_early_hints(self, lp: &mut Loop, links: &[&str]) -> Result<()> {
        let mut head = b"HTTP/1.1 103 Early Hints\r\n".to_vec();
        for l in links {
            if !is_field_value(l.as_bytes()) {
                return Err(Error::InvalidHeader("Link".into()));
            }
            head.extend_from_slice(b"Link: ");
            head.extend_from_slice(l.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        self.informational(lp, &head)
    }

    fn informational(self, lp: &mut Loop, bytes: &[u8]) -> Result<()> {
        unsent(lp, self)?;
        output::emit(lp, self.conn, self.seq, bytes);
        Ok(())
    }

    /// Composes head (if not sent) and body framing and sends it
    /// (`output::send`).
    fn send(self, lp: &mut Loop, data: &[u8], last: bool) -> Result<output::Sent> {
        output::send(lp, self.conn, self.seq, data, last).map_err(|e| match e {
            SendRefused::Closed => Error::Closed("response"),
            SendRefused::Finished => Error::WriteAfterEnd,
            SendRefused::Overrun(over) => Error::ContentLengthExceeded(over),
        })
    }
}
