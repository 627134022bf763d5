//! The response (Node's `ServerResponse`): a `Copy` handle that can be moved
//! into a timer or work callback and finished later.
//!
//! Framing is decided as Node does when the head goes out: a
//! `Content-Length` when `end(data)` knows the whole body and nothing was
//! written before; otherwise chunked for HTTP/1.1 and close-delimited for
//! HTTP/1.0; no body at all for HEAD, 1xx, 204 and 304. Head and body are
//! composed into one buffer, so a short response is one write.

use eddy_loop::Loop;

use super::conn::{self, ConnId};
use super::error::{Error, Result};
use super::exchange::{self, BodyState, Exchange, RequestData, ResponseState};
use super::request::exchange;
use super::server;
use super::status::reason_phrase;
use super::table::{conn_in, http, http_ref};
use crate::h1::{
    decide, is_field_value, is_token, BodyEncoder, BodyKnown, Head, HeaderFacts, Outgoing, Role,
    StartLine,
};

/// The response to a [`Request`](super::Request).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Response {
    pub(crate) conn: ConnId,
    pub(crate) seq: u64,
}

fn valid_name(name: &str) -> bool {
    is_token(name.as_bytes())
}

fn valid_value(value: &str) -> bool {
    is_field_value(value.as_bytes())
}

fn live(lp: &mut Loop, r: Response) -> Result<&mut Exchange> {
    exchange(lp, r.conn, r.seq).ok_or(Error::Closed("response"))
}

fn unsent(lp: &mut Loop, r: Response) -> Result<&mut Exchange> {
    let x = live(lp, r)?;
    if x.res.head_sent {
        return Err(Error::HeadersSent);
    }
    Ok(x)
}

impl Response {
    pub fn set_status(self, lp: &mut Loop, status: u16) -> Result<()> {
        if !(100..=999).contains(&status) {
            return Err(Error::InvalidStatus(status));
        }
        unsent(lp, self)?.res.status = status;
        Ok(())
    }

    /// Sets a header, replacing any of the same name (case-insensitive).
    /// Invalid names and values are refused and never written.
    pub fn set_header(self, lp: &mut Loop, name: &str, value: &str) -> Result<()> {
        if !valid_name(name) || !valid_value(value) {
            return Err(Error::InvalidHeader(name.to_string()));
        }
        let headers = &mut unsent(lp, self)?.res.headers;
        headers.remove(name);
        headers.push(name, value.as_bytes());
        Ok(())
    }

    /// Adds a header line, keeping existing ones of the same name (for
    /// `Set-Cookie`).
    pub fn append_header(self, lp: &mut Loop, name: &str, value: &str) -> Result<()> {
        if !valid_name(name) || !valid_value(value) {
            return Err(Error::InvalidHeader(name.to_string()));
        }
        unsent(lp, self)?.res.headers.push(name, value.as_bytes());
        Ok(())
    }

