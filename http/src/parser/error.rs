//! Parse errors: an llhttp-style error kind, the offset where it happened and a reason.

use thiserror::Error;

/// What went wrong. Mirrors llhttp's `HPE_*` codes, plus eddy's own limit kinds
/// (`HeaderOverflow`, `TooManyHeaders`, `UrlTooLong`, `ChunkExtensionsTooLarge`)
/// which a server maps to 431, 431, 414 and 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// llhttp's `HPE_INTERNAL`.
    Internal,
    /// llhttp's `HPE_STRICT`.
    Strict,
    /// llhttp's `HPE_CR_EXPECTED`.
    CrExpected,
    /// llhttp's `HPE_LF_EXPECTED`.
    LfExpected,
    /// llhttp's `HPE_UNEXPECTED_CONTENT_LENGTH`.
    UnexpectedContentLength,
    /// llhttp's `HPE_UNEXPECTED_SPACE`.
    UnexpectedSpace,
    /// llhttp's `HPE_CLOSED_CONNECTION`.
    ClosedConnection,
    /// llhttp's `HPE_INVALID_METHOD`.
    InvalidMethod,
    /// llhttp's `HPE_INVALID_URL`.
    InvalidUrl,
    /// llhttp's `HPE_INVALID_CONSTANT`.
    InvalidConstant,
    /// llhttp's `HPE_INVALID_VERSION`.
    InvalidVersion,
    /// llhttp's `HPE_INVALID_HEADER_TOKEN`.
    InvalidHeaderToken,
    /// llhttp's `HPE_INVALID_CONTENT_LENGTH`.
    InvalidContentLength,
    /// llhttp's `HPE_INVALID_CHUNK_SIZE`.
    InvalidChunkSize,
    /// llhttp's `HPE_INVALID_STATUS`.
    InvalidStatus,
    /// llhttp's `HPE_INVALID_EOF_STATE`.
    InvalidEofState,
    /// llhttp's `HPE_INVALID_TRANSFER_ENCODING`.
    InvalidTransferEncoding,
    /// llhttp's `HPE_CB_MESSAGE_BEGIN`.
    CbMessageBegin,
    /// llhttp's `HPE_CB_HEADERS_COMPLETE`.
    CbHeadersComplete,
    /// llhttp's `HPE_CB_MESSAGE_COMPLETE`.
    CbMessageComplete,
    /// llhttp's `HPE_CB_CHUNK_HEADER`.
    CbChunkHeader,
    /// llhttp's `HPE_CB_CHUNK_COMPLETE`.
    CbChunkComplete,
    /// llhttp's `HPE_USER`.
    User,
    /// llhttp's `HPE_CB_URL_COMPLETE`.
    CbUrlComplete,
    /// llhttp's `HPE_CB_STATUS_COMPLETE`.
    CbStatusComplete,
    /// llhttp's `HPE_CB_METHOD_COMPLETE`.
    CbMethodComplete,
    /// llhttp's `HPE_CB_VERSION_COMPLETE`.
    CbVersionComplete,
    /// llhttp's `HPE_CB_PROTOCOL_COMPLETE`.
    CbProtocolComplete,
    /// llhttp's `HPE_CB_HEADER_FIELD_COMPLETE`.
    CbHeaderFieldComplete,
    /// llhttp's `HPE_CB_HEADER_VALUE_COMPLETE`.
    CbHeaderValueComplete,
    /// llhttp's `HPE_CB_CHUNK_EXTENSION_NAME_COMPLETE`.
    CbChunkExtensionNameComplete,
    /// llhttp's `HPE_CB_CHUNK_EXTENSION_VALUE_COMPLETE`.
    CbChunkExtensionValueComplete,
    /// llhttp's `HPE_CB_RESET`.
    CbReset,
    /// Start line plus header bytes exceed `Settings::max_header_bytes` (431).
    HeaderOverflow,
    /// More header lines than `Settings::max_headers` (431).
    TooManyHeaders,
    /// The request-target is longer than `Settings::max_url_len` (414).
    UrlTooLong,
    /// Chunk extensions exceed `Settings::max_chunk_extension_bytes` (413).
    ChunkExtensionsTooLarge,
}

