//! Fast paths for the common case where a whole line is already in the input:
//! a header line (ordinary, or one of the framing headers with a plain value),
//! or the `HTTP/1.x` tail of a request line. They do exactly what the state
//! machine would, minus the per-byte sub-states and per-state dispatch, and
//! hand over to it (with its state set) at anything unusual.

use super::core::{event, Cx, Parser, Stop};
use super::flags::*;
use super::handler::Handler;
use super::method::Method;
use super::state::{HeaderState, Span, State, UrlState};
use super::tables::{eq_lower, is, TOKEN};

/// Flags named by a `Connection` value: comma-separated tokens, each trimmed
/// of spaces and tabs, compared without case.
#[inline(always)]
fn connection_flags(value: &[u8]) -> u16 {
    if eq_lower(value, b"keep-alive") {
        return CONNECTION_KEEP_ALIVE;
    }
    if eq_lower(value, b"close") {
        return CONNECTION_CLOSE;
    }
    let mut flags = 0;
    for token in value.split(|&c| c == b',') {
        let start = token
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(token.len());
        let end = token
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t')
            .map_or(start, |i| i + 1);
        let token = &token[start..end];
        if token.eq_ignore_ascii_case(b"keep-alive") {
            flags |= CONNECTION_KEEP_ALIVE;
        } else if token.eq_ignore_ascii_case(b"close") {
            flags |= CONNECTION_CLOSE;
        } else if token.eq_ignore_ascii_case(b"upgrade") {
            flags |= CONNECTION_UPGRADE;
        }
    }
    flags
}

/// A plain Content-Length value: 1 to 19 digits (so no overflow), then
/// optional spaces or tabs.
fn plain_content_length(value: &[u8]) -> Option<u64> {
    let digits = value
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(value.len());
    if digits == 0 || digits > 19 || value[digits..].iter().any(|&c| c != b' ' && c != b'\t') {
        return None;
    }
    Some(
        value[..digits]
            .iter()
            .fold(0, |n, &c| n * 10 + (c - b'0') as u64),
    )
}

/// What a whole, plain header value does to the message's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// An ordinary header: nothing.
    Nothing,
    /// `Connection` (or `Proxy-Connection`) tokens, or `Transfer-Encoding:
    /// chunked`: these flags.
    Flags(u16),
    /// `Upgrade`: the message asks to switch protocols.
    Upgrade,
    /// `Content-Length`: this many body bytes.
    Length(u64),
}

/// The framing a complete value of a header of kind `state` gives, with the
/// message's `flags` so far; `None` where the value (or a conflict with an
/// earlier framing header) needs the state machine's reading and errors.
#[inline(always)]
fn plain_framing(state: HeaderState, flags: u16, value: &[u8]) -> Option<Framing> {
    match state {
        HeaderState::General => Some(Framing::Nothing),
        HeaderState::Upgrade => Some(Framing::Upgrade),
        HeaderState::Connection => Some(Framing::Flags(connection_flags(value))),
        HeaderState::ContentLength if flags & (CONTENT_LENGTH | TRANSFER_ENCODING) == 0 => {
            plain_content_length(value).map(Framing::Length)
        }
        HeaderState::TransferEncoding
            if flags & (CHUNKED | CONTENT_LENGTH) == 0 && eq_lower(value, b"chunked") =>
        {
            Some(Framing::Flags(TRANSFER_ENCODING | CHUNKED))
        }
        _ => None,
    }
}

/// Where a header value starts after the colon at `colon`: past at most
/// one space, when no further whitespace follows (the step-by-step path
/// reads any other).
#[inline(always)]
fn value_after(data: &[u8], colon: usize) -> Option<usize> {
    match data.get(colon + 1..)? {
        [b' ', next, ..] if *next != b' ' && *next != b'\t' => Some(colon + 2),
        [next, ..] if *next != b' ' && *next != b'\t' => Some(colon + 1),
        _ => None,
    }
}

/// The byte after the CRLF at `e`, when a CRLF is there (one two-byte
/// compare) and no obs-fold follows it.
#[inline(always)]
fn after_line_end(data: &[u8], e: usize) -> Option<u8> {
    let &[cr, lf, next] = data.get(e..)?.first_chunk::<3>()?;
    let crlf = u16::from_le_bytes([cr, lf]) == u16::from_le_bytes(*b"\r\n");
    (crlf && next != b' ' && next != b'\t').then_some(next)
}

