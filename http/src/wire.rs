//! Small pieces for writing HTTP/1.1 heads, shared by the server and the
//! client: header lines, decimal numbers without `fmt` (once per message,
//! the formatting machinery costs more than the number), byte-class tables,
//! and a word-at-a-time compare of a header name with a known one.

/// Appends `name: value\r\n`.
#[inline]
pub(crate) fn push_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal.
pub(crate) fn push_number(out: &mut Vec<u8>, mut n: u64) {
    // Timeouts, statuses and short lengths: no division loop.
    if n < 100 {
        if n < 10 {
            out.push(b'0' + n as u8);
        } else {
            out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        }
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Whether `a` and `b` are the same bytes: short ones (as most header
/// names and values are) by two overlapping word compares each, with no
/// call to `memcmp`.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or([0; 8]));
    match n {
        0..=3 => a.iter().zip(b).fold(true, |same, (x, y)| same & (x == y)),
        4..=7 => (w4(a, 0) == w4(b, 0)) & (w4(a, n - 4) == w4(b, n - 4)),
        8..=16 => (w8(a, 0) == w8(b, 0)) & (w8(a, n - 8) == w8(b, n - 8)),
        _ => a == b,
    }
}

/// A header name known when compiling (4 to 24 bytes, lowercase), kept as
/// three words to compare a name with, eight bytes at a time (four for a
/// name under 8). Setting bit 5 of a byte gives a lowercase letter only for
/// that letter in either case, so bit 5 is set where the known name has a
/// letter, and the other bytes must match as they are. `matches` is
/// exactly `name.eq_ignore_ascii_case(lower)`, in three compares.
pub(crate) struct KnownName {
    len: usize,
    /// Where the three words start: 0, 8 (or less), and `len - 8` (for
    /// four-byte words: 0, `len - 4` twice).
    at: [usize; 3],
    words: [u64; 3],
    folds: [u64; 3],
}

impl KnownName {
    /// `lower`'s words; panics (when compiling, in a `const`) outside 4..=24 bytes.
    pub(crate) const fn new(lower: &[u8]) -> KnownName {
        let len = lower.len();
        assert!(len >= 4 && len <= 24);
        let width = if len < 8 { 4 } else { 8 };
        let second = if len - width < 8 { len - width } else { 8 };
        let at = [0, second, len - width];
        let (mut words, mut folds) = ([0u64; 3], [0u64; 3]);
        let mut k = 0;
        while k < 3 {
            let mut i = 0;
            while i < width {
                let b = lower[at[k] + i];
                assert!(!b.is_ascii_uppercase());
                words[k] |= (b as u64) << (8 * i);
                if b.is_ascii_lowercase() {
                    folds[k] |= 0x20 << (8 * i);
                }
                i += 1;
            }
            k += 1;
        }
        KnownName {
            len,
            at,
            words,
            folds,
        }
    }

    /// Whether `name` is this name, whatever the case of its letters.
    #[inline(always)]
    pub(crate) fn matches(&self, name: &[u8]) -> bool {
        if name.len() != self.len {
            return false;
        }
        let word = |k: usize| match self.len {
            ..8 => name[self.at[k]..]
                .first_chunk::<4>()
                .map(|w| u64::from(u32::from_le_bytes(*w))),
            _ => name[self.at[k]..]
                .first_chunk::<8>()
                .map(|w| u64::from_le_bytes(*w)),
        };
        (0..3).all(|k| word(k).is_some_and(|w| w | self.folds[k] == self.words[k]))
    }
}

/// A table of the bytes that are ASCII letters, digits, or in `extra`.
pub(crate) const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same_bytes` is `==`, for every byte in every position of slices of
    /// 0 to 40 bytes.
    #[test]
    fn same_bytes_is_equality() {
        for len in 0..=40usize {
            let a: Vec<u8> = (0..len as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{len} {at}");
            }
        }
    }

    #[test]
    fn numbers_and_tables() {
        let mut out = Vec::new();
        for n in [0, 7, 9, 10, 42, 99, 100, 65535, u64::MAX] {
            out.clear();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        let t = byte_table(b"-");
        assert!(t[b'a' as usize] && t[b'Z' as usize] && t[b'5' as usize] && t[b'-' as usize]);
        assert!(!t[b' ' as usize] && !t[b'_' as usize] && !t[0x80]);
    }

    /// `KnownName::matches` agrees with `eq_ignore_ascii_case` for every
    /// byte in every position of names of lengths 4 to 24.
    #[test]
    fn known_names_match_as_eq_ignore_ascii_case() {
        let names: [&[u8]; 8] = [
            b"host",
            b"expect",
            b"x-a-7-b",
            b"x-1234-6",
            b"connection",
            b"content-length",
            b"transfer-encoding",
            b"x-0123456789-abcdefghijk",
        ];
        for lower in names {
            let known = KnownName::new(lower);
            for at in 0..lower.len() {
                for c in 0..=255u8 {
                    let mut name = lower.to_vec();
                    name[at] = c;
                    assert_eq!(
                        known.matches(&name),
                        name.eq_ignore_ascii_case(lower),
                        "{c:#x} at {at} in {lower:?}"
                    );
                }
            }
            assert!(known.matches(&lower.to_ascii_uppercase()));
            assert!(!known.matches(&lower[1..]) && !known.matches(&[lower, b"x"].concat()));
        }
    }
}
