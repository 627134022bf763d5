//! The `Range` request header (RFC 9110 §14.2), for one range of bytes:
//! `bytes=a-b`, `bytes=a-` and `bytes=-n`, judged against a file's length.
//!
//! A header this does not understand (another unit, a syntax error) is
//! ignored and the whole file is served, as RFC 9110 allows. A list of
//! several ranges is also answered with the whole file (200): nginx does
//! the same with `max_ranges 1`, and it spares a `multipart/byteranges`
//! body that almost no client asks for.

/// What a `Range` header asks of a file of a given length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable range: send the whole file (200).
    Whole,
    /// Send bytes `start..=end` (206, `Content-Range: bytes start-end/len`).
    Partial {
        /// First byte sent.
        start: u64,
        /// Last byte sent (inclusive).
        end: u64,
    },
    /// No byte of the file is in the range: 416 with
    /// `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// One range spec, before it meets a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `a-b` or `a-` (`end` None).
    From { start: u64, end: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn spec(s: &[u8]) -> Option<Spec> {
    let dash = s.iter().position(|&b| b == b'-')?;
    let (a, b) = (trim(&s[..dash]), trim(&s[dash + 1..]));
    if a.is_empty() {
        return Some(Spec::Suffix(number(b)?));
    }
    let start = number(a)?;
    let end = if b.is_empty() { None } else { Some(number(b)?) };
    match end {
        Some(end) if end < start => None,
        _ => Some(Spec::From { start, end }),
    }
}

/// Judges the `Range` header `value` against a file of `len` bytes.
///
/// ```
/// use eddy_http::server::{range_answer, RangeAnswer};
/// assert_eq!(range_answer(b"bytes=0-99", 1000), RangeAnswer::Partial { start: 0, end: 99 });
/// assert_eq!(range_answer(b"bytes=-100", 1000), RangeAnswer::Partial { start: 900, end: 999 });
/// assert_eq!(range_answer(b"bytes=1000-", 1000), RangeAnswer::Unsatisfiable);
/// assert_eq!(range_answer(b"bytes=0-1,5-6", 1000), RangeAnswer::Whole);
/// ```
pub fn range_answer(value: &[u8], len: u64) -> RangeAnswer {
    let value = trim(value);
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return RangeAnswer::Whole;
    };
    if !trim(&value[..eq]).eq_ignore_ascii_case(b"bytes") {
        return RangeAnswer::Whole;
    }
    let set = &value[eq + 1..];
    if set.contains(&b',') {
        return RangeAnswer::Whole; // several ranges: see the module doc
    }
    let Some(spec) = spec(trim(set)) else {
        return RangeAnswer::Whole;
    };
    match spec {
        Spec::Suffix(0) => RangeAnswer::Unsatisfiable,
        Spec::Suffix(_) if len == 0 => RangeAnswer::Unsatisfiable,
        Spec::Suffix(n) => RangeAnswer::Partial {
            start: len.saturating_sub(n),
            end: len - 1,
        },
        Spec::From { start, .. } if start >= len => RangeAnswer::Unsatisfiable,
        Spec::From { start, end } => RangeAnswer::Partial {
            start,
            end: end.map_or(len - 1, |e| e.min(len - 1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(start: u64, end: u64) -> RangeAnswer {
        RangeAnswer::Partial { start, end }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(range_answer(b"bytes=0-0", 10), p(0, 0));
        assert_eq!(range_answer(b"bytes=2-5", 10), p(2, 5));
        assert_eq!(range_answer(b"bytes=2-", 10), p(2, 9));
        assert_eq!(range_answer(b"bytes=2-100", 10), p(2, 9));
        assert_eq!(range_answer(b"bytes=-3", 10), p(7, 9));
        assert_eq!(range_answer(b"bytes=-30", 10), p(0, 9));
        assert_eq!(range_answer(b"Bytes = 1 - 2 ", 10), p(1, 2));
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(range_answer(b"bytes=10-", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(range_answer(b"bytes=10-20", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(range_answer(b"bytes=-0", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(range_answer(b"bytes=0-", 0), RangeAnswer::Unsatisfiable);
        assert_eq!(range_answer(b"bytes=-5", 0), RangeAnswer::Unsatisfiable);
    }

    #[test]
    fn ignored() {
        for v in [
            &b""[..],
            b"bytes",
            b"items=0-1",
            b"bytes=5-2",
            b"bytes=a-b",
            b"bytes=-",
            b"bytes=0-1,3-4",
            b"bytes=1-2-3",
            b"bytes=99999999999999999999-",
        ] {
            assert_eq!(range_answer(v, 10), RangeAnswer::Whole, "{v:?}");
        }
    }
}
