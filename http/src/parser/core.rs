//! The `Parser` struct: its state, the `execute` driver loop, spans and accessors.
//!
//! `execute` walks the input once. Each state consumes bytes (hot states scan
//! whole runs with the lookup tables) or, for the few "immediate" states, only
//! fires an event. Spans are tracked as a start offset into the current input and
//! reported when they end, or at the end of the input if still open.

use super::error::{ErrorKind, ParseError};
use super::handler::{Action, Handler};
use super::method::NameMatch;
use super::settings::{Lenient, Limits, Settings};
use super::simd::Level;
use super::state::{HeaderState, Span, State, UrlState, ValueState};

/// Which messages a parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The parser reads requests (a server).
    Request,
    /// The parser reads responses (a client).
    Response,
    /// Decide from the first message (like llhttp's `HTTP_BOTH`), then keep it.
    Either,
}

/// Why the parser is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseReason {
    /// A callback returned `Action::Pause` (or `Parser::pause` was called).
    User,
    /// CONNECT or an accepted `Upgrade`: the bytes from the returned offset on
    /// belong to the new protocol (llhttp's `HPE_PAUSED_UPGRADE`).
    Upgrade,
    /// `PRI * HTTP/2.0` preface (llhttp's `HPE_PAUSED_H2_UPGRADE`).
    H2Upgrade,
}

/// Whether EOF now would be clean (llhttp's `finish` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishState {
    /// Between messages.
    Safe = 0,
    /// In a body delimited by EOF: `finish` completes the message.
    SafeWithCallback = 1,
    /// Mid-message: `finish` is an error.
    Unsafe = 2,
}

/// Why a state stopped early. Small on purpose (returned in a register on
/// every step): an error's details wait in the parser until `execute` reads them.
pub(super) enum Stop {
    Pause,
    Error,
}

pub(super) type Res = Result<(), Stop>;

/// Position and span start within the current input slice.
pub(super) struct Cx {
    pub p: usize,
    pub mark: usize,
}

/// The incremental HTTP/1.x parser. See the module docs.
#[derive(Debug, Clone)]
pub struct Parser {
    pub(super) lenient: Lenient,
    pub(super) limits: Limits,
    /// The byte scanner, resolved from `Settings::scan` for this CPU.
    pub(super) scan: Level,
    pub(super) kind: Kind,
    pub(super) state: State,
    pub(super) span: Span,
    pub(super) header_state: HeaderState,
    pub(super) value_state: ValueState,
    pub(super) url_state: UrlState,
    pub(super) finish: FinishState,
    pub(super) paused: Option<PauseReason>,
    /// The sticky error's kind and reason.
    pub(super) error: Option<(ErrorKind, &'static str)>,
    pub(super) upgrade: bool,
    /// The message was accepted but is ambiguous enough (RFC 9112 section 6.1,
    /// look-alike framing headers) that the connection must close after it.
    pub(super) force_close: bool,
    /// A GET or HEAD request with a body: the connection closes after it
    /// unless its reader reads the body to its end
    /// ([`Parser::keep_alive_if_body_read`]).
    pub(super) bodiless_body: bool,
    /// Look-alike matcher for `content-length`/`transfer-encoding` with `_` or
    /// repeated `-`: live candidates (bits 0-1), previous byte was a dash (bit 7).
    pub(super) alt_alive: u8,
    pub(super) alt_len: u8,
    pub(super) initial_message_completed: bool,
    pub(super) method: u8,
    pub(super) major: u8,
    pub(super) minor: u8,
    /// Small per-state counter (status digits, sequence index, protocol index).
    pub(super) aux: u8,
    pub(super) flags: u16,
    pub(super) status: u16,
    pub(super) matcher: NameMatch,
    pub(super) content_length: u64,
    /// Bytes counted against `max_header_bytes`, `max_url_len` and
    /// `max_chunk_extension_bytes` (whichever applies to the current section).
    pub(super) header_bytes: u32,
    pub(super) url_len: u32,
    pub(super) header_count: u32,
    pub(super) position: usize,
}

const NO_METHOD: u8 = u8::MAX;

impl Parser {
    /// A strict parser with default limits.
    pub fn new(kind: Kind) -> Parser {
        Parser::with_settings(kind, Settings::default())
    }

    /// A fresh parser; `reset` and the constructors start from it.
    const INITIAL: Parser = Parser {
        lenient: Lenient::NONE,
        limits: Limits::DEFAULT,
        scan: Level::SWAR,
        kind: Kind::Request,
        state: State::Start,
        span: Span::None,
        header_state: HeaderState::General,
        value_state: ValueState::General,
        url_state: UrlState::Start,
        finish: FinishState::Safe,
        paused: None,
        error: None,
        upgrade: false,
        force_close: false,
        bodiless_body: false,
        alt_alive: 0,
        alt_len: 0,
        initial_message_completed: false,
        method: NO_METHOD,
        major: 0,
        minor: 0,
        aux: 0,
        flags: 0,
        status: 0,
        matcher: NameMatch { alive: 0, len: 0 },
        content_length: 0,
        header_bytes: 0,
        url_len: 0,
        header_count: 0,
        position: 0,
    };

