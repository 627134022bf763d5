//! Body encoders, one per [`Framing`]: counted (`Content-Length`), chunked
//! (with trailers after the last chunk), close-delimited, and none. Each
//! appends framed bytes to the caller's buffer.
//!
//! The counted encoder keeps what is left of the declared length, so a
//! caller can refuse a write that would pass it ([`BodyEncoder::check`])
//! and learn at the end that the body fell short
//! ([`BodyEncoder::finish`]).

use super::framing::Framing;
use super::head::encode_header_lines;
use super::headers::HeaderList;

/// Frames body bytes for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEncoder {
    /// A `Content-Length` body with `remaining` bytes still declared.
    Length {
        /// Declared bytes not yet encoded.
        remaining: u64,
    },
    /// A chunked body.
    Chunked,
    /// A body that ends with the connection.
    CloseDelimited,
    /// No body: bytes given are dropped (HEAD, 204, 304).
    None,
}

/// A write would pass the declared `Content-Length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{excess} bytes past the declared Content-Length")]
pub struct Overrun {
    /// How many bytes too many.
    pub excess: u64,
}

/// The body ended before its declared `Content-Length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("body ended {missing} bytes short of its Content-Length")]
pub struct Short {
    /// How many declared bytes were never sent.
    pub missing: u64,
}

/// Appends `n` in lower-case hex (a chunk size).
fn push_hex(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

impl BodyEncoder {
    /// The encoder for a decided framing.
    pub fn new(framing: Framing) -> BodyEncoder {
        match framing {
            Framing::Length(remaining) => BodyEncoder::Length { remaining },
            Framing::Chunked => BodyEncoder::Chunked,
            Framing::CloseDelimited => BodyEncoder::CloseDelimited,
            Framing::None => BodyEncoder::None,
        }
    }

    /// Whether `len` more bytes fit the declared length (always, for the
    /// other framings).
    pub fn check(&self, len: usize) -> Result<(), Overrun> {
        match *self {
            BodyEncoder::Length { remaining } if len as u64 > remaining => Err(Overrun {
                excess: len as u64 - remaining,
            }),
            _ => Ok(()),
        }
    }

    /// Appends `data`, framed. A counted body takes the bytes as given
    /// (call [`check`](Self::check) first to refuse an overrun); a
    /// bodiless message drops them.
    ///
    /// ```
    /// use eddy_http::h1::{BodyEncoder, Framing, HeaderList};
    /// let mut enc = BodyEncoder::new(Framing::Chunked);
    /// let mut out = Vec::new();
    /// enc.encode(b"hello", &mut out);
    /// enc.finish(&HeaderList::default(), &mut out).unwrap();
    /// assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
    /// ```
    #[inline]
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) {
        match self {
            BodyEncoder::None => {}
            BodyEncoder::Length { remaining } => {
                *remaining = remaining.saturating_sub(data.len() as u64);
                out.extend_from_slice(data);
            }
            BodyEncoder::CloseDelimited => out.extend_from_slice(data),
            BodyEncoder::Chunked => {
                if !data.is_empty() {
                    out.reserve(data.len() + 12);
                    push_hex(out, data.len());
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(data);
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
    }

    /// Ends the body: a chunked one gets its last chunk and `trailers`
    /// (ignored by the other framings). A counted body that fell short
    /// says by how much.
    pub fn finish(&mut self, trailers: &HeaderList, out: &mut Vec<u8>) -> Result<(), Short> {
        match *self {
            BodyEncoder::Chunked => {
                out.extend_from_slice(b"0\r\n");
                encode_header_lines(out, trailers);
                out.extend_from_slice(b"\r\n");
                Ok(())
            }
            BodyEncoder::Length { remaining } if remaining > 0 => Err(Short { missing: remaining }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_hex() {
        let mut out = Vec::new();
        let mut enc = BodyEncoder::new(Framing::Chunked);
        enc.encode(&[b'x'; 300], &mut out);
        assert!(out.starts_with(b"12c\r\nxxx"));
        out.clear();
        enc.encode(b"", &mut out);
        assert!(
            out.is_empty(),
            "an empty write is no chunk (it would end the body)"
        );
        let mut t = HeaderList::default();
        t.push("X-Sum", b"1");
        enc.finish(&t, &mut out).unwrap();
        assert_eq!(out, b"0\r\nX-Sum: 1\r\n\r\n");
    }

    #[test]
    fn a_counted_body_knows_what_is_left() {
        let mut out = Vec::new();
        let mut enc = BodyEncoder::new(Framing::Length(5));
        assert_eq!(enc.check(6), Err(Overrun { excess: 1 }));
        enc.check(3).unwrap();
        enc.encode(b"abc", &mut out);
        assert_eq!(enc, BodyEncoder::Length { remaining: 2 });
        assert_eq!(
            enc.finish(&HeaderList::default(), &mut out),
            Err(Short { missing: 2 })
        );
        enc.encode(b"de", &mut out);
        enc.finish(&HeaderList::default(), &mut out).unwrap();
        assert_eq!(out, b"abcde");
    }

    #[test]
    fn no_body_drops_bytes() {
        let mut out = Vec::new();
        let mut enc = BodyEncoder::new(Framing::None);
        enc.encode(b"abc", &mut out);
        enc.finish(&HeaderList::default(), &mut out).unwrap();
        assert!(out.is_empty());
    }
}
