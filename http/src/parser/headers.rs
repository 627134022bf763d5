//! Header-section states: field names (with recognition of the headers that
//! frame the message), the line structure around values, and the end of the
//! header section where the body framing is decided.

use super::core::{event, Cx, FinishState, Kind, Parser, Res, Stop};
use super::error::ErrorKind;
use super::fast::LinesEnd;
use super::flags::*;
use super::handler::{Handler, HeadersAction};
use super::method::{Method, NameMatch, Step};
use super::settings::Lenient;
use super::state::{HeaderState, Span, State};
use super::tables::{eq_lower, is, TOKEN};

/// Header names that change how the message is framed or kept alive.
const SPECIAL: [&[u8]; 5] = [
    b"connection",
    b"content-length",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];
/// `SPECIAL`'s index of the one name of each length (`NONE` for none).
const SPECIAL_BY_LEN: [u8; 18] = {
    let mut t = [NONE as u8; 18];
    let mut i = 0;
    while i < SPECIAL.len() {
        t[SPECIAL[i].len()] = i as u8;
        i += 1;
    }
    t
};
const NONE: usize = 0xff;
const LOOK_ALIKE: [&[u8]; 2] = [b"content-length", b"transfer-encoding"];

const SPECIAL_STATE: [HeaderState; 5] = [
    HeaderState::Connection,
    HeaderState::ContentLength,
    HeaderState::Connection,
    HeaderState::TransferEncoding,
    HeaderState::Upgrade,
];

impl Parser {
    pub(super) fn s_headers_start(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b' ' {
            cx.p += 1;
            if !self.lenient(Lenient::HEADERS) {
                return Err(self.fail(
                    ErrorKind::UnexpectedSpace,
                    cx.p,
                    "Unexpected space after start line",
                ));
            }
        }
        self.state = State::FieldStart;
        Ok(())
    }