    /// A parser of `kind` with the given lenient flags and limits.
    pub fn with_settings(kind: Kind, settings: Settings) -> Parser {
        Parser {
            lenient: settings.lenient,
            limits: Limits::from(&settings),
            scan: Level::resolve(settings.scan),
            kind,
            ..Parser::INITIAL
        }
    }

    /// Back to the initial state, keeping the kind (as resolved by `Either`)
    /// and the settings, like `llhttp_reset`;
    /// clears errors and pauses.
    pub fn reset(&mut self) {
        *self = Parser {
            lenient: self.lenient,
            limits: self.limits,
            scan: self.scan,
            kind: self.kind,
            ..Parser::INITIAL
        };
    }

    /// Parse `data`, reporting to `handler`. Returns the bytes consumed: all of
    /// them, or fewer when paused (see `pause_reason`), including on upgrade,
    /// where the rest belongs to the new protocol. Errors are sticky.
    pub fn execute<H: Handler>(
        &mut self,
        handler: &mut H,
        data: &[u8],
    ) -> Result<usize, ParseError> {
        if let Some((kind, reason)) = self.error {
            return Err(ParseError::new(kind, 0, reason));
        }
        if self.paused.is_some() {
            return Ok(0);
        }
        let mut cx = Cx { p: 0, mark: 0 };
        match self.run(handler, data, &mut cx) {
            Ok(()) => {
                if let Err(Stop::Error) = self.flush_span(handler, data, &cx) {
                    let e = self.pending_error();
                    return Err(self.set_error(e));
                }
                Ok(data.len())
            }
            Err(Stop::Pause) => {
                if self.paused.is_none() {
                    self.paused = Some(PauseReason::User);
                }
                if let Err(Stop::Error) = self.flush_span(handler, data, &cx) {
                    let e = self.pending_error();
                    return Err(self.set_error(e));
                }
                Ok(cx.p)
            }
            Err(Stop::Error) => {
                let e = self.pending_error();
                // A limit crossed earlier in the still-open span wins, wherever
                // the input happened to be split.
                let end = e.offset.min(data.len()).max(cx.mark);
                let e = match self.limit_error(self.span, cx.mark, end - cx.mark) {
                    Some(limit) if limit.offset < e.offset => limit,
                    _ => e,
                };
                Err(self.set_error(e))
            }
        }
    }

    /// Record an error (kind, reason, and its offset in `position`) for
    /// `execute` to return.
    #[inline(never)]
    #[cold]
    pub(super) fn fail(&mut self, kind: ErrorKind, at: usize, reason: &'static str) -> Stop {
        self.error = Some((kind, reason));
        self.position = at;
        Stop::Error
    }

    fn pending_error(&self) -> ParseError {
        let (kind, reason) = self
            .error
            .unwrap_or((ErrorKind::Internal, "no error recorded"));
        ParseError::new(kind, self.position, reason)
    }

    fn set_error(&mut self, e: ParseError) -> ParseError {
        self.error = Some((e.kind, e.reason));
        self.state = State::Dead;
        e
    }

    /// Tell the parser the peer closed the connection. Completes a body read
    /// until EOF; an error if EOF came mid-message.
    pub fn finish<H: Handler>(&mut self, handler: &mut H) -> Result<(), ParseError> {
        if let Some((kind, reason)) = self.error {
            return Err(ParseError::new(kind, 0, reason));
        }
        match self.finish {
            FinishState::Safe => Ok(()),
            FinishState::SafeWithCallback => {
                self.finish = FinishState::Safe;
                self.span = Span::None;
                self.position = 0;
                match handler.on_message_complete(self) {
                    Action::Error => Err(self.set_error(ParseError::new(
                        ErrorKind::CbMessageComplete,
                        0,
                        "`on_message_complete` callback error",
                    ))),
                    _ => Ok(()),
                }
            }
            FinishState::Unsafe => Err(self.set_error(ParseError::new(
                ErrorKind::InvalidEofState,
                0,
                "Invalid EOF state",
            ))),
        }
    }

    /// Report an event: store its position, run the callback, map its answer.
    #[inline(always)]
    pub(super) fn after_cb(
        &mut self,
        a: Action,
        at: usize,
        kind: ErrorKind,
        reason: &'static str,
    ) -> Res {
        match a {
            Action::Continue => Ok(()),
            Action::Pause => Err(Stop::Pause),
            Action::Error => Err(self.fail(kind, at, reason)),
        }
    }

    /// Clear per-message state when a new message begins.
    pub(super) fn begin_message(&mut self) {
        self.flags = 0;
        self.content_length = 0;
        self.upgrade = false;
        self.force_close = false;
        self.bodiless_body = false;
        self.status = 0;
        self.major = 0;
        self.minor = 0;
        self.method = NO_METHOD;
        self.header_state = HeaderState::General;
        self.header_bytes = 0;
        self.url_len = 0;
        self.header_count = 0;
    }

