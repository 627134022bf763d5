//! Parser settings: the opt-in lenient flags and the size limits.

/// Opt-in leniencies, matching llhttp's `LENIENT_*` set. Strict is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Lenient(pub u16);

impl Lenient {
    /// No leniency: llhttp's strict mode (the default).
    pub const NONE: Lenient = Lenient(0);
    /// Accept any byte in header values, obs-fold, and whitespace before the colon.
    pub const HEADERS: Lenient = Lenient(1 << 0);
    /// Accept `Content-Length` together with `Transfer-Encoding`.
    pub const CHUNKED_LENGTH: Lenient = Lenient(1 << 1);
    /// Keep parsing after a message that should close the connection.
    pub const KEEP_ALIVE: Lenient = Lenient(1 << 2);
    /// Accept a request whose last transfer coding is not `chunked`; also read
    /// `chunked` followed by a tab or by `;parameters` as `chunked` (strict
    /// mode, like llhttp, takes those for another coding).
    pub const TRANSFER_ENCODING: Lenient = Lenient(1 << 3);
    /// Accept any `major.minor` HTTP version.
    pub const VERSION: Lenient = Lenient(1 << 4);
    /// Ignore bytes after a message that closes the connection.
    pub const DATA_AFTER_CLOSE: Lenient = Lenient(1 << 5);
    /// Accept a CR not followed by LF as a line end.
    pub const OPTIONAL_LF_AFTER_CR: Lenient = Lenient(1 << 6);
    /// Accept chunk data not followed by CRLF.
    pub const OPTIONAL_CRLF_AFTER_CHUNK: Lenient = Lenient(1 << 7);
    /// Accept a bare LF as a line end.
    pub const OPTIONAL_CR_BEFORE_LF: Lenient = Lenient(1 << 8);
    /// Accept spaces and tabs after a chunk size.
    pub const SPACES_AFTER_CHUNK_SIZE: Lenient = Lenient(1 << 9);
    /// Accept control characters (but not NUL, CR or LF) in header values.
    pub const HEADER_VALUE_RELAXED: Lenient = Lenient(1 << 10);
    /// Accept spaces and tabs between a request line's version and its CRLF
    /// (`GET / HTTP/1.1 \r\n`). llhttp has no such flag and always rejects
    /// them; eddy keeps the old tolerance behind this one.
    pub const SPACES_AFTER_VERSION: Lenient = Lenient(1 << 11);
    /// Everything above.
    pub const ALL: Lenient = Lenient((1 << 12) - 1);

    /// Whether every flag of `other` is set in `self`.
    #[inline(always)]
    pub fn contains(self, other: Lenient) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Lenient {
    type Output = Lenient;
    fn bitor(self, rhs: Lenient) -> Lenient {
        Lenient(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Lenient {
    fn bitor_assign(&mut self, rhs: Lenient) {
        self.0 |= rhs.0;
    }
}

/// Which byte scanner a parser uses for the long runs (request-target,
/// header names and values). Every scanner gives the same events; only the
/// speed differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Scan {
    /// The widest the CPU has: AVX2, else SSE2 on x86-64; SWAR elsewhere, or
    /// when the environment sets `EDDY_PARSER_SWAR=1`.
    #[default]
    Auto,
    /// The portable safe scans, eight bytes at a time in a `u64`.
    Swar,
    /// SSE2, 16 bytes at a time (x86-64 only; SWAR elsewhere).
    Sse2,
    /// AVX2 for long runs, SSE2 for short ones (if the CPU has AVX2).
    Avx2,
}

/// Configuration for a [`Parser`](super::Parser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Which strict rules are relaxed (none by default).
    pub lenient: Lenient,
    /// Bytes of URL, status, header names and values per header section,
    /// counted like Node's `maxHeaderSize` (default 16 KiB). Exceeding it
    /// fails with `ErrorKind::HeaderOverflow` (431).
    pub max_header_bytes: usize,
    /// Header lines per header section (default 100): `ErrorKind::TooManyHeaders` (431).
    pub max_headers: usize,
    /// Request-target length (default 8 KiB): `ErrorKind::UrlTooLong` (414).
    pub max_url_len: usize,
    /// Chunk extension name and value bytes per chunk (default 16 KiB):
    /// `ErrorKind::ChunkExtensionsTooLarge` (413).
    pub max_chunk_extension_bytes: usize,
    /// The byte scanner (default `Scan::Auto`); `Parser::scan` says which
    /// one a parser got.
    pub scan: Scan,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lenient: Lenient::NONE,
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_url_len: 8 * 1024,
            max_chunk_extension_bytes: 16 * 1024,
            scan: Scan::Auto,
        }
    }
}

/// The limits as the parser keeps them: four `u32`s instead of four `usize`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    pub header_bytes: u32,
    pub headers: u32,
    pub url: u32,
    pub chunk_extensions: u32,
}

impl Limits {
    pub(super) const DEFAULT: Limits = Limits {
        header_bytes: 16 * 1024,
        headers: 100,
        url: 8 * 1024,
        chunk_extensions: 16 * 1024,
    };
}

impl From<&Settings> for Limits {
    fn from(s: &Settings) -> Limits {
        let clamp = |v: usize| v.min(u32::MAX as usize) as u32;
        Limits {
            header_bytes: clamp(s.max_header_bytes),
            headers: clamp(s.max_headers),
            url: clamp(s.max_url_len),
            chunk_extensions: clamp(s.max_chunk_extension_bytes),
        }
    }
}
