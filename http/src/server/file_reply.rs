//! What a file response is, as a pure function of the request's headers
//! and the file's validators: 304 (RFC 9110 §13.1.2-3: `If-None-Match`
//! first, `If-Modified-Since` only without it, both only for GET and
//! HEAD), else 206 or 416 for a single `Range` (honoured only by GET, and
//! only while `If-Range` still matches), else 200.
//!
//! `If-Match` and `If-Unmodified-Since` (412) are not judged: they guard
//! writes, and a file server has none.

use super::conditional::{none_match, parse_http_date, strong_match};
use super::range::{range_answer, RangeAnswer};
use crate::h1::HeaderList;

/// What the file's validators are.
#[derive(Clone, Copy, Debug)]
pub struct FileValidators<'a> {
    /// The file's length.
    pub size: u64,
    /// Its modification time, seconds since the epoch (`Last-Modified`).
    pub mtime_secs: i64,
    /// Its strong entity-tag (`ETag`).
    pub etag: &'a str,
}

/// How to answer a request for a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileReply {
    /// 304 Not Modified: validators, no body.
    NotModified,
    /// 200 with the whole file.
    Whole,
    /// 206 with bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Decides the answer to a `method` request with `headers` for a file.
pub fn file_reply(method: &[u8], headers: &HeaderList, file: FileValidators<'_>) -> FileReply {
    let safe = method == b"GET" || method == b"HEAD";
    if safe {
        if let Some(inm) = headers.get("if-none-match") {
            if none_match(inm, file.etag) {
                return FileReply::NotModified;
            }
        } else if let Some(since) = headers.get("if-modified-since").and_then(parse_http_date) {
            if file.mtime_secs <= since {
                return FileReply::NotModified;
            }
        }
    }
    if method != b"GET" {
        return FileReply::Whole;
    }
    let Some(range) = headers.get("range") else {
        return FileReply::Whole;
    };
    if let Some(cond) = headers.get("if-range") {
        let still = if cond.starts_with(b"\"") || cond.starts_with(b"W/") {
            strong_match(cond, file.etag)
        } else {
            parse_http_date(cond) == Some(file.mtime_secs)
        };
        if !still {
            return FileReply::Whole;
        }
    }
    match range_answer(range, file.size) {
        RangeAnswer::Whole => FileReply::Whole,
        RangeAnswer::Partial { start, end } => FileReply::Partial { start, end },
        RangeAnswer::Unsatisfiable => FileReply::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::format_imf_fixdate;

    const TAG: &str = "\"t1\"";
    const MTIME: i64 = 1_700_000_000;

    fn reply(method: &str, hs: &[(&str, &str)]) -> FileReply {
        let mut h = HeaderList::default();
        for (n, v) in hs {
            h.push(n, v);
        }
        let file = FileValidators {
            size: 100,
            mtime_secs: MTIME,
            etag: TAG,
        };
        file_reply(method.as_bytes(), &h, file)
    }

    #[test]
    fn conditional_get() {
        let now = format_imf_fixdate(MTIME as u64);
        let before = format_imf_fixdate(MTIME as u64 - 1);
        assert_eq!(reply("GET", &[]), FileReply::Whole);
        assert_eq!(
            reply("GET", &[("If-None-Match", TAG)]),
            FileReply::NotModified
        );
        assert_eq!(
            reply("HEAD", &[("If-None-Match", "*")]),
            FileReply::NotModified
        );
        assert_eq!(
            reply("GET", &[("If-None-Match", "\"x\"")]),
            FileReply::Whole
        );
        assert_eq!(
            reply("GET", &[("If-Modified-Since", &now)]),
            FileReply::NotModified
        );
        assert_eq!(
            reply("GET", &[("If-Modified-Since", &before)]),
            FileReply::Whole
        );
        assert_eq!(
            reply("GET", &[("If-Modified-Since", "junk")]),
            FileReply::Whole
        );
        // If-None-Match wins over If-Modified-Since.
        let both = [("If-None-Match", "\"x\""), ("If-Modified-Since", &now[..])];
        assert_eq!(reply("GET", &both), FileReply::Whole);
        assert_eq!(reply("POST", &[("If-None-Match", TAG)]), FileReply::Whole);
    }

    #[test]
    fn ranges() {
        let p = |start, end| FileReply::Partial { start, end };
        assert_eq!(reply("GET", &[("Range", "bytes=0-9")]), p(0, 9));
        assert_eq!(reply("HEAD", &[("Range", "bytes=0-9")]), FileReply::Whole);
        assert_eq!(
            reply("GET", &[("Range", "bytes=100-")]),
            FileReply::Unsatisfiable
        );
        assert_eq!(
            reply("GET", &[("Range", "bytes=0-9"), ("If-Range", TAG)]),
            p(0, 9)
        );
        assert_eq!(
            reply("GET", &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")]),
            FileReply::Whole
        );
        let now = format_imf_fixdate(MTIME as u64);
        assert_eq!(
            reply("GET", &[("Range", "bytes=0-9"), ("If-Range", &now)]),
            p(0, 9)
        );
        let later = format_imf_fixdate(MTIME as u64 + 5);
        assert_eq!(
            reply("GET", &[("Range", "bytes=0-9"), ("If-Range", &later)]),
            FileReply::Whole
        );
        // A validator that still matches wins over the range.
        assert_eq!(
            reply("GET", &[("Range", "bytes=0-9"), ("If-None-Match", TAG)]),
            FileReply::NotModified
        );
    }
}