    pub(super) fn s_field_start<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        match data[cx.p] {
            b'\r' => {
                cx.p += 1;
                self.state = State::HeadersCr;
                Ok(())
            }
            b'\n' => {
                cx.p += 1;
                if !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
                    return Err(self.fail(
                        ErrorKind::InvalidHeaderToken,
                        cx.p,
                        "Invalid header field char",
                    ));
                }
                self.end_of_headers(h, cx)
            }
            b':' => Err(self.fail(ErrorKind::InvalidHeaderToken, cx.p, "Invalid header token")),
            _ => loop {
                match self.header_lines(h, data, cx)? {
                    LinesEnd::HeadersEnd => return self.end_of_headers(h, cx),
                    LinesEnd::StateMachine => return Ok(()),
                    LinesEnd::OneLine => {}
                }
                match self.one_line(h, data, cx)? {
                    LinesEnd::HeadersEnd => return self.end_of_headers(h, cx),
                    LinesEnd::StateMachine => return Ok(()),
                    LinesEnd::OneLine => {}
                }
            },
        }
    }

    /// The header line at `cx.p` that `header_lines` did not take, read
    /// whole by `header_line` or `line_fast`, or left to the state machine
    /// (`StateMachine`); `OneLine` when the next line starts at `cx.p`.
    /// Out of line: the one-line scans' vector constants would otherwise
    /// be hoisted into registers across the whole header loop, and
    /// reloaded after each of its calls. (Without those scans, on other
    /// targets, where every line comes here, it is inlined.)
    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), inline(never))]
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        inline(always)
    )]
    fn one_line<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Result<LinesEnd, Stop> {
        self.header_count += 1;
        if self.header_count > self.limits.headers {
            return Err(self.fail(ErrorKind::TooManyHeaders, cx.p, "Too many headers"));
        }
        if !self.header_line(h, data, cx)? {
            self.start_span(Span::HeaderField, cx);
            self.state = State::Field;
            if !self.line_fast(h, data, cx)? {
                if self.state == State::Field {
                    // The name continues in the state machine.
                    self.matcher = NameMatch::new(SPECIAL.len());
                    self.alt_alive = 3;
                    self.alt_len = 0;
                }
                return Ok(LinesEnd::StateMachine);
            }
        }
        Ok(match data[cx.p] {
            b'\r' if data.get(cx.p + 1) == Some(&b'\n') => {
                cx.p += 2;
                LinesEnd::HeadersEnd
            }
            b'\r' | b'\n' | b':' => LinesEnd::StateMachine,
            _ => LinesEnd::OneLine,
        })
    }

    pub(super) fn s_field<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let mut p = cx.p;
        loop {
            while p < data.len() && is(data[p], TOKEN) {
                let c = data[p].to_ascii_lowercase();
                if self.matcher.alive != 0 && self.matcher.step(&SPECIAL, c) != Step::More {
                    self.matcher.alive = 0;
                }
                if self.alt_alive & 3 != 0 {
                    self.look_alike_step(c);
                }
                p += 1;
            }
            // Lenient: any byte but the colon, a line end or a special name's SP.
            let lenient_byte = p < data.len()
                && self.lenient(Lenient::HEADERS)
                && !matches!(data[p], b':' | b'\r' | b'\n')
                && !(data[p] == b' ' && self.matcher.complete(&SPECIAL).is_some());
            if !lenient_byte {
                break;
            }
            self.matcher.alive = 0;
            self.alt_alive = 0;
            p += 1;
        }
        cx.p = p;
        if p == data.len() {
            return Ok(());
        }
        let special = self.matcher.complete(&SPECIAL);
        match data[p] {
            b':' => {
                self.header_state = special.map_or(HeaderState::General, |i| SPECIAL_STATE[i]);
                if special.is_none() && self.alt_alive & 3 != 0 && self.look_alike_complete() {
                    self.force_close = true;
                }
                self.field_complete(h, data, cx)
            }
            b' ' if special.is_some() => {
                if !self.lenient(Lenient::HEADERS) {
                    self.end_span(h, data, cx, p)?;
                    return Err(self.fail(
                        ErrorKind::InvalidHeaderToken,
                        p + 1,
                        "Invalid header field char",
                    ));
                }
                self.header_state = special.map_or(HeaderState::General, |i| SPECIAL_STATE[i]);
                cx.p += 1;
                self.state = State::FieldColonWs;
                Ok(())
            }
            _ => Err(self.fail(ErrorKind::InvalidHeaderToken, p, "Invalid header token")),
        }
    }

    /// Recognise a whole field name: special headers and look-alikes.
    /// Returns `false` (nothing changed) for a name the fast path should not take.
    #[inline(always)]
    pub(super) fn classify_field(&mut self, name: &[u8]) -> bool {
        // One candidate per length (looked up, not a jump table: header
        // lengths vary line by line), compared a word at a time.
        let candidate = SPECIAL_BY_LEN.get(name.len()).map_or(NONE, |&i| i as usize);
        let special = match SPECIAL.get(candidate) {
            Some(s) if eq_lower(name, s) => Some(candidate),
            _ => None,
        };
        self.header_state = special.map_or(HeaderState::General, |i| SPECIAL_STATE[i]);
        if special.is_none()
            && name.len() >= 14
            && matches!(name[0] | 0x20, b'c' | b't')
            && self.is_look_alike(name)
        {
            self.force_close = true;
        }
        true
    }

    /// Lenient whitespace between a special header's name and its colon.
    pub(super) fn s_field_colon_ws<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        match data[cx.p] {
            b' ' => cx.p += 1,
            b':' => return self.field_complete(h, data, cx),
            _ => {
                self.header_state = HeaderState::General;
                self.matcher.alive = 0;
                self.alt_alive = 0;
                self.state = State::Field;
            }
        }
        Ok(())
    }

    /// Track whether the name is `content-length` or `transfer-encoding` spelt
    /// with `_` or repeated `-`: some intermediaries normalise those, so such a
    /// header may frame the message for them but not for us.
    fn look_alike_step(&mut self, c: u8) {
        let c = if c == b'_' { b'-' } else { c };
        let prev_dash = self.alt_alive & 0x80 != 0;
        if c == b'-' && prev_dash {
            return;
        }
        let mut alive = self.alt_alive & 3;
        for (i, name) in LOOK_ALIKE.iter().enumerate() {
            if alive & (1 << i) != 0 && name.get(self.alt_len as usize) != Some(&c) {
                alive &= !(1 << i);
            }
        }
        self.alt_len = self.alt_len.saturating_add(1);
        self.alt_alive = alive | if c == b'-' { 0x80 } else { 0 };
    }

    fn is_look_alike(&mut self, name: &[u8]) -> bool {
        self.alt_alive = 3;
        self.alt_len = 0;
        for &c in name {
            self.look_alike_step(c.to_ascii_lowercase());
            if self.alt_alive & 3 == 0 {
                return false;
            }
        }
        self.look_alike_complete()
    }

    fn look_alike_complete(&self) -> bool {
        (0..2)
            .any(|i| self.alt_alive & (1 << i) != 0 && LOOK_ALIKE[i].len() == self.alt_len as usize)
    }

    /// At the colon: end the name, report it, then check framing conflicts.
    pub(super) fn field_complete<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        self.end_span(h, data, cx, cx.p)?;
        cx.p += 1;
        self.state = State::FieldCheck;
        event!(self, h, cx, on_header_field_complete, CbHeaderFieldComplete);
        Ok(())
    }

    /// Content-Length and Transfer-Encoding together are a smuggling vector.
    #[inline(always)]
    pub(super) fn s_field_check(&mut self, cx: &mut Cx) -> Res {
        let lenient = self.lenient(Lenient::CHUNKED_LENGTH);
        match self.header_state {
            HeaderState::TransferEncoding if self.flags & CONTENT_LENGTH != 0 && !lenient => {
                return Err(self.fail(
                    ErrorKind::InvalidTransferEncoding,
                    cx.p,
                    "Transfer-Encoding can't be present with Content-Length",
                ));
            }
            HeaderState::ContentLength if self.flags & TRANSFER_ENCODING != 0 && !lenient => {
                return Err(self.fail(
                    ErrorKind::InvalidContentLength,
                    cx.p,
                    "Content-Length can't be present with Transfer-Encoding",
                ));
            }
            _ => {}
        }
        self.state = State::ValueDiscardWs;
        Ok(())
    }

    pub(super) fn s_headers_cr<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b'\n' {
            cx.p += 1;
        } else if !self.lenient(Lenient::OPTIONAL_LF_AFTER_CR) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected LF after headers"));
        }
        self.end_of_headers(h, cx)
    }

    /// The blank line: either the trailer section ended, or the headers did.
    fn end_of_headers<H: Handler>(&mut self, h: &mut H, cx: &mut Cx) -> Res {
        if self.flags & TRAILING != 0 {
            self.state = State::MessageDone;
            event!(self, h, cx, on_chunk_complete, CbChunkComplete);
            return Ok(());
        }
        // Only a request with a body can be refused one (Transfer-Encoding
        // implies a body), so the usual bodiless request tests one thing.
        let body = self.flags & (CHUNKED | TRANSFER_ENCODING) != 0 || self.content_length > 0;
        if body && self.kind == Kind::Request {
            // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
            let old_with_te = self.major == 0 || (self.major == 1 && self.minor == 0);
            let bodiless = self.method == Method::Get as u8 || self.method == Method::Head as u8;
            if old_with_te && self.flags & TRANSFER_ENCODING != 0 {
                self.force_close = true;
            }
            self.bodiless_body = bodiless;
        }
        self.upgrade = if self.flags & UPGRADE != 0 && self.flags & CONNECTION_UPGRADE != 0 {
            self.kind == Kind::Request || self.status == 101
        } else {
            self.method == Method::Connect as u8
        };
        self.state = State::HeadersDone;
        self.position = cx.p;
        match h.on_headers_complete(self) {
            HeadersAction::Proceed => {}
            HeadersAction::SkipBody => self.flags |= SKIPBODY,
            HeadersAction::Upgrade => {
                self.upgrade = true;
                self.flags |= SKIPBODY;
            }
            HeadersAction::Pause => return Err(Stop::Pause),
            HeadersAction::Error => {
                return Err(self.fail(ErrorKind::CbHeadersComplete, cx.p, "User callback error"));
            }
        }
        // Go straight on when there is no body (saves state dispatches). A
        // request with neither Transfer-Encoding nor a non-zero length, and
        // no upgrade, has none: what `s_headers_done` would decide.
        let bodiless_request = !body && !self.upgrade && self.kind == Kind::Request;
        if bodiless_request {
            self.state = State::MessageDone;
        } else {
            self.s_headers_done(cx)?;
        }
        if self.state == State::MessageDone {
            self.s_message_done(h, cx)?;
            self.s_after_message_complete(cx)?;
            self.s_cleanup();
        }
        Ok(())
    }

    /// Decide how the body is delimited (RFC 9112 section 6.3).
    pub(super) fn s_headers_done(&mut self, cx: &mut Cx) -> Res {
        let response = self.kind == Kind::Response;
        let has_body = self.flags & CHUNKED != 0 || self.content_length > 0;
        let connect = self.method == Method::Connect as u8;
        if (self.upgrade && (connect || self.flags & SKIPBODY != 0 || !has_body))
            || (response && self.status == 101)
        {
            // The rest of the connection belongs to another protocol.
            self.upgrade = true;
            self.state = State::MessageDone;
            return Ok(());
        }
        let no_body_status = response && matches!(self.status, 100 | 102 | 103 | 204 | 304);
        self.state = if self.flags & SKIPBODY != 0 || no_body_status {
            State::MessageDone
        } else if self.flags & CHUNKED != 0 {
            State::ChunkSizeStart
        } else if self.flags & TRANSFER_ENCODING != 0 {
            if self.kind == Kind::Request
                && !self.lenient(Lenient::CHUNKED_LENGTH)
                && !self.lenient(Lenient::TRANSFER_ENCODING)
            {
                return Err(self.fail(
                    ErrorKind::InvalidTransferEncoding,
                    cx.p,
                    "Request has invalid `Transfer-Encoding`",
                ));
            }
            State::BodyEof
        } else if self.flags & CONTENT_LENGTH == 0 {
            if self.message_needs_eof() {
                State::BodyEof
            } else {
                State::MessageDone
            }
        } else if self.content_length == 0 {
            State::MessageDone
        } else {
            State::BodyIdentity
        };
        match self.state {
            State::BodyEof => {
                self.finish = FinishState::SafeWithCallback;
                self.start_span(Span::Body, cx);
            }
            State::BodyIdentity => self.start_span(Span::Body, cx),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn s_message_done<H: Handler>(&mut self, h: &mut H, cx: &mut Cx) -> Res {
        self.state = State::AfterMessageComplete;
        event!(self, h, cx, on_message_complete, CbMessageComplete);
        Ok(())
    }

    pub(super) fn s_after_message_complete(&mut self, _cx: &mut Cx) -> Res {
        self.state = State::Cleanup;
        if self.upgrade {
            self.paused = Some(super::core::PauseReason::Upgrade);
            return Err(Stop::Pause);
        }
        Ok(())
    }

    /// Between messages: keep going on a persistent connection, else refuse more data.
    #[inline]
    pub(super) fn s_cleanup(&mut self) {
        // A GET or HEAD body was read to its end here: the next message
        // starts after it (the caller decides whether it wants one).
        let keep_alive = self.keep_alive_if_body_read();
        self.finish = FinishState::Safe;
        self.initial_message_completed = true;
        self.state = if keep_alive || self.lenient(Lenient::KEEP_ALIVE) {
            State::Start
        } else {
            State::Closed
        };
    }

    pub(super) fn s_closed(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        while cx.p < data.len() && matches!(data[cx.p], b'\r' | b'\n') {
            cx.p += 1;
        }
        if cx.p < data.len() {
            if !self.lenient(Lenient::DATA_AFTER_CLOSE) {
                return Err(self.fail(
                    ErrorKind::ClosedConnection,
                    cx.p + 1,
                    "Data after `Connection: close`",
                ));
            }
            cx.p = data.len();
        }
        Ok(())
    }
}
