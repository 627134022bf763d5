//! The head encoder: a status line or request line, the user's header
//! lines as they were set, then the lines eddy adds (what the caller
//! passes, `Date`, `Connection`, `Keep-Alive`, the framing line) and the
//! blank line. One pass, no formatting machinery, into the caller's buffer.

use super::facts::HeaderFacts;
use super::framing::{Decision, FramingLine};
use super::headers::HeaderList;
use crate::wire::{push_line, push_number};

/// The first line of a message.
#[derive(Clone, Copy, Debug)]
pub enum StartLine<'a> {
    /// `HTTP/1.1 <status> <reason>`.
    Status {
        /// The status code, 100..=999.
        status: u16,
        /// The reason phrase (checked by the caller: no CR or LF).
        reason: &'a [u8],
    },
    /// `<method> <target> HTTP/1.1`.
    Request {
        /// The method, a token.
        method: &'a [u8],
        /// The request-target.
        target: &'a [u8],
    },
}

/// Everything a head is made of; [`Head::encode`] writes it.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    /// The status line or request line.
    pub start: StartLine<'a>,
    /// The user's header lines, sent in the order they were set.
    pub headers: &'a HeaderList,
    /// `headers`, scanned (see [`HeaderFacts::of`]).
    pub facts: &'a HeaderFacts<'a>,
    /// The framing and keep-alive decided for the message.
    pub decision: &'a Decision,
    /// Lines the caller adds after the user's, in wire form
    /// (`Name: value\r\n` each), e.g. a client's `Host` and `Expect`.
    pub extra: &'a [u8],
    /// A `Date` value, added unless the user set one (a server's).
    pub date: Option<&'a [u8]>,
    /// `Keep-Alive: timeout=N`, added while keeping alive (a server's).
    pub keep_alive_secs: Option<u64>,
}

/// Appends `HTTP/1.1 <status> <reason>\r\n`.
pub fn encode_status_line(out: &mut Vec<u8>, status: u16, reason: &[u8]) {
    out.extend_from_slice(b"HTTP/1.1 ");
    if (100..=999).contains(&status) {
        out.extend_from_slice(&[
            b'0' + (status / 100) as u8,
            b'0' + (status / 10 % 10) as u8,
            b'0' + (status % 10) as u8,
        ]);
    } else {
        push_number(out, u64::from(status));
    }
    out.push(b' ');
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");
}

/// Appends every line of `headers` in wire form.
#[inline]
pub fn encode_header_lines(out: &mut Vec<u8>, headers: &HeaderList) {
    match headers.wire() {
        // Lines added whole are kept as they go out: one copy.
        Some(lines) => out.extend_from_slice(lines),
        None => {
            for (n, v) in headers.iter() {
                push_line(out, n, v);
            }
        }
    }
}

impl Head<'_> {
    /// Appends the whole head, blank line included, to `out`.
    ///
    /// ```
    /// use eddy_http::h1::*;
    /// let mut headers = HeaderList::default();
    /// headers.push("Content-Type", b"text/plain");
    /// let facts = HeaderFacts::of(&headers);
    /// let decision = decide(&Outgoing {
    ///     role: Role::Server, method: b"GET", status: 200, version: (1, 1),
    ///     headers: &facts, body: BodyKnown::Whole(2), keep_alive: true,
    /// });
    /// let mut out = Vec::new();
    /// Head {
    ///     start: StartLine::Status { status: 200, reason: b"OK" },
    ///     headers: &headers, facts: &facts, decision: &decision, extra: b"",
    ///     date: None, keep_alive_secs: Some(5),
    /// }
    /// .encode(&mut out);
    /// assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
    ///     Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n");
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self.start {
            StartLine::Status { status, reason } => encode_status_line(out, status, reason),
            StartLine::Request { method, target } => {
                out.extend_from_slice(method);
                out.push(b' ');
                out.extend_from_slice(target);
                out.extend_from_slice(b" HTTP/1.1\r\n");
            }
        }
        encode_header_lines(out, self.headers);
        out.extend_from_slice(self.extra);
        if let (Some(date), false) = (self.date, self.facts.has_date) {
            push_line(out, b"Date", date);
        }
        let keep_alive = self.decision.keep_alive;
        if !self.facts.has_connection {
            out.extend_from_slice(if keep_alive {
                b"Connection: keep-alive\r\n"
            } else {
                b"Connection: close\r\n"
            });
        }
        if let (true, Some(secs)) = (keep_alive, self.keep_alive_secs) {
            out.extend_from_slice(b"Keep-Alive: timeout=");
            push_number(out, secs);
            out.extend_from_slice(b"\r\n");
        }
        match self.decision.line {
            FramingLine::None => {}
            FramingLine::ContentLength(len) => {
                out.extend_from_slice(b"Content-Length: ");
                push_number(out, len);
                out.extend_from_slice(b"\r\n");
            }
            FramingLine::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h1::{decide, BodyKnown, Outgoing, Role};

    #[test]
    fn a_request_head_with_extra_lines() {
        let mut headers = HeaderList::default();
        headers.push("Connection", b"close");
        let facts = HeaderFacts::of(&headers);
        let decision = decide(&Outgoing {
            role: Role::Client,
            method: b"POST",
            status: 0,
            version: (1, 1),
            headers: &facts,
            body: BodyKnown::Streaming,
            keep_alive: true,
        });
        let mut out = Vec::new();
        Head {
            start: StartLine::Request {
                method: b"POST",
                target: b"/x",
            },
            headers: &headers,
            facts: &facts,
            decision: &decision,
            extra: b"Host: h\r\n",
            date: Some(b"never used by a client"),
            keep_alive_secs: None,
        }
        .encode(&mut out);
        assert_eq!(
            out,
            &b"POST /x HTTP/1.1\r\nConnection: close\r\nHost: h\r\nDate: never used by a client\r\n\
               Transfer-Encoding: chunked\r\n\r\n"[..]
        );
    }

    #[test]
    fn odd_status_codes() {
        let mut out = Vec::new();
        encode_status_line(&mut out, 1000, b"X");
        assert_eq!(out, b"HTTP/1.1 1000 X\r\n");
    }
}
