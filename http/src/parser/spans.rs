//! Spans: opening and closing them, reporting pieces to the handler, and the
//! size limits, which are computed from byte positions so that the result
//! never depends on how the input was split.

use super::core::{Cx, Parser, Res};
use super::error::{ErrorKind, ParseError};
use super::handler::Handler;
use super::state::Span;

impl Parser {
    #[inline(always)]
    pub(super) fn start_span(&mut self, span: Span, cx: &mut Cx) {
        self.span = span;
        cx.mark = cx.p;
    }

    /// End the open span at `at` and report it (even when empty, as llhttp does).
    #[inline(always)]
    pub(super) fn end_span<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &Cx,
        at: usize,
    ) -> Res {
        let span = self.span;
        self.span = Span::None;
        self.emit(h, span, &data[cx.mark..at], cx.mark)
    }

    /// `end_span` for a span the caller knows is open, named at compile
    /// time so that `emit` needs no dispatch on it.
    #[inline(always)]
    pub(super) fn end_span_as<H: Handler>(
        &mut self,
        h: &mut H,
        data: &[u8],
        cx: &Cx,
        at: usize,
        span: Span,
    ) -> Res {
        debug_assert_eq!(self.span, span);
        self.span = Span::None;
        self.emit(h, span, &data[cx.mark..at], cx.mark)
    }

    /// Report the open span's bytes so far (the input ends inside it).
    #[inline(always)]
    pub(super) fn flush_span<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &Cx) -> Res {
        if self.span != Span::None && cx.p > cx.mark {
            return self.flush_open_span(h, data, cx);
        }
        Ok(())
    }

    /// `flush_span`'s reporting, out of line: most inputs end between spans.
    #[inline(never)]
    fn flush_open_span<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &Cx) -> Res {
        let span = self.span;
        self.emit(h, span, &data[cx.mark..cx.p], cx.mark)
    }

    /// Report a span piece `s` that starts at offset `start`, enforcing the
    /// size limits first so an over-long piece is never delivered.
    #[inline(always)]
    fn emit<H: Handler>(&mut self, h: &mut H, span: Span, s: &[u8], start: usize) -> Res {
        let (len, st) = (s.len(), &self.limits);
        let header_over = self.header_bytes as usize + len > st.header_bytes as usize;
        let over = match span {
            Span::Url => header_over || self.url_len as usize + len > st.url as usize,
            Span::Status | Span::HeaderField | Span::HeaderValue => header_over,
            Span::ChunkExtName | Span::ChunkExtValue => {
                self.header_bytes as usize + len > st.chunk_extensions as usize
            }
            _ => false,
        };
        if over {
            if let Some(e) = self.limit_error(span, start, len) {
                return Err(self.fail(e.kind, e.offset, e.reason));
            }
        }
        let n = len as u32;
        match span {
            Span::None => {}
            Span::Method => h.on_method(s),
            Span::Url => {
                h.on_url(s);
                self.url_len += n;
                self.header_bytes += n;
            }
            Span::Protocol => h.on_protocol(s),
            Span::Version => h.on_version(s),
            Span::Status => {
                h.on_status(s);
                self.header_bytes += n;
            }
            Span::HeaderField => {
                h.on_header_field(s);
                self.header_bytes += n;
            }
            Span::HeaderValue => {
                h.on_header_value(s);
                self.header_bytes += n;
            }
            Span::Body => h.on_body(s),
            Span::ChunkExtName => {
                h.on_chunk_extension_name(s);
                self.header_bytes += n;
            }
            Span::ChunkExtValue => {
                h.on_chunk_extension_value(s);
                self.header_bytes += n;
            }
        }
        Ok(())
    }

    /// If `len` more bytes of `span` from offset `start` exceed a limit, the
    /// error at the first byte over it. Computed from byte positions, so the
    /// answer does not depend on how the input was split.
    #[cold]
    #[inline(never)]
    pub(super) fn limit_error(&self, span: Span, start: usize, len: usize) -> Option<ParseError> {
        let over = |before: u32, max: usize, kind, reason| {
            let before = before as usize;
            (before + len > max)
                .then(|| ParseError::new(kind, start + max.saturating_sub(before), reason))
        };
        let s = &self.limits;
        let header = |max| {
            over(
                self.header_bytes,
                max,
                ErrorKind::HeaderOverflow,
                "Header overflow",
            )
        };
        match span {
            Span::Url => {
                let url = over(
                    self.url_len,
                    s.url as usize,
                    ErrorKind::UrlTooLong,
                    "URL too long",
                );
                match (url, header(s.header_bytes as usize)) {
                    (Some(a), Some(b)) => Some(if b.offset < a.offset { b } else { a }),
                    (a, b) => a.or(b),
                }
            }
            Span::Status | Span::HeaderField | Span::HeaderValue => header(s.header_bytes as usize),
            Span::ChunkExtName | Span::ChunkExtValue => over(
                self.header_bytes,
                s.chunk_extensions as usize,
                ErrorKind::ChunkExtensionsTooLarge,
                "Chunk extensions too large",
            ),
            _ => None,
        }
    }
}
