//! The `Handler` trait: how the parser reports spans and events to its user.
//!
//! Span callbacks (`on_url`, `on_header_value`, `on_body`, ...) receive slices of
//! the caller's input, never copies; a span split across `execute` calls arrives
//! in several pieces, and the matching `*_complete` event marks its end. Event
//! callbacks receive the parser, so a handler can read the method, status, flags
//! and `position()` (the event's offset in the current input slice).
//!
//! One exception to "slices of the input": with `Kind::Either`, when an input
//! ends right after a message's first byte `H`, that byte is reported once the
//! kind is known, as a one-byte `'static` slice.

use super::Parser;

/// What an event callback asks the parser to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Keep parsing.
    #[default]
    Continue,
    /// Stop after this event; `execute` returns the bytes consumed so far and
    /// the parser stays paused until `Parser::resume`.
    Pause,
    /// Fail the parse with the callback's `HPE_CB_*` error kind.
    Error,
}

/// The answer to `on_headers_complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeadersAction {
    /// Parse the body as the headers describe it.
    #[default]
    Proceed,
    /// The message has no body (e.g. a response to HEAD).
    SkipBody,
    /// The rest of the connection is another protocol: end the message now and
    /// stop, as for an accepted `Upgrade`.
    Upgrade,
    /// Pause before the body; `resume` continues as `Proceed`.
    Pause,
    /// Fail with `ErrorKind::CbHeadersComplete`.
    Error,
}

/// Receives a message's pieces. Every method has a no-op default.
#[allow(unused_variables)]
pub trait Handler {
    /// A new message starts (after any CR/LF between messages).
    fn on_message_begin(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// A message after the first one starts; called just before `on_message_begin`.
    fn on_reset(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of the method name of a request.
    fn on_method(&mut self, data: &[u8]) {}
    /// The method name ended.
    fn on_method_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of the request-target.
    fn on_url(&mut self, data: &[u8]) {}
    /// The request-target ended.
    fn on_url_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// `HTTP` (or `RTSP`/`ICE`) in the start line.
    fn on_protocol(&mut self, data: &[u8]) {}
    /// The protocol name ended.
    fn on_protocol_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// `1.1` in the start line.
    fn on_version(&mut self, data: &[u8]) {}
    /// The version ended; `parser` knows it.
    fn on_version_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// The reason phrase of a response.
    fn on_status(&mut self, data: &[u8]) {}
    /// The reason phrase ended.
    fn on_status_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of a header name.
    fn on_header_field(&mut self, data: &[u8]) {}
    /// A header name ended.
    fn on_header_field_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of a header value: leading whitespace is skipped, trailing
    /// whitespace is reported (trim it when the value completes).
    fn on_header_value(&mut self, data: &[u8]) {}
    /// A header value ended.
    fn on_header_value_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// All headers are in; `parser` knows the method/status, version, flags,
    /// content length, keep-alive and upgrade.
    fn on_headers_complete(&mut self, parser: &Parser) -> HeadersAction {
        HeadersAction::Proceed
    }
    /// Body bytes, with chunked framing removed.
    fn on_body(&mut self, data: &[u8]) {}
    /// A chunk size line ended; `parser.content_length()` is the chunk size
    /// (0 for the last chunk, after which trailers follow).
    fn on_chunk_header(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of a chunk extension name.
    fn on_chunk_extension_name(&mut self, data: &[u8]) {}
    /// A chunk extension name ended.
    fn on_chunk_extension_name_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// Part of a chunk extension value.
    fn on_chunk_extension_value(&mut self, data: &[u8]) {}
    /// A chunk extension value ended.
    fn on_chunk_extension_value_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// A chunk's data (or the trailer section after the last chunk) ended.
    fn on_chunk_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
    /// The message ended. `parser.should_keep_alive()` says whether another may follow.
    fn on_message_complete(&mut self, parser: &Parser) -> Action {
        Action::Continue
    }
}
