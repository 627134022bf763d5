//! What the HTTP/1 machinery needs to know about a message's header lines
//! (framing, connection options, Host, Expect), as a [`HeaderList`]
//! noted them while its lines were added. Each `Option` holds the first line of its name, as
//! [`HeaderList::get`] gives it.

use super::headers::HeaderList;

/// The framing- and connection-relevant header lines of one message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderFacts<'a> {
    /// The first `Content-Length` value.
    pub content_length: Option<&'a [u8]>,
    /// The first `Transfer-Encoding` value.
    pub transfer_encoding: Option<&'a [u8]>,
    /// Some `Transfer-Encoding` line names `chunked`.
    pub chunked: bool,
    /// A `Connection` line is present (eddy then adds none).
    pub has_connection: bool,
    /// Some `Connection` line is exactly `close`.
    pub connection_close: bool,
    /// A `Date` line is present (eddy then adds none).
    pub has_date: bool,
    /// The first `Host` value.
    pub host: Option<&'a [u8]>,
    /// How many `Host` lines there are.
    pub hosts: usize,
    /// The first `Expect` value.
    pub expect: Option<&'a [u8]>,
}

impl<'a> HeaderFacts<'a> {
    /// Reads the facts of `headers` (noted as its lines were added).
    ///
    /// ```
    /// use eddy_http::h1::{HeaderFacts, HeaderList};
    /// let mut h = HeaderList::default();
    /// h.push("Content-Length", b"5");
    /// h.push("Connection", b"close");
    /// let f = HeaderFacts::of(&h);
    /// assert_eq!(f.content_length, Some(&b"5"[..]));
    /// assert!(f.connection_close && f.has_connection && !f.chunked);
    /// ```
    pub fn of(headers: &'a HeaderList) -> HeaderFacts<'a> {
        // The list noted its relevant lines as they were added.
        let m = headers.marks();
        let at = |i: Option<u32>| i.map(|i| headers.value_at(i));
        HeaderFacts {
            content_length: at(m.content_length),
            transfer_encoding: at(m.transfer_encoding),
            chunked: m.chunked,
            has_connection: m.has_connection,
            connection_close: m.connection_close,
            has_date: m.has_date,
            host: at(m.host),
            hosts: m.hosts as usize,
            expect: at(m.expect),
        }
    }

    /// The first `Content-Length` as a number, when it is one.
    pub fn content_length_value(&self) -> Option<u64> {
        let v = self.content_length?.trim_ascii();
        // Leading zeros do not count toward the 19 digits (the parser
        // reads `00000000000000000005` as 5, as llhttp does).
        let zeros = v.iter().take_while(|&&d| d == b'0').count();
        let v = &v[zeros.min(v.len().saturating_sub(1))..];
        if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_with_leading_zeros_is_its_value() {
        let mut h = HeaderList::default();
        h.push("Content-Length", b"00000000000000000005");
        assert_eq!(HeaderFacts::of(&h).content_length_value(), Some(5));
        let mut h = HeaderList::default();
        h.push("Content-Length", b"000");
        assert_eq!(HeaderFacts::of(&h).content_length_value(), Some(0));
        let mut h = HeaderList::default();
        h.push("Content-Length", b"12345678901234567890");
        assert_eq!(HeaderFacts::of(&h).content_length_value(), None);
    }

    #[test]
    fn one_pass_finds_every_fact() {
        let mut h = HeaderList::default();
        h.push("HOST", b"a");
        h.push("host", b"b");
        h.push("Date", b"x");
        h.push("Expect", b"100-continue");
        h.push("Transfer-Encoding", b"gzip, Chunked");
        h.push("Content-Length", b" 42 ");
        let f = HeaderFacts::of(&h);
        assert_eq!((f.hosts, f.host), (2, Some(&b"a"[..])));
        assert!(f.has_date && f.chunked && !f.has_connection);
        assert_eq!(f.expect, Some(&b"100-continue"[..]));
        assert_eq!(f.content_length_value(), Some(42));
    }

    /// The marks follow the lines: built from the parser's pieces, and
    /// after a removal renumbers them.
    #[test]
    fn facts_follow_pieces_and_removals() {
        let mut h = HeaderList::default();
        for (n, v) in [
            (&b"X-A"[..], &b" 1"[..]),
            (b"Content-Length", b" 7 "),
            (b"Host", b"h"),
        ] {
            h.name_piece(&n[..1]);
            h.name_piece(&n[1..]);
            h.name_done();
            h.value_piece(v);
            h.value_done();
        }
        let f = HeaderFacts::of(&h);
        assert_eq!(
            (f.content_length_value(), f.host, f.hosts),
            (Some(7), Some(&b"h"[..]), 1)
        );
        let mut h = HeaderList::default();
        h.push("X-Gone", b"1");
        h.push("Content-Length", b"5");
        h.push("Connection", b"close");
        h.remove("x-gone");
        let f = HeaderFacts::of(&h);
        assert_eq!(f.content_length, Some(&b"5"[..]));
        assert!(f.connection_close);
        h.remove("content-length");
        h.remove("connection");
        assert_eq!(HeaderFacts::of(&h), HeaderFacts::default());
    }

    #[test]
    fn lengths_that_are_not_numbers() {
        for bad in [&b""[..], b"-1", b"1x", b"99999999999999999999"] {
            let mut h = HeaderList::default();
            h.push("Content-Length", bad);
            assert_eq!(HeaderFacts::of(&h).content_length_value(), None, "{bad:?}");
        }
    }
}
