//! The parser's internal state enums: where it is, which span is open, and
//! what it is tracking inside a header value or a request-target.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Start,
    MessageBegin,
    StartLine,
    EitherStart,
    EitherH,
    ReqMethod,
    ReqFirstSpace,
    ReqSpacesBeforeUrl,
    Url,
    UrlCr,
    ReqProtoStart,
    ReqProto,
    ResProto,
    ProtoCheck,
    AfterProto,
    VerMajor,
    VerDot,
    VerMinor,
    ReqLineEnd,
    ReqLineCr,
    ReqPri,
    ResAfterVersion,
    ResStatusDigit,
    ResStatusOtherwise,
    ResStatus,
    ResLineCr,
    HeadersStart,
    FieldStart,
    Field,
    FieldColonWs,
    FieldCheck,
    ValueDiscardWs,
    ValueDiscardWsCr,
    ValueDiscardLws,
    Value,
    ValueCr,
    ValueLws,
    HeadersCr,
    HeadersDone,
    MessageDone,
    AfterMessageComplete,
    Cleanup,
    Closed,
    BodyIdentity,
    BodyEof,
    ChunkSizeStart,
    ChunkSize,
    ChunkSizeOtherwise,
    ChunkExtensions,
    ChunkExtName,
    ChunkExtValue,
    ChunkExtQuoted,
    ChunkExtQuotedPair,
    ChunkExtQuotedDone,
    ChunkSizeCr,
    ChunkData,
    ChunkDataEnd,
    Dead,
}

impl State {
    /// States that act without reading a byte (they fire an event or decide).
    #[inline(always)]
    pub(super) fn is_immediate(self) -> bool {
        matches!(
            self,
            State::MessageBegin
                | State::StartLine
                | State::ProtoCheck
                | State::FieldCheck
                | State::HeadersDone
                | State::MessageDone
                | State::AfterMessageComplete
                | State::Cleanup
        )
    }
}

/// The span currently open, reported through the matching `Handler::on_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Span {
    None,
    Method,
    Url,
    Protocol,
    Version,
    Status,
    HeaderField,
    HeaderValue,
    Body,
    ChunkExtName,
    ChunkExtValue,
}

/// Which special header the current line is, and what its value said so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeaderState {
    General,
    Connection,
    ContentLength,
    TransferEncoding,
    Upgrade,
    ConnectionKeepAlive,
    ConnectionClose,
    ConnectionUpgrade,
    TransferEncodingChunked,
}

/// Sub-state while scanning a header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueState {
    General,
    Lenient,
    ContentLength,
    ContentLengthWs,
    /// Matching `chunked` (index in `aux`).
    TeChunked,
    TeChunkedLast,
    /// `;params` after `chunked`.
    TeChunkedParams,
    TeToken,
    TeTokenOws,
    Connection,
    ConnectionMatch,
    ConnectionWs,
    ConnectionToken,
}

/// Sub-state while scanning a request-target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UrlState {
    Start,
    Schema,
    SchemaSlash1,
    SchemaSlash2,
    Server,
    ServerWithAt,
    Path,
    Query,
    Fragment,
}
