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
pub(crate) static CLASS: [u8; 256] = build();

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