/// A whole header line's offsets in the input: the name from `name` to
/// the `colon`, the value from `value` to `end`, where CRLF follows.
#[derive(Debug, Clone, Copy)]
struct LineSpans {
    name: usize,
    colon: usize,
    value: usize,
    end: usize,
}

/// Where [`Parser::header_lines`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinesEnd {
    /// After the blank line ending the header section, which is consumed:
    /// the headers are complete.
    HeadersEnd,
    /// At a byte after a line that only the state machine reads (a lone
    /// CR, LF, or a colon), in state `FieldStart`.
    StateMachine,
    /// At a line it does not take: the one-line paths read it.
    OneLine,
}

impl Parser {
    /// A header line starting at `cx.p`, whose name span has just been opened
    /// (state `Field`), that `header_line` left to the state machine.
    /// Returns `true` if the whole line, up to the first byte of the next
    /// one, was handled. Out of line: the hot loop stays small.
    #[inline(never)]
    pub(super) fn line_fast<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<bool, Stop> {
        let len = data.len();
        let name_start = cx.p;
        let q = self.scan.skip_name(data, name_start);
        if q == len || data[q] != b':' {
            return Ok(false);
        }
        self.classify_field(&data[name_start..q]);
        self.end_span_as(h, data, cx, q, Span::HeaderField)?;
        cx.p = q + 1;
        self.state = State::FieldCheck;
        event!(self, h, cx, on_header_field_complete, CbHeaderFieldComplete);
        self.s_field_check(cx)?;
        let mut v = cx.p;
        // Usually exactly one space.
        if v < len && data[v] == b' ' {
            v += 1;
        }
        while v < len && matches!(data[v], b' ' | b'\t') {
            v += 1;
        }
        cx.p = v;
        if v == len || matches!(data[v], b'\r' | b'\n') {
            return Ok(false);
        }
        self.start_span(Span::HeaderValue, cx);
        let e = self.scan.skip_value(data, v);
        let line_ends = e + 2 < len
            && data[e] == b'\r'
            && data[e + 1] == b'\n'
            && !matches!(data[e + 2], b' ' | b'\t');
        let value = &data[v..e];
        let plain = line_ends
            && match self.header_state {
                HeaderState::General => true,
                HeaderState::Upgrade => {
                    self.flags |= UPGRADE;
                    self.header_state = HeaderState::General;
                    true
                }
                HeaderState::Connection => {
                    self.flags |= connection_flags(value);
                    true
                }
                HeaderState::ContentLength => match plain_content_length(value) {
                    Some(n) if self.flags & CONTENT_LENGTH == 0 => {
                        self.content_length = n;
                        self.flags |= CONTENT_LENGTH;
                        true
                    }
                    _ => false,
                },
                HeaderState::TransferEncoding
                    if self.flags & CHUNKED == 0 && eq_lower(value, b"chunked") =>
                {
                    self.flags |= TRANSFER_ENCODING | CHUNKED;
                    true
                }
                _ => false,
            };
        if !plain {
            // Let the value's state machine read it from its first byte.
            self.value_start(h, data, cx)?;
            return Ok(false);
        }
        self.end_span_as(h, data, cx, e, Span::HeaderValue)?;
        cx.p = e + 2;
        self.state = State::FieldStart;
        event!(self, h, cx, on_header_value_complete, CbHeaderValueComplete);
        Ok(true)
    }

    /// The whole header line at `cx.p` (its first byte is neither a line
    /// end nor a colon), in one pass with no span opened and no sub-state
    /// written, when it is all here and needs no further reading: a name
    /// ending at a colon, at most one space, a non-empty value (any value of
    /// an ordinary header; a plain value of a framing one that conflicts
    /// with nothing seen so far) ending at CRLF with no obs-fold after it,
    /// within the header-size limit. Then it reports the line as the state
    /// machine would and returns `true`, with `cx.p` on the next line; else
    /// it returns `false` having changed nothing but the name's
    /// classification (which `line_fast` repeats), for the step-by-step
    /// path to read the line and find any error at its exact byte.
    #[inline(always)]
    pub(super) fn header_line<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<bool, Stop> {
        let name_start = cx.p;
        let q = self.scan.skip_name(data, name_start);
        let Some((name, rest)) = data
            .get(name_start..)
            .and_then(|d| d.split_at_checked(q - name_start))
        else {
            return Ok(false);
        };
        let [b':', ..] = rest else {
            return Ok(false);
        };
        self.classify_field(name);
        let Some(v) = value_after(data, q) else {
            return Ok(false);
        };
        let e = self.scan.skip_value(data, v);
        if e == v || after_line_end(data, e).is_none() {
            return Ok(false);
        }
        let line = LineSpans {
            name: name_start,
            colon: q,
            value: v,
            end: e,
        };
        self.emit_line(h, data, cx, line)
    }

