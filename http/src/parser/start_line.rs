//! Start-line states: skipping blank lines between messages, detecting the
//! kind, the request line (method, protocol, version; the request-target is in
//! `url.rs`) and the protocol and version of a status line.

use super::core::{event, Cx, FinishState, Kind, Parser, PauseReason, Res, Stop};
use super::error::ErrorKind;
use super::handler::Handler;
use super::method::{Method, NameMatch, Step, METHOD_NAMES};
use super::settings::Lenient;
use super::state::{Span, State};

/// Index of the method named exactly `token`, common methods first.
#[inline]
fn lookup_method(token: &[u8]) -> Option<usize> {
    let common = match token {
        b"GET" => Some(Method::Get),
        b"POST" => Some(Method::Post),
        b"PUT" => Some(Method::Put),
        b"HEAD" => Some(Method::Head),
        b"DELETE" => Some(Method::Delete),
        _ => None,
    };
    if let Some(m) = common {
        return Some(m as usize);
    }
    METHOD_NAMES.iter().position(|&name| name == token)
}

const PROTOCOLS: [&[u8]; 3] = [b"HTTP", b"RTSP", b"ICE"];
const PROTO_HTTP: u8 = 0;
const PROTO_RTSP: u8 = 1;
const PRI_PREFACE: &[u8] = b"\r\n\r\nSM\r\n\r\n";