    fn run<H: Handler>(&mut self, h: &mut H, data: &[u8], cx: &mut Cx) -> Res {
        loop {
            if cx.p >= data.len() && !self.state.is_immediate() {
                return Ok(());
            }
            match self.state {
                State::Start => self.s_start(h, data, cx)?,
                State::MessageBegin => self.s_message_begin(h, cx)?,
                State::StartLine => self.s_start_line(h, data, cx)?,
                State::EitherStart => self.s_either_start(h, data, cx)?,
                State::EitherH => self.s_either_h(h, data, cx)?,
                State::ReqMethod => self.s_req_method(h, data, cx)?,
                State::ReqFirstSpace => self.s_req_first_space(data, cx)?,
                State::ReqSpacesBeforeUrl => self.s_req_spaces_before_url(data, cx),
                State::Url => self.s_url(h, data, cx)?,
                State::UrlCr => self.s_url_cr(h, data, cx)?,
                State::ReqProtoStart => self.s_req_proto_start(h, data, cx)?,
                State::ReqProto | State::ResProto => self.s_proto(h, data, cx)?,
                State::ProtoCheck => self.s_proto_check(cx)?,
                State::AfterProto => self.s_after_proto(data, cx)?,
                State::VerMajor => self.s_ver_major(h, data, cx)?,
                State::VerDot => self.s_ver_dot(h, data, cx)?,
                State::VerMinor => self.s_ver_minor(h, data, cx)?,
                State::ReqLineEnd => self.s_req_line_end(data, cx)?,
                State::ReqLineCr => self.s_req_line_cr(data, cx)?,
                State::ReqPri => self.s_req_pri(data, cx)?,
                State::ResAfterVersion => self.s_res_after_version(data, cx)?,
                State::ResStatusDigit => self.s_res_status_digit(data, cx)?,
                State::ResStatusOtherwise => self.s_res_status_otherwise(h, data, cx)?,
                State::ResStatus => self.s_res_status(h, data, cx)?,
                State::ResLineCr => self.s_res_line_cr(h, data, cx)?,
                State::HeadersStart => self.s_headers_start(data, cx)?,
                State::FieldStart => self.s_field_start(h, data, cx)?,
                State::Field => self.s_field(h, data, cx)?,
                State::FieldColonWs => self.s_field_colon_ws(h, data, cx)?,
                State::FieldCheck => self.s_field_check(cx)?,
                State::ValueDiscardWs => self.s_value_discard_ws(h, data, cx)?,
                State::ValueDiscardWsCr => self.s_value_discard_ws_cr(data, cx)?,
                State::ValueDiscardLws => self.s_value_discard_lws(h, data, cx)?,
                State::Value => self.s_value(h, data, cx)?,
                State::ValueCr => self.s_value_cr(data, cx)?,
                State::ValueLws => self.s_value_lws(h, data, cx)?,
                State::HeadersCr => self.s_headers_cr(h, data, cx)?,
                State::HeadersDone => self.s_headers_done(cx)?,
                State::MessageDone => self.s_message_done(h, cx)?,
                State::AfterMessageComplete => self.s_after_message_complete(cx)?,
                State::Cleanup => self.s_cleanup(),
                State::Closed => self.s_closed(data, cx)?,
                State::BodyIdentity => self.s_body_identity(h, data, cx)?,
                State::BodyEof => cx.p = data.len(),
                State::ChunkSizeStart => self.s_chunk_size_start(data, cx)?,
                State::ChunkSize => self.s_chunk_size(data, cx)?,
                State::ChunkSizeOtherwise => self.s_chunk_size_otherwise(data, cx)?,
                State::ChunkExtensions => self.s_chunk_extensions(data, cx)?,
                State::ChunkExtName => self.s_chunk_ext_name(h, data, cx)?,
                State::ChunkExtValue => self.s_chunk_ext_value(h, data, cx)?,
                State::ChunkExtQuoted => self.s_chunk_ext_quoted(h, data, cx)?,
                State::ChunkExtQuotedPair => self.s_chunk_ext_quoted_pair(h, data, cx)?,
                State::ChunkExtQuotedDone => self.s_chunk_ext_quoted_done(data, cx)?,
                State::ChunkSizeCr => self.s_chunk_size_cr(h, data, cx)?,
                State::ChunkData => self.s_chunk_data(h, data, cx)?,
                State::ChunkDataEnd => self.s_chunk_data_end(h, data, cx)?,
                State::Dead => {
                    return Err(self.fail(
                        ErrorKind::Internal,
                        cx.p,
                        "Parser is not parsing HTTP any more",
                    ));
                }
            }
        }
    }
}

/// Calls an event callback at the current position and maps its `Action`.
macro_rules! event {
    ($self:ident, $h:ident, $cx:ident, $cb:ident, $kind:ident) => {{
        $self.position = $cx.p;
        let a = $h.$cb($self);
        $self.after_cb(
            a,
            $cx.p,
            $crate::parser::error::ErrorKind::$kind,
            concat!("`", stringify!($cb), "` callback error"),
        )?;
    }};
}
pub(super) use event;
