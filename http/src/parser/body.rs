//! Body states: Content-Length bodies, and chunked framing with chunk
//! extensions (quoted values included) and the trailer section.

use super::core::{event, Cx, Parser, Res};
use super::error::ErrorKind;
use super::flags::*;
use super::handler::Handler;
use super::settings::Lenient;
use super::state::{Span, State};
use super::tables::{hex_value, is, QDTEXT, QUOTED_PAIR, TOKEN};

impl Parser {
    pub(super) fn s_body_identity<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        let avail = (data.len() - cx.p) as u64;
        if avail < self.content_length {
            self.content_length -= avail;
            cx.p = data.len();
            return Ok(());
        }
        cx.p += self.content_length as usize;
        self.content_length = 0;
        self.end_span(h, data, cx, cx.p)?;
        self.state = State::MessageDone;
        Ok(())
    }

    pub(super) fn s_chunk_size_start(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        let Some(v) = hex_value(data[cx.p]) else {
            return Err(self.fail(
                ErrorKind::InvalidChunkSize,
                cx.p,
                "Invalid character in chunk size",
            ));
        };
        self.content_length = v;
        cx.p += 1;
        self.state = State::ChunkSize;
        Ok(())
    }

    pub(super) fn s_chunk_size(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        while cx.p < data.len() {
            let Some(v) = hex_value(data[cx.p]) else {
                self.state = State::ChunkSizeOtherwise;
                return Ok(());
            };
            cx.p += 1;
            if self.content_length >> 60 != 0 {
                return Err(self.fail(ErrorKind::InvalidChunkSize, cx.p, "Chunk size overflow"));
            }
            self.content_length = self.content_length << 4 | v;
        }
        Ok(())
    }

    pub(super) fn s_chunk_size_otherwise(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        let c = data[cx.p];
        cx.p += 1;
        match c {
            b' ' | b'\t' if self.lenient(Lenient::SPACES_AFTER_CHUNK_SIZE) => {}
            b'\r' => self.state = State::ChunkSizeCr,
            b'\n' if self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) => {
                self.state = State::ChunkSizeCr
            }
            b'\n' => {
                return Err(self.fail(
                    ErrorKind::CrExpected,
                    cx.p,
                    "Missing expected CR after chunk size",
                ))
            }
            b';' => {
                self.header_bytes = 0;
                self.state = State::ChunkExtensions;
            }
            b' ' | b'\t' => {
                return Err(self.fail(
                    ErrorKind::InvalidChunkSize,
                    cx.p,
                    "Invalid character in chunk size",
                ))
            }
            _ => {
                return Err(self.fail(
                    ErrorKind::InvalidChunkSize,
                    cx.p - 1,
                    "Invalid character in chunk size",
                ))
            }
        }
        Ok(())
    }

    /// After `;`: the next extension's name starts.
    pub(super) fn s_chunk_extensions(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        if matches!(data[cx.p], b' ' | b'\r') {
            return Err(self.fail(
                ErrorKind::Strict,
                cx.p + 1,
                "Invalid character in chunk extensions",
            ));
        }
        self.start_span(Span::ChunkExtName, cx);
        self.state = State::ChunkExtName;
        Ok(())
    }

    pub(super) fn s_chunk_ext_name<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        while cx.p < data.len() && is(data[cx.p], TOKEN) {
            cx.p += 1;
        }
        if cx.p == data.len() {
            return Ok(());
        }
        let p = cx.p;
        let c = data[p];
        self.end_span(h, data, cx, p)?;
        match c {
            b'=' => {
                cx.p += 1;
                self.start_span(Span::ChunkExtValue, cx);
                self.state = State::ChunkExtValue;
            }
            b';' => {
                cx.p += 1;
                self.state = State::ChunkExtensions;
            }
            b'\r' => {
                cx.p += 1;
                self.state = State::ChunkSizeCr;
            }
            b'\n' => self.state = State::ChunkSizeCr,
            _ => {
                return Err(self.fail(
                    ErrorKind::Strict,
                    p + 1,
                    "Invalid character in chunk extensions name",
                ))
            }
        }
        event!(
            self,
            h,
            cx,
            on_chunk_extension_name_complete,
            CbChunkExtensionNameComplete
        );
        if c == b'\n' && !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
            return Err(self.fail(
                ErrorKind::CrExpected,
                p,
                "Missing expected CR after chunk extension name",
            ));
        }
        Ok(())
    }

    pub(super) fn s_chunk_ext_value<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        while cx.p < data.len() && is(data[cx.p], TOKEN) {
            cx.p += 1;
        }
        if cx.p == data.len() {
            return Ok(());
        }
        let p = cx.p;
        let c = data[p];
        if c == b'"' {
            cx.p += 1;
            self.state = State::ChunkExtQuoted;
            return Ok(());
        }
        self.end_span(h, data, cx, p)?;
        match c {
            b';' => {
                cx.p += 1;
                self.state = State::ChunkExtensions;
            }
            b'\r' => {
                cx.p += 1;
                self.state = State::ChunkSizeCr;
            }
            b'\n' => self.state = State::ChunkSizeCr,
            _ => {
                return Err(self.fail(
                    ErrorKind::Strict,
                    p + 1,
                    "Invalid character in chunk extensions value",
                ))
            }
        }
        event!(
            self,
            h,
            cx,
            on_chunk_extension_value_complete,
            CbChunkExtensionValueComplete
        );
        if c == b'\n' && !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
            return Err(self.fail(
                ErrorKind::CrExpected,
                p,
                "Missing expected CR after chunk extension value",
            ));
        }
        Ok(())
    }

    pub(super) fn s_chunk_ext_quoted<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        while cx.p < data.len() && is(data[cx.p], QDTEXT) {
            cx.p += 1;
        }
        if cx.p == data.len() {
            return Ok(());
        }
        match data[cx.p] {
            b'"' => {
                cx.p += 1;
                self.end_span(h, data, cx, cx.p)?;
                self.state = State::ChunkExtQuotedDone;
                event!(
                    self,
                    h,
                    cx,
                    on_chunk_extension_value_complete,
                    CbChunkExtensionValueComplete
                );
            }
            b'\\' => {
                cx.p += 1;
                self.state = State::ChunkExtQuotedPair;
            }
            _ => {
                self.end_span(h, data, cx, cx.p)?;
                return Err(self.fail(
                    ErrorKind::Strict,
                    cx.p + 1,
                    "Invalid character in chunk extensions quoted value",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn s_chunk_ext_quoted_pair<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        if !is(data[cx.p], QUOTED_PAIR) {
            self.end_span(h, data, cx, cx.p)?;
            return Err(self.fail(
                ErrorKind::Strict,
                cx.p + 1,
                "Invalid quoted-pair in chunk extensions quoted value",
            ));
        }
        cx.p += 1;
        self.state = State::ChunkExtQuoted;
        Ok(())
    }

    pub(super) fn s_chunk_ext_quoted_done(&mut self, data: &[u8], cx: &mut Cx) -> Res {
        match data[cx.p] {
            b';' => {
                cx.p += 1;
                self.state = State::ChunkExtensions;
            }
            b'\r' => {
                cx.p += 1;
                self.state = State::ChunkSizeCr;
            }
            b'\n' if self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) => {
                self.state = State::ChunkSizeCr
            }
            b'\n' => {
                return Err(self.fail(
                    ErrorKind::CrExpected,
                    cx.p,
                    "Missing expected CR after chunk extension value",
                ));
            }
            _ => {
                return Err(self.fail(
                    ErrorKind::Strict,
                    cx.p,
                    "Invalid character in chunk extensions quote value",
                ))
            }
        }
        Ok(())
    }

    /// The end of a chunk-size line: report the chunk header.
    pub(super) fn s_chunk_size_cr<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        if data[cx.p] == b'\n' {
            cx.p += 1;
        } else if !self.lenient(Lenient::OPTIONAL_LF_AFTER_CR) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected LF after chunk size"));
        }
        if self.content_length == 0 {
            self.flags |= TRAILING;
            self.header_bytes = 0;
            self.header_count = 0;
            self.state = State::FieldStart;
        } else {
            self.start_span(Span::Body, cx);
            self.state = State::ChunkData;
        }
        event!(self, h, cx, on_chunk_header, CbChunkHeader);
        Ok(())
    }

    pub(super) fn s_chunk_data<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        let avail = (data.len() - cx.p) as u64;
        if avail < self.content_length {
            self.content_length -= avail;
            cx.p = data.len();
            return Ok(());
        }
        cx.p += self.content_length as usize;
        self.content_length = 0;
        self.end_span(h, data, cx, cx.p)?;
        self.aux = 0;
        self.state = State::ChunkDataEnd;
        Ok(())
    }

    /// CRLF after chunk data.
    pub(super) fn s_chunk_data_end<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &mut Cx,
    ) -> Res {
        let c = data[cx.p];
        if self.aux == 0 && c == b'\r' {
            cx.p += 1;
            self.aux = 1;
            return Ok(());
        }
        if c == b'\n' {
            cx.p += 1;
            if self.aux == 0 && !self.lenient(Lenient::OPTIONAL_CR_BEFORE_LF) {
                return Err(self.fail(
                    ErrorKind::CrExpected,
                    cx.p,
                    "Missing expected CR after chunk data",
                ));
            }
        } else if !self.lenient(Lenient::OPTIONAL_CRLF_AFTER_CHUNK) {
            return Err(self.fail(ErrorKind::Strict, cx.p, "Expected LF after chunk data"));
        }
        self.state = State::ChunkSizeStart;
        event!(self, h, cx, on_chunk_complete, CbChunkComplete);
        Ok(())
    }
}