impl Parser {
    pub(super) fn s_start<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        while cx.p < data.len() && matches!(data[cx.p], b'\r' | b'\n') {
            cx.p += 1;
        }
        if cx.p == data.len() {
            return Ok(());
        }
        self.begin_message();
        self.state = State::MessageBegin;
        if self.initial_message_completed {
            event!(self, h, cx, on_reset, CbReset);
        }
        // Go straight on through the message start (saves state dispatches).
        self.s_message_begin(h, cx)?;
        self.s_start_line(h, data, cx)?;
        if self.state == State::ReqMethod {
            self.s_req_method(h, data, cx)?;
        }
        Ok(())
    }

    pub(super) fn s_message_begin<H: Handler>(&mut self, h: &mut H, cx: &mut Cx) -> Res {
        self.finish = FinishState::Unsafe;
        self.state = State::StartLine;
        event!(self, h, cx, on_message_begin, CbMessageBegin);
        Ok(())
    }

    pub(super) fn s_start_line<H: Handler>(
        &mut self,
        _h: &mut H,
        _data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        match self.kind {
            Kind::Request => self.begin_request(cx),
            Kind::Response => self.begin_response(cx),
            Kind::Either => self.state = State::EitherStart,
        }
        Ok(())
    }

    fn begin_request(&mut self, cx: &mut Cx) {
        self.matcher = NameMatch::new(METHOD_NAMES.len());
        self.start_span(Span::Method, cx);
        self.state = State::ReqMethod;
    }

    fn begin_response(&mut self, cx: &mut Cx) {
        self.matcher = NameMatch::new(PROTOCOLS.len());
        self.start_span(Span::Protocol, cx);
        self.state = State::ResProto;
    }

    /// `Kind::Either`: a response starts with `HT`, a request never does.
    pub(super) fn s_either_start<H: Handler>(
        &mut self,
        _h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        let p = cx.p;
        if data[p] == b'H' && p + 1 == data.len() {
            cx.p += 1;
            self.state = State::EitherH;
            return Ok(());
        }
        if data[p] == b'H' && data[p + 1] == b'T' {
            self.kind = Kind::Response;
            self.begin_response(cx);
        } else {
            self.kind = Kind::Request;
            self.begin_request(cx);
        }
        Ok(())
    }

    /// `Kind::Either` after an `H` that ended the previous input.
    pub(super) fn s_either_h<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b'T' {
            self.kind = Kind::Response;
            self.begin_response(cx);
            h.on_protocol(b"H");
            self.matcher.step(&PROTOCOLS, b'H');
        } else {
            self.kind = Kind::Request;
            self.begin_request(cx);
            h.on_method(b"H");
            self.matcher.step(&METHOD_NAMES, b'H');
        }
        Ok(())
    }

    pub(super) fn s_req_method<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let mut p = cx.p;
        if self.matcher.len == 0 {
            // Fast path: the whole method is in this input and is a known name.
            // The common methods are matched whole with their space, one
            // compare each; the rest are cut at the first non-method byte.
            let rest = &data[p..];
            let known = if rest.starts_with(b"GET ") {
                Some((Method::Get as usize, 3))
            } else if rest.starts_with(b"POST ") {
                Some((Method::Post as usize, 4))
            } else if rest.starts_with(b"PUT ") {
                Some((Method::Put as usize, 3))
            } else if rest.starts_with(b"HEAD ") {
                Some((Method::Head as usize, 4))
            } else {
                data[p..]
                    .iter()
                    .take(16)
                    .position(|&c| !(c.is_ascii_uppercase() || c == b'-' || c == b'_'))
                    .and_then(|n| lookup_method(&data[p..p + n]).map(|i| (i, n)))
            };
            if let Some(i) = known {
                let (index, n) = i;
                p += n;
                self.method = index as u8;
                self.end_span_as(h, data, cx, p, Span::Method)?;
                cx.p = p;
                self.state = State::ReqFirstSpace;
                event!(self, h, cx, on_method_complete, CbMethodComplete);
                if cx.p < data.len() && data[cx.p] == b' ' {
                    cx.p += 1;
                    self.state = State::ReqSpacesBeforeUrl;
                    if !self.target_fast(h, data, cx)? {
                        self.s_req_spaces_before_url(data, cx);
                        if self.state == State::Url {
                            self.s_url(h, data, cx)?;
                        }
                    }
                }
                return Ok(());
            }
        }
        while p < data.len() {
            let found = match self.matcher.step(&METHOD_NAMES, data[p]) {
                Step::More => {
                    p += 1;
                    if !self.matcher.alive.is_power_of_two() {
                        continue;
                    }
                    match self.matcher.complete(&METHOD_NAMES) {
                        Some(i) => i,
                        None => continue,
                    }
                }
                Step::Done(i) => i,
                Step::Fail => {
                    return Err(self.fail(
                        ErrorKind::InvalidMethod,
                        p,
                        "Invalid method encountered",
                    ))
                }
            };
            self.method = found as u8;
            self.end_span(h, data, cx, p)?;
            cx.p = p;
            self.state = State::ReqFirstSpace;
            event!(self, h, cx, on_method_complete, CbMethodComplete);
            return Ok(());
        }
        cx.p = p;
        Ok(())
    }

    pub(super) fn s_req_first_space(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] != b' ' {
            return Err(self.fail(
                ErrorKind::InvalidMethod,
                cx.p,
                "Expected space after method",
            ));
        }
        cx.p += 1;
        self.state = State::ReqSpacesBeforeUrl;
        Ok(())
    }

    pub(super) fn s_req_spaces_before_url(&mut self, data: &[u8], cx: &mut Cx) {
        while cx.p < data.len() && data[cx.p] == b' ' {
            cx.p += 1;
        }
        if cx.p < data.len() {
            let connect = self.method == Method::Connect as u8;
            self.begin_url(cx, connect);
        }
    }

    pub(super) fn s_req_proto_start<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        while cx.p < data.len() && data[cx.p] == b' ' {
            cx.p += 1;
        }
        if cx.p < data.len() && !self.request_line_tail_fast(h, data, cx)? {
            self.matcher = NameMatch::new(PROTOCOLS.len());
            self.start_span(Span::Protocol, cx);
            self.state = State::ReqProto;
        }
        Ok(())
    }

    /// `HTTP`, `RTSP` or `ICE`, in a request or a response.
    pub(super) fn s_proto<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let mut p = cx.p;
        while p < data.len() {
            match self.matcher.step(&PROTOCOLS, data[p]) {
                Step::More => {
                    p += 1;
                    if let Some(i) = self.matcher.complete(&PROTOCOLS) {
                        self.aux = i as u8;
                        self.end_span(h, data, cx, p)?;
                        cx.p = p;
                        self.state = if self.state == State::ReqProto {
                            State::ProtoCheck
                        } else {
                            State::AfterProto
                        };
                        event!(self, h, cx, on_protocol_complete, CbProtocolComplete);
                        return Ok(());
                    }
                }
                Step::Done(_) | Step::Fail => {
                    self.end_span(h, data, cx, p)?;
                    return Err(self.fail(
                        ErrorKind::InvalidConstant,
                        p,
                        "Expected HTTP/, RTSP/ or ICE/",
                    ));
                }
            }
        }
        cx.p = p;
        Ok(())
    }

    /// The request's method must suit its protocol.
    pub(super) fn s_proto_check(&mut self, cx: &mut Cx) -> Res {
        let method = Method::from_index(self.method as usize);
        let (ok, reason) = match self.aux {
            PROTO_HTTP => (method.is_http(), "Invalid method for HTTP/x.x request"),
            PROTO_RTSP => (method.is_rtsp(), "Invalid method for RTSP/x.x request"),
            _ => (
                method == Method::Source,
                "Expected SOURCE method for ICE/x.x request",
            ),
        };
        if !ok {
            return Err(self.fail(ErrorKind::InvalidConstant, cx.p, reason));
        }
        self.state = State::AfterProto;
        Ok(())
    }

    pub(super) fn s_after_proto(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] != b'/' {
            return Err(self.fail(
                ErrorKind::InvalidConstant,
                cx.p,
                "Expected HTTP/, RTSP/ or ICE/",
            ));
        }
        cx.p += 1;
        self.start_span(Span::Version, cx);
        self.state = State::VerMajor;
        Ok(())
    }

    pub(super) fn s_ver_major<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let c = data[cx.p];
        if !c.is_ascii_digit() {
            self.end_span(h, data, cx, cx.p)?;
            return Err(self.fail(ErrorKind::InvalidVersion, cx.p, "Invalid major version"));
        }
        self.major = c - b'0';
        cx.p += 1;
        self.state = State::VerDot;
        Ok(())
    }

    pub(super) fn s_ver_dot<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] != b'.' {
            self.end_span(h, data, cx, cx.p)?;
            return Err(self.fail(ErrorKind::InvalidVersion, cx.p, "Expected dot"));
        }
        cx.p += 1;
        self.state = State::VerMinor;
        Ok(())
    }

    pub(super) fn s_ver_minor<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let c = data[cx.p];
        if !c.is_ascii_digit() {
            self.end_span(h, data, cx, cx.p)?;
            return Err(self.fail(ErrorKind::InvalidVersion, cx.p, "Invalid minor version"));
        }
        self.minor = c - b'0';
        cx.p += 1;
        // As llhttp: HTTP/1.2 and up (which RFC 9112 section 2.3 would read as
        // 1.1) only with `Lenient::VERSION`.
        let known = matches!((self.major, self.minor), (0, 9) | (1, 0) | (1, 1) | (2, 0));
        if !known && !self.lenient(Lenient::VERSION) {
            self.end_span(h, data, cx, cx.p)?;
            return Err(self.fail(ErrorKind::InvalidVersion, cx.p, "Invalid HTTP version"));
        }
        self.end_span(h, data, cx, cx.p)?;
        self.state = if self.kind == Kind::Response {
            State::ResAfterVersion
        } else if self.method == Method::Pri as u8 {
            self.aux = 0;
            State::ReqPri
        } else {
            State::ReqLineEnd
        };
        event!(self, h, cx, on_version_complete, CbVersionComplete);
        Ok(())
    }

    pub(super) fn s_req_line_end(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        match data[cx.p] {
            // llhttp rejects whitespace here: a peer that reads past it may
            // split the stream differently.
            b' ' | b'\t' if self.lenient(Lenient::SPACES_AFTER_VERSION) => cx.p += 1,
            b'\r' => {
                cx.p += 1;
                self.state = State::ReqLineCr;
            }
            b'\n' if self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) => {
                cx.p += 1;
                self.state = State::HeadersStart;
            }
            b'\n' => {
                return Err(self.fail(
                    ErrorKind::InvalidVersion,
                    cx.p + 1,
                    "Expected CRLF after version",
                ))
            }
            _ => {
                return Err(self.fail(
                    ErrorKind::InvalidVersion,
                    cx.p,
                    "Expected CRLF after version",
                ))
            }
        }
        Ok(())
    }

    pub(super) fn s_req_line_cr(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b'\n' {
            cx.p += 1;
        } else if !self.lenient(Lenient::OPTIONAL_LF_AFTER_CR) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected CRLF after version"));
        }
        self.state = State::HeadersStart;
        Ok(())
    }

    /// `PRI * HTTP/2.0` must be followed by the rest of the HTTP/2 preface.
    pub(super) fn s_req_pri(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        while cx.p < data.len() {
            if data[cx.p] != PRI_PREFACE[self.aux as usize] {
                return Err(self.fail(
                    ErrorKind::InvalidVersion,
                    cx.p,
                    "Expected HTTP/2 Connection Preface",
                ));
            }
            cx.p += 1;
            self.aux += 1;
            if self.aux as usize == PRI_PREFACE.len() {
                self.paused = Some(PauseReason::H2Upgrade);
                self.state = State::Dead;
                return Err(Stop::Pause);
            }
        }
        Ok(())
    }
}
