//! 256-entry byte-class tables, so every scanning loop tests one byte with one load.

/// tchar (RFC 9110): header field names, methods, chunk extension names/values.
pub(crate) const TOKEN: u8 = 1;
/// Header value bytes: HTAB, SP, VCHAR and obs-text (not CTLs or DEL).
pub(crate) const VALUE: u8 = 2;
/// Request-target bytes for the path, query and fragment (visible ASCII minus `#` and `?`).
pub(crate) const URL: u8 = 4;
/// Authority bytes: unreserved, sub-delims, `%`, `:` (userinfo and host).
pub(crate) const USERINFO: u8 = 8;
/// qdtext inside a quoted chunk extension value.
pub(crate) const QDTEXT: u8 = 16;
/// HTAB / SP / VCHAR / obs-text: what may follow a backslash in a quoted-pair.
pub(crate) const QUOTED_PAIR: u8 = 32;
/// Control bytes that `Lenient::HEADER_VALUE_RELAXED` lets into a header value.
pub(crate) const RELAXED: u8 = 64;

const fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

const fn classify(c: u8) -> u8 {
    let mut m = 0;
    let tchar = is_alnum(c)
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        );
    if tchar {
        m |= TOKEN;
    }
    if c == b'\t' || (c >= 0x20 && c != 0x7f) {
        m |= VALUE;
    }
    let url = is_alnum(c)
        || matches!(
            c,
            b'!' | b'"'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b';'
                | b'<'
                | b'='
                | b'>'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        );
    if url {
        m |= URL;
    }
    let userinfo = is_alnum(c)
        || matches!(
            c,
            b'-' | b'_'
                | b'.'
                | b'!'
                | b'~'
                | b'*'
                | b'\''
                | b'('
                | b')'
                | b'%'
                | b';'
                | b':'
                | b'&'
                | b'='
                | b'+'
                | b'$'
                | b','
        );
    if userinfo {
        m |= USERINFO;
    }
    if c == b'\t' || c == b' ' || (c >= 0x21 && c != b'"' && c != b'\\' && c != 0x7f) {
        m |= QDTEXT;
    }
    if c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7f) {
        m |= QUOTED_PAIR;
    }
    if (c < 0x20 && c != 0 && c != b'\r' && c != b'\n' && c != b'\t') || c == 0x7f {
        m |= RELAXED;
    }
    m
}

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = classify(i as u8);
        i += 1;
    }
    t
}

/// Class bits for each byte.
pub(crate) const CLASS: [u8; 256] = build();

#[inline(always)]
pub(crate) fn is(c: u8, class: u8) -> bool {
    CLASS[c as usize] & class != 0
}

/// Value of a hex digit, or `None`.
#[inline]
pub(crate) fn hex_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u64),
        b'a'..=b'f' => Some((c - b'a' + 10) as u64),
        b'A'..=b'F' => Some((c - b'A' + 10) as u64),
        _ => None,
    }
}

/// `s` equals `lower` ignoring ASCII case, where `lower` is lowercase letters
/// and `-` only and `s` is tchar or value text (no CR). Setting bit 0x20 then
/// maps exactly the two cases of a letter, and only `-` itself, onto `lower`'s
/// byte (the only other byte it maps onto `-` is CR), so whole words compare at once.
#[inline(always)]
pub(crate) fn eq_lower(s: &[u8], lower: &[u8]) -> bool {
    let n = s.len();
    if n != lower.len() {
        return false;
    }
    let word = |b: &[u8], i: usize| load8(b, i) | (LO * 0x20);
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(s, i) != load8(lower, i) {
                return false;
            }
            i += 8;
        }
        return word(s, n - 8) == load8(lower, n - 8);
    }
    s.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Eight bytes at `p` as one word (a plain unaligned load).
#[inline(always)]
fn load8(data: &[u8], p: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&data[p..p + 8]);
    u64::from_le_bytes(w)
}

/// High bit set in every byte of `x` below `n` (exact for n <= 128 when only
/// "any byte?" is asked).
#[inline(always)]
fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO * n as u64) & !x & HI
}

/// High bit set where a byte of `x` equals `b` (same caveat).
#[inline(always)]
fn equal(x: u64, b: u8) -> u64 {
    let v = x ^ (LO * b as u64);
    v.wrapping_sub(LO) & !v & HI
}

