//! Header validation, pure and byte-wise: names are RFC 9110 tokens,
//! values are RFC 9110 field-values (obs-text, 0x80–0xFF, passes through
//! unchanged), and a Host is a plausible authority. What fails is refused
//! before it reaches the wire, so no caller can split a message.

use crate::wire::byte_table;

/// Token characters (RFC 9110 `tchar`).
static TCHAR: [bool; 256] = byte_table(b"!#$%&'*+-.^_`|~");

/// The bytes a field-value may hold (see [`field_value_byte`]).
static FIELD_VALUE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = field_value_byte(b as u8);
        b += 1;
    }
    t
};

/// The bytes [`is_valid_host`] allows.
static HOST_BYTES: [bool; 256] = byte_table(b"-._~:[]%!$&'()*+,;=");

/// Whether `name` is a header name: a non-empty RFC 9110 token.
///
/// ```
/// use eddy_http::h1::is_token;
/// assert!(is_token(b"X-Request-Id"));
/// assert!(!is_token(b"Bad Name") && !is_token(b""));
/// ```
#[inline(always)]
pub fn is_token(name: &[u8]) -> bool {
    // No early exit: a branch-free pass is faster on short names.
    !name.is_empty() && name.iter().fold(true, |ok, &b| ok & TCHAR[b as usize])
}

/// Whether `value` may be sent as a header value: RFC 9110 `field-value`
/// bytes, i.e. visible ASCII, space, tab and obs-text (0x80–0xFF). CR, LF,
/// NUL and the other control bytes are refused (Node's
/// `checkInvalidHeaderChar`).
///
/// ```
/// use eddy_http::h1::is_field_value;
/// assert!(is_field_value(b"caf\xE9; q=0.5\t"));
/// assert!(!is_field_value(b"a\r\nInjected: 1"));
/// ```
#[inline(always)]
pub fn is_field_value(value: &[u8]) -> bool {
    // Eight bytes at a time: a word with no byte below 0x20 and no DEL is
    // good as a whole; only a word that has one (most often a HTAB) is
    // looked at byte by byte. Values are short, so the tail is a plain
    // branch-free fold.
    let mut words = value.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        if has_byte_below_0x20_or_del(x) && !w.iter().all(|&b| field_value_byte(b)) {
            return false;
        }
    }
    // The tail a table load a byte (fewer instructions than the compares).
    words
        .remainder()
        .iter()
        .fold(true, |ok, &b| ok & FIELD_VALUE[b as usize])
}

/// Whether `b` may appear in a field-value: not a control byte other than
/// HTAB, not DEL.
#[inline(always)]
const fn field_value_byte(b: u8) -> bool {
    !(((b < 0x20) & (b != b'\t')) | (b == 0x7f))
}

/// Whether some byte of `x` is below 0x20 or is 0x7F (the classic
/// "has a byte less than n" and "has a zero byte" word tricks; a byte of
/// 0x80 or more never sets its flag).
#[inline(always)]
fn has_byte_below_0x20_or_del(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    let del = x ^ (ONES * 0x7f);
    let zero_in_del = del.wrapping_sub(ONES) & !del & HIGHS;
    (below | zero_in_del) != 0
}

/// Whether a Host value is a plausible authority: no whitespace, no '/'
/// and so on (RFC 3986 `host [":" port]` characters only).
#[inline]
pub fn is_valid_host(h: &[u8]) -> bool {
    // One table load a byte, no early exit: hosts are short, and four
    // compares a byte (the common names, addresses and ports) cost more.
    !h.is_empty() && h.iter().fold(true, |ok, &b| ok & HOST_BYTES[b as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tokens() {
        assert!(is_token(b"Content-Type") && is_token(b"x_y!#$%&'*+-.^`|~"));
        for bad in [&b""[..], b"a b", b"a:b", b"a\r", b"caf\xE9", b"(x)"] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn values_are_field_values_with_obs_text() {
        assert!(is_field_value(b""));
        assert!(is_field_value(b"text/html; charset=\"utf-8\"\t "));
        assert!(is_field_value(b"caf\xE9 \xFF\x80"));
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"\x01", b"\x1f", b"\x7f"] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    /// The word-at-a-time check against the byte rule, for every byte in
    /// every position of values long enough to have whole words.
    #[test]
    fn words_agree_with_bytes() {
        for b in 0..=255u8 {
            for len in 1usize..=24 {
                for at in 0..len {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    let expect = !(((b < 0x20) && b != b'\t') || b == 0x7f);
                    assert_eq!(is_field_value(&v), expect, "byte {b:#x} at {at} of {len}");
                }
            }
        }
        // Bytes that borrow across lanes: obs-text beside low bytes.
        assert!(is_field_value(b"\x80\x20\xff\t\x21\x7e\x80\x20\t\t"));
        assert!(!is_field_value(b"\x80\x20\xff\t\x21\x7e\x80\x1f"));
    }

    #[test]
    fn hosts() {
        assert!(is_valid_host(b"example.com:8080") && is_valid_host(b"[::1]:80"));
        assert!(!is_valid_host(b"") && !is_valid_host(b"a b") && !is_valid_host(b"a/b"));
    }
}