    pub fn get_header(self, lp: &Loop, name: &str) -> Option<String> {
        let cn = http_ref(lp)?
            .conns
            .get(self.conn.index as usize)
            .filter(|cn| cn.gen == self.conn.gen)?;
        let x = cn.exchanges.iter().find(|x| x.seq == self.seq)?;
        x.res
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn remove_header(self, lp: &mut Loop, name: &str) -> Result<()> {
        unsent(lp, self)?.res.headers.remove(name);
        Ok(())
    }

    /// Sets the status and headers; they go out with the first body bytes
    /// (or `end`, or `flush_headers`).
    pub fn write_head(self, lp: &mut Loop, status: u16, headers: &[(&str, &str)]) -> Result<()> {
        if !(100..=999).contains(&status) {
            return Err(Error::InvalidStatus(status));
        }
        // `set_status` then `set_header` for each, in one lookup.
        let res = &mut unsent(lp, self)?.res;
        res.status = status;
        for (n, v) in headers {
            if !valid_name(n) || !valid_value(v) {
                return Err(Error::InvalidHeader(n.to_string()));
            }
            res.headers.remove(n);
            res.headers.push(n, v.as_bytes());
        }
        Ok(())
    }

    pub fn headers_sent(self, lp: &mut Loop) -> bool {
        exchange(lp, self.conn, self.seq).is_some_and(|x| x.res.head_sent)
    }

    pub fn finished(self, lp: &mut Loop) -> bool {
        exchange(lp, self.conn, self.seq).is_none_or(|x| x.res.finished)
    }

    /// Sends the head now (chunked or close-delimited body to follow).
    pub fn flush_headers(self, lp: &mut Loop) -> Result<()> {
        self.send(lp, &[], false).map(drop)
    }

    /// Writes body bytes. Returns false once the connection's buffered
    /// output is above its high-water mark: wait for `on_drain`. On a
    /// response without a body (HEAD, 204, 304) the bytes are dropped.
    pub fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool> {
        self.send(lp, chunk, false).map(|(below, _)| below)
    }

    /// Finishes the response, with `data` as the last (or only) body bytes.
    pub fn end(self, lp: &mut Loop, data: &[u8]) -> Result<()> {
        if self.send(lp, data, true)?.1 {
            // At the front: it leaves the queue now.
            exchange::advance(lp, self.conn);
        }
        Ok(())
    }

    /// Trailer fields, sent after a chunked body.
    pub fn add_trailers(self, lp: &mut Loop, trailers: &[(&str, &str)]) -> Result<()> {
        for (n, v) in trailers {
            if !valid_name(n) || !valid_value(v) {
                return Err(Error::InvalidHeader(n.to_string()));
            }
        }
        let x = live(lp, self)?;
        for (n, v) in trailers {
            x.res.trailers.push(n, v);
        }
        Ok(())
    }

    /// Runs `cb` when buffered output drains below the high-water mark.
    pub fn on_drain(self, lp: &mut Loop, cb: impl FnMut(&mut Loop) + 'static) -> Result<()> {
        live(lp, self)?.res.drain_cb = Some(Box::new(cb));
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
            if !valid_value(l) {
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
        exchange::emit(lp, self.conn, self.seq, bytes);
        Ok(())
    }

    /// Composes head (if not sent) and body framing and sends it: into the
    /// connection's batch while parsing, straight to the stream otherwise,
    /// or into the exchange's held-back buffer when it is not at the front.
    /// One table lookup for all of it. Returns (below the high-water mark,
    /// at the front of the queue and still to be taken off it).
    fn send(self, lp: &mut Loop, data: &[u8], last: bool) -> Result<(bool, bool)> {
        let now = lp.now();
        let h = http(lp);
        let (c, seq) = (self.conn, self.seq);
        let cn = conn_in(&mut h.conns, c).ok_or(Error::Closed("response"))?;
        let pos = cn
            .exchanges
            .iter()
            .position(|x| x.seq == seq)
            .ok_or(Error::Closed("response"))?;
        let x = &cn.exchanges[pos];
        if x.res.finished {
            return Err(Error::WriteAfterEnd);
        }
        // What the head needs to know, only while it is still to be sent.
        let head = if x.res.head_sent {
            None
        } else {
            let server_closing = server::is_closing_in(&h.servers, cn.server);
            Some((
                conn::head_context_of(cn, seq, server_closing),
                h.date.get(now),
            ))
        };
        let front = pos == 0;
        let stream = cn.stream;
        let hwm = cn.opts.high_water_mark;
        let exchanges = &mut cn.exchanges;
        let x = &mut exchanges[pos];
        let (out, mode) = match (front, cn.batch.as_mut()) {
            (true, Some(batch)) => (batch, Sink::Batch),
            (true, None) => {
                h.scratch.clear();
                (&mut h.scratch, Sink::Stream)
            }
            (false, _) => (&mut x.held, Sink::Held),
        };
        let before = out.len();
        compose(&x.req, &x.body, &mut x.res, data, last, head, out);
        let added = out.len() - before;
        if added == 0 {
            return Ok((true, front));
        }
        let below = match mode {
            Sink::Batch => {
                let below = out.len() + cn.batch_base < hwm;
                if !below {
                    // Parsing pauses after this message; the flush decides
                    // when reading resumes.
                    cn.output_paused = true;
                }
                if last && front {
                    // It leaves the queue now, in this same lookup when
                    // nothing needs the loop.
                    if let Some(next) = exchange::advance_in(h, c, now) {
                        conn::apply(lp, c, next);
                        return Ok((below, false));
                    }
                }
                below
            }
            Sink::Stream => {
                let out = std::mem::take(&mut h.scratch);
                let below = conn::write_direct(lp, c, stream, &out);
                http(lp).scratch = out;
                below
            }
            Sink::Held => {
                let held: usize = exchanges.iter().map(|x| x.held.len()).sum();
                if held >= hwm {
                    conn::pause_for_output(lp, c);
                    false
                } else {
                    true
                }
            }
        };
        Ok((below, front))
    }
}

/// Where a response's output goes.
enum Sink {
    Batch,
    Stream,
    Held,
}

fn compose(
    req: &RequestData,
    body: &BodyState,
    res: &mut ResponseState,
    data: &[u8],
    last: bool,
    head: Option<(conn::HeadContext, &str)>,
    out: &mut Vec<u8>,
) {
    if let Some((ctx, date)) = head {
        let known = if last {
            BodyKnown::Whole(data.len() as u64)
        } else {
            BodyKnown::Streaming
        };
        write_head(req, body, res, known, ctx, date, out);
    }
    res.body.encode(data, out);
    if last {
        // The counted body's shortfall is the next issue's to enforce.
        let _ = res.body.finish(&res.trailers, out);
        res.finished = true;
    }
}

/// The status line and headers, with the framing and connection headers
/// eddy adds (user headers first, in the order they were set).
fn write_head(
    req: &RequestData,
    body: &BodyState,
    res: &mut ResponseState,
    known: BodyKnown,
    ctx: conn::HeadContext,
    date: &str,
    out: &mut Vec<u8>,
) {
    let facts = HeaderFacts::of(&res.headers);
    // A final status without the 100 the client waits for: the client may
    // or may not send the body, so the connection cannot be reused.
    let unread_expected_body = req.expects_continue && !res.continue_sent && !body.complete;
    let decision = decide(&Outgoing {
        role: Role::Server,
        method: req.method.as_str().as_bytes(),
        status: res.status,
        version: req.version,
        headers: &facts,
        body: known,
        keep_alive: req.keep_alive
            && !unread_expected_body
            && !ctx.closing
            && ctx.keep_alive_secs.is_some(),
    });
    Head {
        start: StartLine::Status {
            status: res.status,
            reason: reason_phrase(res.status).as_bytes(),
        },
        headers: &res.headers,
        facts: &facts,
        decision: &decision,
        extra: b"",
        date: Some(date.as_bytes()),
        keep_alive_secs: ctx.keep_alive_secs,
    }
    .encode(out);
    res.body = BodyEncoder::new(decision.framing);
    res.keep_alive = decision.keep_alive;
    res.head_sent = true;
}
