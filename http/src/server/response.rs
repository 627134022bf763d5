//! The response (Node's `ServerResponse`): a `Copy` handle that can be moved
//! into a timer or work callback and finished later.
//!
//! Framing is decided as Node does when the head goes out: a
//! `Content-Length` when `end(data)` knows the whole body and nothing was
//! written before; otherwise chunked for HTTP/1.1 and close-delimited for
//! HTTP/1.0; no body at all for HEAD, 1xx, 204 and 304. Head and body are
//! composed into one buffer, so a short response is one write.

use std::io::Write as _;

use eddy_loop::Loop;

use super::conn::{self, ConnId};
use super::error::{Error, Result};
use super::exchange::{self, BodyState, Exchange, Framing, RequestData, ResponseState};
use super::request::exchange;
use super::server;
use super::status::reason_phrase;
use super::table::{conn_in, http, http_ref};
use crate::parser::Method;
use crate::wire::{byte_table, push_line, push_number};

/// The response to a [`Request`](super::Request).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Response {
    pub(crate) conn: ConnId,
    pub(crate) seq: u64,
}

/// Token characters (RFC 9110 tchar).
static TCHAR: [bool; 256] = byte_table(b"!#$%&'*+-.^_`|~");

pub(crate) fn valid_name(name: &str) -> bool {
    // No early exit: a branch-free pass is faster on short names.
    !name.is_empty() && name.bytes().fold(true, |ok, b| ok & TCHAR[b as usize])
}

pub(crate) fn valid_value(value: &str) -> bool {
    // NUL, LF and CR are all below 0x0e: one branch-free (vectorised)
    // pass over the value, and the exact test only if that finds one.
    let low = value.bytes().fold(false, |low, b| low | (b < 0x0e));
    !low || !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
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
        x.res
            .trailers
            .extend(trailers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
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
        write_head(req, body, res, data, last, ctx, date, out);
    }
    match res.framing {
        Framing::NoBody | Framing::Undecided => {}
        Framing::Length(_) | Framing::UntilClose => out.extend_from_slice(data),
        Framing::Chunked => {
            if !data.is_empty() {
                let _ = write!(out, "{:x}\r\n", data.len());
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            if last {
                out.extend_from_slice(b"0\r\n");
                for (n, v) in &res.trailers {
                    push_line(out, n.as_bytes(), v.as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if last {
        res.finished = true;
    }
}

/// The status line and headers, with the framing and connection headers
/// eddy adds (user headers first, in the order they were set).
#[allow(clippy::too_many_arguments)]
fn write_head(
    req: &RequestData,
    body: &BodyState,
    res: &mut ResponseState,
    data: &[u8],
    last: bool,
    ctx: conn::HeadContext,
    date: &str,
    out: &mut Vec<u8>,
) {
    let st = res.status;
    if (100..=999).contains(&st) {
        let digits = [
            b'0' + (st / 100) as u8,
            b'0' + (st / 10 % 10) as u8,
            b'0' + (st % 10) as u8,
        ];
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&digits);
        out.push(b' ');
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_number(out, u64::from(st));
        out.push(b' ');
    }
    out.extend_from_slice(reason_phrase(st).as_bytes());
    out.extend_from_slice(b"\r\n");
    // The user's lines go out as they are; what eddy adds depends on a
    // few of them, noted in the same pass.
    let mut user_length_line = None;
    let mut user_chunked = false;
    let mut user_close = false;
    let mut has_date = false;
    let mut has_connection = false;
    match res.headers.wire() {
        Some(lines) => out.extend_from_slice(lines),
        None => {
            for (n, v) in res.headers.iter() {
                push_line(out, n, v);
            }
        }
    }
    for (n, v) in res.headers.iter() {
        match n.len() {
            4 if n.eq_ignore_ascii_case(b"date") => has_date = true,
            10 if n.eq_ignore_ascii_case(b"connection") => {
                has_connection = true;
                user_close |= v.eq_ignore_ascii_case(b"close");
            }
            14 if n.eq_ignore_ascii_case(b"content-length") => {
                user_length_line.get_or_insert(v);
            }
            17 if n.eq_ignore_ascii_case(b"transfer-encoding") => {
                user_chunked |= v.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
            }
            _ => {}
        }
    }
    let user_length = user_length_line
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let no_body =
        req.method == Method::Head || res.status < 200 || res.status == 204 || res.status == 304;
    let framing = if no_body {
        Framing::NoBody
    } else if let Some(len) = user_length {
        Framing::Length(len)
    } else if user_chunked {
        Framing::Chunked
    } else if last {
        Framing::Length(data.len() as u64)
    } else if req.version < (1, 1) {
        Framing::UntilClose
    } else {
        Framing::Chunked
    };
    // A final status without the 100 the client waits for: the client may
    // or may not send the body, so the connection cannot be reused.
    let unread_expected_body = req.expects_continue && !res.continue_sent && !body.complete;
    let keep_alive = req.keep_alive
        && !unread_expected_body
        && !ctx.closing
        && !user_close
        && framing != Framing::UntilClose
        && ctx.keep_alive_secs.is_some();
    if !has_date {
        push_line(out, b"Date", date.as_bytes());
    }
    if !has_connection {
        out.extend_from_slice(if keep_alive {
            b"Connection: keep-alive\r\n"
        } else {
            b"Connection: close\r\n"
        });
    }
    if let (true, Some(secs)) = (keep_alive, ctx.keep_alive_secs) {
        out.extend_from_slice(b"Keep-Alive: timeout=");
        push_number(out, secs);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::Length(len) if user_length.is_none() => {
            out.extend_from_slice(b"Content-Length: ");
            push_number(out, len);
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked if !user_chunked => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n")
        }
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
    res.framing = framing;
    res.keep_alive = keep_alive;
    res.head_sent = true;
}