impl ErrorKind {
    /// llhttp's name for this error (`HPE_INVALID_METHOD`, ...). The limit kinds,
    /// which llhttp lacks, use Node's `HPE_HEADER_OVERFLOW` or an eddy-specific name.
    pub fn llhttp_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Internal => "HPE_INTERNAL",
            Strict => "HPE_STRICT",
            CrExpected => "HPE_CR_EXPECTED",
            LfExpected => "HPE_LF_EXPECTED",
            UnexpectedContentLength => "HPE_UNEXPECTED_CONTENT_LENGTH",
            UnexpectedSpace => "HPE_UNEXPECTED_SPACE",
            ClosedConnection => "HPE_CLOSED_CONNECTION",
            InvalidMethod => "HPE_INVALID_METHOD",
            InvalidUrl => "HPE_INVALID_URL",
            InvalidConstant => "HPE_INVALID_CONSTANT",
            InvalidVersion => "HPE_INVALID_VERSION",
            InvalidHeaderToken => "HPE_INVALID_HEADER_TOKEN",
            InvalidContentLength => "HPE_INVALID_CONTENT_LENGTH",
            InvalidChunkSize => "HPE_INVALID_CHUNK_SIZE",
            InvalidStatus => "HPE_INVALID_STATUS",
            InvalidEofState => "HPE_INVALID_EOF_STATE",
            InvalidTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING",
            CbMessageBegin => "HPE_CB_MESSAGE_BEGIN",
            CbHeadersComplete => "HPE_CB_HEADERS_COMPLETE",
            CbMessageComplete => "HPE_CB_MESSAGE_COMPLETE",
            CbChunkHeader => "HPE_CB_CHUNK_HEADER",
            CbChunkComplete => "HPE_CB_CHUNK_COMPLETE",
            User => "HPE_USER",
            CbUrlComplete => "HPE_CB_URL_COMPLETE",
            CbStatusComplete => "HPE_CB_STATUS_COMPLETE",
            CbMethodComplete => "HPE_CB_METHOD_COMPLETE",
            CbVersionComplete => "HPE_CB_VERSION_COMPLETE",
            CbProtocolComplete => "HPE_CB_PROTOCOL_COMPLETE",
            CbHeaderFieldComplete => "HPE_CB_HEADER_FIELD_COMPLETE",
            CbHeaderValueComplete => "HPE_CB_HEADER_VALUE_COMPLETE",
            CbChunkExtensionNameComplete => "HPE_CB_CHUNK_EXTENSION_NAME_COMPLETE",
            CbChunkExtensionValueComplete => "HPE_CB_CHUNK_EXTENSION_VALUE_COMPLETE",
            CbReset => "HPE_CB_RESET",
            HeaderOverflow => "HPE_HEADER_OVERFLOW",
            TooManyHeaders => "HPE_TOO_MANY_HEADERS",
            UrlTooLong => "HPE_URL_TOO_LONG",
            ChunkExtensionsTooLarge => "HPE_CHUNK_EXTENSIONS_TOO_LARGE",
        }
    }

    /// llhttp's numeric `llhttp_errno_t` value, where llhttp has one.
    pub fn llhttp_code(self) -> Option<u32> {
        use ErrorKind::*;
        Some(match self {
            Internal => 1,
            Strict => 2,
            LfExpected => 3,
            UnexpectedContentLength => 4,
            ClosedConnection => 5,
            InvalidMethod => 6,
            InvalidUrl => 7,
            InvalidConstant => 8,
            InvalidVersion => 9,
            InvalidHeaderToken => 10,
            InvalidContentLength => 11,
            InvalidChunkSize => 12,
            InvalidStatus => 13,
            InvalidEofState => 14,
            InvalidTransferEncoding => 15,
            CbMessageBegin => 16,
            CbHeadersComplete => 17,
            CbMessageComplete => 18,
            CbChunkHeader => 19,
            CbChunkComplete => 20,
            User => 24,
            CrExpected => 25,
            CbUrlComplete => 26,
            CbStatusComplete => 27,
            CbHeaderFieldComplete => 28,
            CbHeaderValueComplete => 29,
            UnexpectedSpace => 30,
            CbReset => 31,
            CbMethodComplete => 32,
            CbVersionComplete => 33,
            CbChunkExtensionNameComplete => 34,
            CbChunkExtensionValueComplete => 35,
            CbProtocolComplete => 38,
            HeaderOverflow | TooManyHeaders | UrlTooLong | ChunkExtensionsTooLarge => return None,
        })
    }

    /// The HTTP status a server should answer with when a request fails this way.
    pub fn status_code(self) -> u16 {
        match self {
            ErrorKind::HeaderOverflow | ErrorKind::TooManyHeaders => 431,
            ErrorKind::UrlTooLong => 414,
            ErrorKind::ChunkExtensionsTooLarge => 413,
            _ => 400,
        }
    }
}

/// A parse failure. `offset` is relative to the slice passed to the
/// `execute` call that failed. Errors are sticky: every later `execute`
/// returns the same error until `Parser::reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{} at offset {offset}: {reason}", kind.llhttp_name())]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where, relative to the slice passed to `execute`.
    pub offset: usize,
    /// A human-readable reason, llhttp's wording where llhttp has one.
    pub reason: &'static str,
}

impl ParseError {
    pub(crate) const fn new(kind: ErrorKind, offset: usize, reason: &'static str) -> Self {
        ParseError {
            kind,
            offset,
            reason,
        }
    }
}
