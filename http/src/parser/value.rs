//! Header-value states: the fast scan of ordinary values, the small machines
//! that read Content-Length, Transfer-Encoding and Connection as they pass, and
//! the line ends (including lenient obs-fold continuation lines).

use super::core::{event, Cx, Kind, Parser, Res};
use super::error::ErrorKind;
use super::flags::*;
use super::handler::Handler;
use super::method::{NameMatch, Step};
use super::settings::Lenient;
use super::state::{HeaderState, Span, State, ValueState};
use super::tables::{is, RELAXED, VALUE};

const CONNECTION_TOKENS: [&[u8]; 3] = [b"close", b"upgrade", b"keep-alive"];
const CONNECTION_STATES: [HeaderState; 3] = [
    HeaderState::ConnectionClose,
    HeaderState::ConnectionUpgrade,
    HeaderState::ConnectionKeepAlive,
];
const CHUNKED_TOKEN: &[u8] = b"chunked";

#[inline(always)]
fn is_token_char(c: u8) -> bool {
    is(c, VALUE) && c != b','
}

impl Parser {
    pub(super) fn s_value_discard_ws<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        while cx.p < data.len() {
            match data[cx.p] {
                b' ' | b'\t' => cx.p += 1,
                b'\r' => {
                    cx.p += 1;
                    self.state = State::ValueDiscardWsCr;
                    return Ok(());
                }
                b'\n' => {
                    cx.p += 1;
                    if !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
                        return Err(self.fail(
                            ErrorKind::InvalidHeaderToken,
                            cx.p,
                            "Invalid header value char",
                        ));
                    }
                    self.state = State::ValueDiscardLws;
                    return Ok(());
                }
                _ => {
                    self.start_span(Span::HeaderValue, cx);
                    return self.value_start(h, data, cx);
                }
            }
        }
        Ok(())
    }

    pub(super) fn s_value_discard_ws_cr(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b'\n' {
            cx.p += 1;
        } else if !self.lenient(Lenient::HEADERS) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected LF after CR"));
        }
        self.state = State::ValueDiscardLws;
        Ok(())
    }

    /// After an empty value's line end: a fold continues it, anything else ends it.
    pub(super) fn s_value_discard_lws<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        if matches!(data[cx.p], b' ' | b'\t') {
            cx.p += 1;
            if !self.lenient(Lenient::HEADERS) {
                return Err(self.fail(
                    ErrorKind::InvalidHeaderToken,
                    cx.p,
                    "Invalid header value char",
                ));
            }
            self.state = State::ValueDiscardWs;
            return Ok(());
        }
        match self.header_state {
            HeaderState::ContentLength => {
                return Err(self.fail(
                    ErrorKind::InvalidContentLength,
                    cx.p,
                    "Empty Content-Length",
                ));
            }
            HeaderState::TransferEncoding => {
                return Err(self.fail(
                    ErrorKind::InvalidTransferEncoding,
                    cx.p,
                    "Empty Transfer-Encoding",
                ));
            }
            _ => {}
        }
        self.set_header_flags();
        self.start_span(Span::HeaderValue, cx);
        self.end_span(h, data, cx, cx.p)?;
        self.state = State::FieldStart;
        event!(self, h, cx, on_header_value_complete, CbHeaderValueComplete);
        Ok(())
    }

    /// First byte of a value (or of a folded continuation): pick the sub-machine.
    pub(super) fn value_start<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        self.state = State::Value;
        self.value_state = match self.header_state {
            HeaderState::Upgrade => {
                self.flags |= UPGRADE;
                self.header_state = HeaderState::General;
                ValueState::General
            }
            HeaderState::TransferEncoding => {
                if self.flags & CHUNKED != 0
                    && self.kind == Kind::Request
                    && !self.lenient(Lenient::TRANSFER_ENCODING)
                {
                    // `chunked` must be the last coding: nothing may follow it.
                    self.end_span(h, data, cx, cx.p)?;
                    return Err(self.fail(
                        ErrorKind::InvalidTransferEncoding,
                        cx.p + 1,
                        "Invalid `Transfer-Encoding` header value",
                    ));
                }
                self.flags |= TRANSFER_ENCODING;
                self.flags &= !CHUNKED;
                self.aux = 0;
                ValueState::TeChunked
            }
            HeaderState::ContentLength => {
                if self.flags & CONTENT_LENGTH != 0 {
                    return Err(self.fail(
                        ErrorKind::UnexpectedContentLength,
                        cx.p,
                        "Duplicate Content-Length",
                    ));
                }
                self.content_length = 0;
                ValueState::ContentLength
            }
            HeaderState::Connection => ValueState::Connection,
            _ => ValueState::General,
        };
        Ok(())
    }

    /// Apply what a finished Connection or Transfer-Encoding value said.
    fn set_header_flags(&mut self) {
        let flag = match self.header_state {
            HeaderState::ConnectionKeepAlive => CONNECTION_KEEP_ALIVE,
            HeaderState::ConnectionClose => CONNECTION_CLOSE,
            HeaderState::ConnectionUpgrade => CONNECTION_UPGRADE,
            HeaderState::TransferEncodingChunked => {
                self.flags |= CHUNKED;
                return;
            }
            _ => return,
        };
        self.flags |= flag;
        self.header_state = HeaderState::Connection;
    }

    pub(super) fn s_value<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let mut p = cx.p;
        while p < data.len() {
            let c = data[p];
            match self.value_state {
                ValueState::General => {
                    p = self.scan.skip_value(data, p);
                    if p < data.len() {
                        p = self.value_otherwise(h, data, cx, p)?;
                    }
                }
                ValueState::Lenient => {
                    match data[p..].iter().position(|&c| c == b'\r' || c == b'\n') {
                        None => p = data.len(),
                        Some(i) => {
                            p += i;
                            self.end_span(h, data, cx, p)?;
                            self.state = if data[p] == b'\r' {
                                State::ValueCr
                            } else {
                                State::ValueLws
                            };
                            p += 1;
                        }
                    }
                }
                ValueState::ContentLength => {
                    if c.is_ascii_digit() {
                        p += 1;
                        let Some(v) = self
                            .content_length
                            .checked_mul(10)
                            .and_then(|v| v.checked_add((c - b'0') as u64))
                        else {
                            self.end_span(h, data, cx, p)?;
                            return Err(self.fail(
                                ErrorKind::InvalidContentLength,
                                p,
                                "Content-Length overflow",
                            ));
                        };
                        self.content_length = v;
                    } else {
                        self.value_state = ValueState::ContentLengthWs;
                    }
                }
                ValueState::ContentLengthWs => match c {
                    b' ' | b'\t' => p += 1,
                    b'\r' | b'\n' => {
                        self.flags |= CONTENT_LENGTH;
                        p = self.value_otherwise(h, data, cx, p)?;
                    }
                    _ => {
                        self.end_span(h, data, cx, p)?;
                        return Err(self.fail(
                            ErrorKind::InvalidContentLength,
                            p,
                            "Invalid character in Content-Length",
                        ));
                    }
                },
                ValueState::TeChunked => {
                    if c.to_ascii_lowercase() == CHUNKED_TOKEN[self.aux as usize] {
                        p += 1;
                        self.aux += 1;
                        if self.aux as usize == CHUNKED_TOKEN.len() {
                            self.value_state = ValueState::TeChunkedLast;
                        }
                    } else {
                        self.value_state = ValueState::TeToken;
                    }
                }
                ValueState::TeChunkedLast | ValueState::TeChunkedParams => match c {
                    b' ' => p += 1,
                    // As llhttp, `chunked` followed by a tab or by parameters
                    // is some other coding, except with the lenient flag.
                    b'\t' if self.lenient(Lenient::TRANSFER_ENCODING) => p += 1,
                    b';' if self.lenient(Lenient::TRANSFER_ENCODING) => {
                        p += 1;
                        self.value_state = ValueState::TeChunkedParams;
                    }
                    _ if self.value_state == ValueState::TeChunkedParams && is_token_char(c) => {
                        p += 1
                    }
                    b'\r' | b'\n' => {
                        self.header_state = HeaderState::TransferEncodingChunked;
                        p = self.value_otherwise(h, data, cx, p)?;
                    }
                    b',' if self.kind == Kind::Request
                        && !self.lenient(Lenient::TRANSFER_ENCODING) =>
                    {
                        self.end_span(h, data, cx, p)?;
                        return Err(self.fail(
                            ErrorKind::InvalidTransferEncoding,
                            p + 1,
                            "Invalid `Transfer-Encoding` header value",
                        ));
                    }
                    b',' => {
                        self.aux = 0;
                        self.value_state = ValueState::TeChunked;
                    }
                    _ => self.value_state = ValueState::TeToken,
                },
                ValueState::TeToken => match c {
                    b',' => {
                        p += 1;
                        self.value_state = ValueState::TeTokenOws;
                    }
                    _ if is_token_char(c) => p += 1,
                    _ => {
                        self.header_state = HeaderState::General;
                        self.value_state = ValueState::General;
                    }
                },
                ValueState::TeTokenOws => match c {
                    b' ' | b'\t' => p += 1,
                    _ => {
                        self.aux = 0;
                        self.value_state = ValueState::TeChunked;
                    }
                },
                ValueState::Connection => match c {
                    b' ' | b'\t' => p += 1,
                    _ => {
                        self.matcher = NameMatch::new(CONNECTION_TOKENS.len());
                        self.value_state = ValueState::ConnectionMatch;
                    }
                },
                ValueState::ConnectionMatch => match self
                    .matcher
                    .step(&CONNECTION_TOKENS, c.to_ascii_lowercase())
                {
                    Step::More => {
                        p += 1;
                        if let Some(i) = self.matcher.complete(&CONNECTION_TOKENS) {
                            self.header_state = CONNECTION_STATES[i];
                            self.value_state = ValueState::ConnectionWs;
                        }
                    }
                    Step::Done(_) | Step::Fail => self.value_state = ValueState::ConnectionToken,
                },
                ValueState::ConnectionWs => match c {
                    b',' => {
                        p += 1;
                        self.set_header_flags();
                        self.value_state = ValueState::Connection;
                    }
                    b' ' | b'\t' => p += 1,
                    b'\r' | b'\n' => p = self.value_otherwise(h, data, cx, p)?,
                    _ => {
                        self.header_state = HeaderState::General;
                        self.value_state = ValueState::ConnectionToken;
                    }
                },
                ValueState::ConnectionToken => match c {
                    b',' => {
                        p += 1;
                        self.value_state = ValueState::Connection;
                    }
                    _ if is_token_char(c) => p += 1,
                    _ => p = self.value_otherwise(h, data, cx, p)?,
                },
            }
            if self.state != State::Value {
                break;
            }
        }
        cx.p = p;
        Ok(())
    }

    /// A byte that is not plain value text: a line end, or an invalid byte.
    fn value_otherwise<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
        p: usize,
    ) -> Result<usize, super::core::Stop> {
        let c = data[p];
        match c {
            b'\r' => {
                self.end_span(h, data, cx, p)?;
                self.state = State::ValueCr;
                Ok(p + 1)
            }
            b'\n' => {
                self.end_span(h, data, cx, p)?;
                if !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
                    return Err(self.fail(
                        ErrorKind::CrExpected,
                        p,
                        "Missing expected CR after header value",
                    ));
                }
                self.state = State::ValueLws;
                Ok(p + 1)
            }
            _ if self.lenient(Lenient::HEADERS) => {
                self.value_state = ValueState::Lenient;
                Ok(p)
            }
            _ if self.lenient(Lenient::HEADER_VALUE_RELAXED) && is(c, RELAXED) => {
                self.value_state = ValueState::General;
                Ok(p + 1)
            }
            _ => {
                self.end_span(h, data, cx, p)?;
                Err(self.fail(
                    ErrorKind::InvalidHeaderToken,
                    p,
                    "Invalid header value char",
                ))
            }
        }
    }

    pub(super) fn s_value_cr(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] != b'\n' {
            return Err(self.fail(
                ErrorKind::LfExpected,
                cx.p,
                "Missing expected LF after header value",
            ));
        }
        cx.p += 1;
        self.state = State::ValueLws;
        Ok(())
    }

    /// After a value's line end: a fold (lenient only) or the value is complete.
    pub(super) fn s_value_lws<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if matches!(data[cx.p], b' ' | b'\t') {
            if !self.lenient(Lenient::HEADERS) {
                return Err(self.fail(
                    ErrorKind::InvalidHeaderToken,
                    cx.p,
                    "Unexpected whitespace after header value",
                ));
            }
            if self.header_state == HeaderState::TransferEncodingChunked {
                self.header_state = HeaderState::General;
            }
            self.start_span(Span::HeaderValue, cx);
            return self.value_start(h, data, cx);
        }
        self.set_header_flags();
        self.state = State::FieldStart;
        event!(self, h, cx, on_header_value_complete, CbHeaderValueComplete);
        Ok(())
    }
}
