//! Queries on the parser and the message it is reading (method, status,
//! version, flags, keep-alive), and the pause/resume controls.

use super::core::{FinishState, Kind, Parser, PauseReason};
use super::error::ParseError;
use super::flags::*;
use super::method::{Method, METHODS};
use super::settings::{Lenient, Scan, Settings};

impl Parser {
    /// Make the next `execute` return 0 until `resume`.
    pub fn pause(&mut self) {
        if self.paused.is_none() {
            self.paused = Some(PauseReason::User);
        }
    }

    /// Continue after a pause (including after an upgrade, to parse HTTP again).
    pub fn resume(&mut self) {
        self.paused = None;
    }

    /// Why the parser is paused, if it is.
    pub fn pause_reason(&self) -> Option<PauseReason> {
        self.paused
    }

    /// Whether the parser is paused (by a callback or `pause`).
    pub fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// The sticky error, if any.
    /// The sticky error, if any (its offset is not kept: 0).
    pub fn error(&self) -> Option<ParseError> {
        self.error
            .map(|(kind, reason)| ParseError::new(kind, 0, reason))
    }

    /// Whether this parser reads requests or responses.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The request method (requests only, once the method is known).
    pub fn method(&self) -> Option<Method> {
        if (self.method as usize) < METHODS.len() {
            Some(Method::from_index(self.method as usize))
        } else {
            None
        }
    }

    /// The response status code (0 before it is known).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// `(major, minor)`; `(0, 9)` for an HTTP/0.9 request line.
    pub fn version(&self) -> (u8, u8) {
        (self.major, self.minor)
    }

    /// The Content-Length value, or the current chunk's size in `on_chunk_header`.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// llhttp-compatible `F_*` bits, see [`flags`](super::flags).
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// The message upgrades the connection (CONNECT, or Upgrade + Connection: upgrade
    /// on a request / 101 response). Set when headers complete.
    pub fn upgrade(&self) -> bool {
        self.upgrade
    }

    /// Offset of the current event within the input slice of this `execute`
    /// call (meaningful inside callbacks).
    pub fn position(&self) -> usize {
        self.position
    }

    /// Whether the input may end here: what `finish` would say.
    pub fn finish_state(&self) -> FinishState {
        self.finish
    }

    /// The parser's settings: lenient flags and limits.
    pub fn settings(&self) -> Settings {
        Settings {
            lenient: self.lenient,
            max_header_bytes: self.limits.header_bytes as usize,
            max_headers: self.limits.headers as usize,
            max_url_len: self.limits.url as usize,
            max_chunk_extension_bytes: self.limits.chunk_extensions as usize,
            scan: self.scan.scan(),
        }
    }

    /// The byte scanner this parser runs: `Settings::scan` as this CPU
    /// allows it (never `Scan::Auto`).
    pub fn scan(&self) -> Scan {
        self.scan.scan()
    }

    /// Replaces the lenient flags; takes effect at the next byte.
    pub fn set_lenient(&mut self, lenient: Lenient) {
        self.lenient = lenient;
    }

    #[inline(always)]
    pub(super) fn lenient(&self, flag: Lenient) -> bool {
        self.lenient.contains(flag)
    }

    /// The message's body runs until EOF (responses without framing).
    pub fn message_needs_eof(&self) -> bool {
        if self.kind == Kind::Request {
            return false;
        }
        let s = self.status;
        if s / 100 == 1 || s == 204 || s == 304 || self.flags & SKIPBODY != 0 {
            return false;
        }
        if self.flags & TRANSFER_ENCODING != 0 && self.flags & CHUNKED == 0 {
            return true;
        }
        self.flags & (CHUNKED | CONTENT_LENGTH) == 0
    }

    /// Whether the connection may carry another message after this one.
    /// False after a GET or HEAD request with a body (see
    /// [`keep_alive_if_body_read`](Self::keep_alive_if_body_read)).
    pub fn should_keep_alive(&self) -> bool {
        !self.bodiless_body && self.keep_alive_if_body_read()
    }

    /// Like [`should_keep_alive`](Self::should_keep_alive), but for a reader
    /// that reads (or drains) a GET or HEAD request's body to its end, as
    /// Node's server does: such a body is framed like any other, so the
    /// next message starts after it.
    pub fn keep_alive_if_body_read(&self) -> bool {
        if self.force_close {
            return false;
        }
        if self.major > 0 && self.minor > 0 {
            if self.flags & CONNECTION_CLOSE != 0 {
                return false;
            }
        } else if self.flags & CONNECTION_KEEP_ALIVE == 0 {
            return false;
        }
        !self.message_needs_eof()
    }
}
