//! Request-target scanning inside the request line (llhttp's URL grammar):
//! one byte-class step function shared with the standalone splitter in
//! `target.rs`, plus the parser states that use it.

use super::core::{event, Cx, Parser, Res};
use super::error::ErrorKind;
use super::handler::Handler;
use super::simd::Level;
use super::state::{Span, State, UrlState};
use super::tables::{is, URL, USERINFO};

/// What one byte does to a request-target scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UrlStep {
    /// Consume the byte, stay.
    Stay,
    /// Consume the byte, move on.
    To(UrlState),
    /// The byte (SP, CR or LF) ends the target; not consumed.
    End,
    /// Invalid: the error is at the byte (`false`) or just after it (`true`).
    Error(bool, &'static str),
}

const INVALID_CHARS: UrlStep = UrlStep::Error(true, "Invalid characters in url");

#[inline]
pub(super) fn url_step(state: UrlState, c: u8) -> UrlStep {
    use UrlState::*;
    if c == b'\t' || c == 0x0c {
        return INVALID_CHARS;
    }
    match state {
        Start => match c {
            b'/' | b'*' => UrlStep::To(Path),
            b' ' | b'\r' | b'\n' => INVALID_CHARS,
            _ if c.is_ascii_alphabetic() => UrlStep::To(Schema),
            _ => UrlStep::Error(false, "Unexpected start char in url"),
        },
        Schema => match c {
            _ if c.is_ascii_alphabetic() => UrlStep::Stay,
            b':' => UrlStep::To(SchemaSlash1),
            b' ' | b'\r' | b'\n' => INVALID_CHARS,
            _ => UrlStep::Error(false, "Unexpected char in url schema"),
        },
        SchemaSlash1 | SchemaSlash2 => match c {
            b'/' if state == SchemaSlash1 => UrlStep::To(SchemaSlash2),
            b'/' => UrlStep::To(Server),
            b' ' | b'\r' | b'\n' => INVALID_CHARS,
            _ => UrlStep::Error(false, "Unexpected char in url schema"),
        },
        Server | ServerWithAt => match c {
            b'/' => UrlStep::To(Path),
            b'?' => UrlStep::To(Query),
            b'@' if state == Server => UrlStep::To(ServerWithAt),
            b'@' => UrlStep::Error(true, "Double @ in url"),
            b'[' | b']' => UrlStep::Stay,
            b' ' | b'\r' | b'\n' => UrlStep::End,
            _ if is(c, USERINFO) => UrlStep::Stay,
            _ => UrlStep::Error(false, "Unexpected char in url server"),
        },
        Path => match c {
            _ if is(c, URL) => UrlStep::Stay,
            b'?' => UrlStep::To(Query),
            b'#' => UrlStep::To(Fragment),
            b' ' | b'\r' | b'\n' => UrlStep::End,
            _ => UrlStep::Error(false, "Invalid char in url path"),
        },
        Query => match c {
            b'?' => UrlStep::Stay,
            _ if is(c, URL) => UrlStep::Stay,
            b'#' => UrlStep::To(Fragment),
            b' ' | b'\r' | b'\n' => UrlStep::End,
            _ => UrlStep::Error(false, "Invalid char in url query"),
        },
        Fragment => match c {
            b'?' | b'#' => UrlStep::Stay,
            _ if is(c, URL) => UrlStep::Stay,
            b' ' | b'\r' | b'\n' => UrlStep::End,
            _ => UrlStep::Error(false, "Invalid char in url fragment start"),
        },
    }
}

/// Skip a run of plain path/query/fragment bytes (the common case) in one loop.
#[inline(always)]
pub(super) fn skip_url_chars(scan: Level, data: &[u8], p: usize) -> usize {
    scan.skip_url(data, p)
}

impl Parser {
    pub(super) fn s_url<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let mut p = cx.p;
        // The usual origin-form target: its first byte is `/`.
        if self.url_state == UrlState::Start && data[p] == b'/' {
            self.url_state = UrlState::Path;
            p += 1;
        }
        loop {
            if matches!(
                self.url_state,
                UrlState::Path | UrlState::Query | UrlState::Fragment
            ) {
                p = skip_url_chars(self.scan, data, p);
            }
            if p >= data.len() {
                cx.p = p;
                return Ok(());
            }
            let c = data[p];
            // After a path, query or fragment the usual stop is the SP
            // before the version: what `url_step` would say, sooner.
            let after_path = matches!(
                self.url_state,
                UrlState::Path | UrlState::Query | UrlState::Fragment
            );
            let step = if c == b' ' && after_path {
                UrlStep::End
            } else {
                url_step(self.url_state, c)
            };
            match step {
                UrlStep::Stay => p += 1,
                UrlStep::To(s) => {
                    self.url_state = s;
                    p += 1;
                }
                UrlStep::Error(after, reason) => {
                    return Err(self.fail(ErrorKind::InvalidUrl, p + after as usize, reason));
                }
                UrlStep::End => {
                    cx.p = p;
                    self.end_span_as(h, data, cx, p, Span::Url)?;
                    cx.p = p + 1;
                    return match c {
                        b' ' => {
                            self.state = State::ReqProtoStart;
                            event!(self, h, cx, on_url_complete, CbUrlComplete);
                            if cx.p < data.len() {
                                self.s_req_proto_start(h, data, cx)?;
                            }
                            Ok(())
                        }
                        b'\r' => {
                            self.state = State::UrlCr;
                            Ok(())
                        }
                        _ => {
                            if !self.lenient(super::settings::Lenient::OPTIONAL_CR_BEFORE_LF) {
                                return Err(self.fail(
                                    ErrorKind::CrExpected,
                                    cx.p,
                                    "Missing expected CR after request line",
                                ));
                            }
                            self.http09(h, cx)
                        }
                    };
                }
            }
        }
    }

    /// After `GET /path\r`: an HTTP/0.9 request line needs its LF.
    pub(super) fn s_url_cr<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] != b'\n' {
            return Err(self.fail(ErrorKind::InvalidUrl, cx.p, "Expected CRLF"));
        }
        cx.p += 1;
        self.http09(h, cx)
    }

    fn http09<H: Handler>(&mut self, h: &mut H, cx: &mut Cx) -> Res {
        self.major = 0;
        self.minor = 9;
        self.state = State::HeadersStart;
        event!(self, h, cx, on_url_complete, CbUrlComplete);
        Ok(())
    }

    pub(super) fn begin_url(&mut self, cx: &mut Cx, connect: bool) {
        self.url_state = if connect {
            UrlState::Server
        } else {
            UrlState::Start
        };
        self.start_span(Span::Url, cx);
        self.state = State::Url;
    }
}