/// Scan bytes of `class` from `p`, eight at a time: `stops` flags (in the
/// high bit of each byte) every byte that may end the run. The lowest flagged
/// byte is exact; if `false_stop` says it is in the class after all (a tab in
/// a value), step over it and go on. Returns the first byte not in the class.
#[inline(always)]
fn skip_class(
    data: &[u8],
    mut p: usize,
    class: u8,
    stops: impl Fn(u64) -> u64,
    false_stop: impl Fn(u8) -> bool,
) -> usize {
    while p + 8 <= data.len() {
        let word = load8(data, p);
        let mask = stops(word);
        if mask == 0 {
            p += 8;
            continue;
        }
        let bit = mask.trailing_zeros();
        p += (bit / 8) as usize;
        // The byte comes from the word already in a register, not from memory.
        if !false_stop((word >> (bit & !7)) as u8) {
            return p;
        }
        p += 1;
    }
    while p < data.len() && is(data[p], class) {
        p += 1;
    }
    p
}

/// Skip header-value bytes (HTAB, SP, VCHAR, obs-text).
#[inline(always)]
pub(crate) fn skip_value(data: &[u8], p: usize) -> usize {
    skip_class(
        data,
        p,
        VALUE,
        |x| below(x, 0x20) | equal(x, 0x7f),
        |b| b == b'\t',
    )
}

/// Skip request-target bytes of a path, query or fragment.
#[inline(always)]
pub(crate) fn skip_url(data: &[u8], p: usize) -> usize {
    skip_class(
        data,
        p,
        URL,
        |x| below(x, 0x21) | equal(x, 0x7f) | equal(x, b'#') | equal(x, b'?') | (x & HI),
        |_| false,
    )
}

/// High bit set where a byte of `x` is in `lo..=hi` (exact for bytes below
/// 0x80; a byte at or above 0x80 may flag bytes above it, never below).
#[inline(always)]
fn within(x: u64, lo: u8, hi: u8) -> u64 {
    let at_least_lo = x.wrapping_add(LO * (0x80 - lo) as u64);
    let above_hi = x.wrapping_add(LO * (0x7f - hi) as u64);
    at_least_lo & !above_hi & HI
}

/// Skip header-name bytes (tchar): every other byte, the colon included,
/// stops the word scan, so the result is exact.
#[inline(always)]
pub(crate) fn skip_name(data: &[u8], p: usize) -> usize {
    skip_class(
        data,
        p,
        TOKEN,
        |x| {
            // Not tchar: controls, SP, DEL, non-ASCII and the separators
            // `"` `(` `)` `,` `/` `:;<=>?@` `[\]` `{` `}`.
            below(x, 0x21)
                | (x & HI)
                | equal(x, 0x7f)
                | equal(x, b'"')
                | within(x, b'(', b')')
                | equal(x, b',')
                | equal(x, b'/')
                | within(x, b':', b'@')
                | within(x, b'[', b']')
                | equal(x, b'{')
                | equal(x, b'}')
        },
        |_| false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_lower_is_case_insensitive_equality() {
        let names: [&[u8]; 6] = [
            b"connection",
            b"content-length",
            b"transfer-encoding",
            b"upgrade",
            b"close",
            b"keep-alive",
        ];
        for lit in names {
            for c in 0..=255u8 {
                for at in 0..lit.len() {
                    let mut s = lit.to_vec();
                    s[at] = c;
                    if c == b'\r' {
                        continue;
                    }
                    assert_eq!(eq_lower(&s, lit), s.eq_ignore_ascii_case(lit), "{s:?}");
                }
            }
            assert!(eq_lower(&lit.to_ascii_uppercase(), lit));
            assert!(!eq_lower(&lit[1..], lit));
        }
    }

    /// The word scans agree with the byte tables for every byte at every
    /// position of a word.
    #[test]
    fn word_scans_match_tables() {
        for c in 0..=255u8 {
            for at in 0..12 {
                let mut buf = [b'a'; 20];
                buf[at] = c;
                let expect = |class| if is(c, class) { 20 } else { at };
                assert_eq!(
                    skip_name(&buf, 0),
                    expect(TOKEN),
                    "name byte {c:#x} at {at}"
                );
                assert_eq!(
                    skip_value(&buf, 0),
                    expect(VALUE),
                    "value byte {c:#x} at {at}"
                );
                assert_eq!(skip_url(&buf, 0), expect(URL), "url byte {c:#x} at {at}");
            }
        }
    }
}
