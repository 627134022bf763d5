//! Status-line states of a response, after its version: the three-digit
//! status code and the reason phrase.

use super::core::{event, Cx, Parser, Res};
use super::error::ErrorKind;
use super::handler::Handler;
use super::settings::Lenient;
use super::state::{Span, State};

impl Parser {
    pub(super) fn s_res_after_version(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        let tab_ok = data[cx.p] == b'\t' && self.lenient(Lenient::SPACES_AFTER_VERSION);
        if data[cx.p] != b' ' && !tab_ok {
            return Err(self.fail(
                ErrorKind::InvalidVersion,
                cx.p,
                "Expected space after version",
            ));
        }
        cx.p += 1;
        self.status = 0;
        self.aux = 0;
        self.state = State::ResStatusDigit;
        Ok(())
    }

    pub(super) fn s_res_status_digit(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        let c = data[cx.p];
        if self.aux == 0 && matches!(c, b' ' | b'\t') && self.lenient(Lenient::SPACES_AFTER_VERSION)
        {
            // More whitespace between the version and the status code.
            cx.p += 1;
            return Ok(());
        }
        if !c.is_ascii_digit() {
            return Err(self.fail(ErrorKind::InvalidStatus, cx.p, "Invalid status code"));
        }
        self.status = self.status * 10 + (c - b'0') as u16;
        cx.p += 1;
        self.aux += 1;
        if self.aux == 3 {
            self.state = State::ResStatusOtherwise;
        }
        Ok(())
    }

    pub(super) fn s_res_status_otherwise<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        match data[cx.p] {
            b' ' => {
                cx.p += 1;
                self.start_span(Span::Status, cx);
                self.state = State::ResStatus;
            }
            b'\r' => {
                cx.p += 1;
                self.state = State::ResLineCr;
            }
            b'\n' if self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) => {
                cx.p += 1;
                self.state = State::HeadersStart;
                event!(self, h, cx, on_status_complete, CbStatusComplete);
            }
            b'\n' => {
                return Err(self.fail(
                    ErrorKind::InvalidStatus,
                    cx.p + 1,
                    "Invalid response status",
                ))
            }
            _ => return Err(self.fail(ErrorKind::InvalidStatus, cx.p, "Invalid response status")),
        }
        Ok(())
    }

    /// The reason phrase: anything up to the line end.
    pub(super) fn s_res_status<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let rest = &data[cx.p..];
        let Some(i) = rest.iter().position(|&c| c == b'\r' || c == b'\n') else {
            cx.p = data.len();
            return Ok(());
        };
        let p = cx.p + i;
        self.end_span(h, data, cx, p)?;
        cx.p = p + 1;
        if data[p] == b'\r' {
            self.state = State::ResLineCr;
            return Ok(());
        }
        if !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
            return Err(self.fail(
                ErrorKind::CrExpected,
                cx.p,
                "Missing expected CR after response line",
            ));
        }
        self.state = State::HeadersStart;
        event!(self, h, cx, on_status_complete, CbStatusComplete);
        Ok(())
    }

    pub(super) fn s_res_line_cr<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        if data[cx.p] == b'\n' {
            cx.p += 1;
        } else if !self.lenient(Lenient::OPTIONAL_LF_AFTER_CR) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected LF after CR"));
        }
        self.state = State::HeadersStart;
        event!(self, h, cx, on_status_complete, CbStatusComplete);
        Ok(())
    }
}