    /// Report the whole header line `line` of `data` (a classified name,
    /// a non-empty value, CRLF with no obs-fold after it) as the state
    /// machine would, with `cx.p` on the next line, and return `true`; or
    /// return `false`, having reported nothing, where the line would cross
    /// the header-size limit or its framing needs the state machine.
    #[inline(always)]
    fn emit_line<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
        line: LineSpans,
    ) -> Result<bool, Stop> {
        let name = &data[line.name..line.colon];
        let value = &data[line.value..line.end];
        let (name_len, value_len) = (name.len() as u64, value.len() as u64);
        if self.header_bytes as u64 + name_len + value_len > self.limits.header_bytes as u64 {
            return Ok(false);
        }
        // Ordinary headers, the usual case, skip the framing decision.
        let framing = match self.header_state {
            HeaderState::General => Framing::Nothing,
            state => match plain_framing(state, self.flags, value) {
                Some(framing) => framing,
                None => return Ok(false),
            },
        };
        h.on_header_field(name);
        self.header_bytes += name_len as u32;
        cx.p = line.colon + 1;
        self.state = State::FieldCheck;
        event!(self, h, cx, on_header_field_complete, CbHeaderFieldComplete);
        if framing != Framing::Nothing {
            self.apply_framing(framing);
        }
        h.on_header_value(value);
        self.header_bytes += value_len as u32;
        cx.p = line.end + 2;
        self.state = State::FieldStart;
        event!(self, h, cx, on_header_value_complete, CbHeaderValueComplete);
        Ok(true)
    }

    /// Header lines from `cx.p` (state `FieldStart`, its byte neither a
    /// line end nor a colon), read several to a 64-byte block of stop
    /// masks: each line's colon and line end are found by bit arithmetic
    /// on masks computed once per block, not by two dependent scans. Takes
    /// exactly the lines `header_line` takes whose name is letters, digits
    /// and dashes, and reports them the same way; stops at the first line
    /// it does not take, or at the end of the header section.
    #[inline(always)]
    pub(super) fn header_lines<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<LinesEnd, Stop> {
        loop {
            let base = cx.p;
            let Some(masks) = self.scan.line_masks(data, base) else {
                return Ok(LinesEnd::OneLine);
            };
            // Lines from this block while their names end inside it.
            loop {
                let start = cx.p - base;
                if start >= masks.len {
                    break;
                }
                let q = start + (masks.name >> start).trailing_zeros() as usize;
                if q >= masks.len {
                    // A name running past the block: from a new block at
                    // its start, or (one already starting there) as one line.
                    if start > 0 {
                        break;
                    }
                    return Ok(LinesEnd::OneLine);
                }
                let colon = base + q;
                if q == start || data[colon] != b':' {
                    return Ok(LinesEnd::OneLine);
                }
                let Some(v) = value_after(data, colon) else {
                    return Ok(LinesEnd::OneLine);
                };
                // The value's end from the masks, or past the block by scanning.
                let rv = v - base;
                let re = match masks.value.checked_shr(rv as u32) {
                    Some(stops) => rv + stops.trailing_zeros() as usize,
                    None => masks.len,
                };
                let e = if re < masks.len {
                    base + re
                } else {
                    self.scan.skip_value(data, base + masks.len.max(rv))
                };
                // `after_line_end`, written out: through the helper this
                // loop measured about 1% more instructions a request.
                let Some(&[cr, lf, next]) = data.get(e..).and_then(|d| d.first_chunk::<3>()) else {
                    return Ok(LinesEnd::OneLine);
                };
                let line_ends = u16::from_le_bytes([cr, lf]) == u16::from_le_bytes(*b"\r\n")
                    && next != b' '
                    && next != b'\t';
                if e == v || !line_ends || self.header_count >= self.limits.headers {
                    return Ok(LinesEnd::OneLine);
                }
                self.classify_field(&data[cx.p..colon]);
                let line = LineSpans {
                    name: cx.p,
                    colon,
                    value: v,
                    end: e,
                };
                if !self.emit_line(h, data, cx, line)? {
                    return Ok(LinesEnd::OneLine);
                }
                self.header_count += 1;
                match next {
                    b'\r' if data.get(e + 3) == Some(&b'\n') => {
                        cx.p += 2;
                        return Ok(LinesEnd::HeadersEnd);
                    }
                    b'\r' | b'\n' | b':' => return Ok(LinesEnd::StateMachine),
                    _ => {}
                }
            }
        }
    }

    /// What a framing header's plain value does to the message.
    #[inline(never)]
    fn apply_framing(&mut self, framing: Framing) {
        match framing {
            Framing::Nothing => {}
            Framing::Flags(f) => self.flags |= f,
            Framing::Upgrade => {
                self.flags |= UPGRADE;
                self.header_state = HeaderState::General;
            }
            Framing::Length(n) => {
                self.content_length = n;
                self.flags |= CONTENT_LENGTH;
            }
        }
    }

    /// An origin-form request-target at `cx.p` (a `/`, then path, query
    /// and fragment bytes) ended by SP, all here and within the limits:
    /// report it as `s_url` would (and go on to the protocol) and return
    /// `true`; else return `false`, touching nothing, for `s_url` to read
    /// it step by step. After the path's `/` every `?` and `#` is allowed
    /// (query, fragment, and inside both), so the scan only hops them.
    #[inline(always)]
    pub(super) fn target_fast<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<bool, Stop> {
        let start = cx.p;
        if data.get(start) != Some(&b'/') || self.method == Method::Connect as u8 {
            return Ok(false);
        }
        let mut url_state = UrlState::Path;
        let mut e = self.scan.skip_url(data, start + 1);
        loop {
            match data.get(e) {
                Some(b' ') => break,
                Some(b'?') if url_state == UrlState::Path => url_state = UrlState::Query,
                Some(b'#') => url_state = UrlState::Fragment,
                Some(b'?') => {}
                _ => return Ok(false),
            }
            e = self.scan.skip_url(data, e + 1);
        }
        let n = (e - start) as u64;
        let limits = &self.limits;
        if self.url_len as u64 + n > limits.url as u64
            || self.header_bytes as u64 + n > limits.header_bytes as u64
        {
            return Ok(false);
        }
        self.url_state = url_state;
        h.on_url(&data[start..e]);
        self.url_len += n as u32;
        self.header_bytes += n as u32;
        cx.p = e + 1;
        self.state = State::ReqProtoStart;
        event!(self, h, cx, on_url_complete, CbUrlComplete);
        if cx.p < data.len() {
            self.s_req_proto_start(h, data, cx)?;
        }
        Ok(true)
    }

    /// `HTTP/1.1\r\n` or `HTTP/1.0\r\n` at `cx.p` ending a request line.
    /// Returns `false`, touching nothing, if the input is anything else.
    #[inline]
    pub(super) fn request_line_tail_fast<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<bool, Stop> {
        let p = cx.p;
        let Some(tail) = data.get(p..).and_then(|d| d.first_chunk::<10>()) else {
            return Ok(false);
        };
        let minor = tail[7];
        if &tail[..7] != b"HTTP/1." || !(minor == b'0' || minor == b'1') || &tail[8..] != b"\r\n" {
            return Ok(false);
        }
        if self.method == Method::Pri as u8 || !Method::from_index(self.method as usize).is_http() {
            return Ok(false);
        }
        // Protocol and version spans count against no limit: reported directly.
        h.on_protocol(&tail[..4]);
        cx.p = p + 4;
        self.aux = 0;
        self.state = State::ProtoCheck;
        event!(self, h, cx, on_protocol_complete, CbProtocolComplete);
        self.major = 1;
        self.minor = minor - b'0';
        h.on_version(&tail[5..8]);
        cx.p = p + 8;
        self.state = State::ReqLineEnd;
        event!(self, h, cx, on_version_complete, CbVersionComplete);
        cx.p = p + 10;
        self.state = State::HeadersStart;
        if cx.p < data.len() && is(data[cx.p], TOKEN) {
            self.state = State::FieldStart;
            self.s_field_start(h, data, cx)?;
        }
        Ok(true)
    }
}
