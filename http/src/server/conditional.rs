//! Validators and conditional requests (RFC 9110 §8.8, §13): a strong
//! `ETag` made from a file's inode, size and modification time, HTTP-date
//! parsing for `If-Modified-Since` and `If-Range`, and the entity-tag
//! comparisons of `If-None-Match` (weak) and `If-Range` (strong).

/// A strong entity-tag for a file: it changes whenever the file is
/// replaced (inode), resized or touched (mtime, to the nanosecond).
///
/// ```
/// assert_eq!(eddy_http::server::file_etag(0x1f, 5, 1_700_000_000, 7), "\"1f-5-6553f100.7\"");
/// ```
pub fn file_etag(inode: u64, size: u64, mtime_secs: i64, mtime_nsecs: u32) -> String {
    format!(
        "\"{inode:x}-{size:x}-{:x}.{mtime_nsecs:x}\"",
        mtime_secs as u64
    )
}

/// The entity-tags of an `If-None-Match`/`If-Match` list (`W/` kept),
/// or None for `*`. Malformed members end the list.
fn tags(value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < value.len() && matches!(value[*i], b' ' | b'\t' | b',') {
            *i += 1;
        }
    };
    skip(&mut i);
    if value[i..].starts_with(b"*") {
        return None;
    }
    while i < value.len() {
        let start = i;
        if value[i..].starts_with(b"W/") {
            i += 2;
        }
        if value.get(i) != Some(&b'"') {
            break;
        }
        let Some(close) = value[i + 1..].iter().position(|&b| b == b'"') else {
            break;
        };
        i += close + 2;
        out.push(&value[start..i]);
        skip(&mut i);
    }
    Some(out)
}

fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

/// Whether `If-None-Match: value` matches `etag` (weak comparison: `W/`
/// is ignored on both sides; `*` matches any existing file).
pub fn none_match(value: &[u8], etag: &str) -> bool {
    match tags(value) {
        None => true,
        Some(list) => list.iter().any(|t| opaque(t) == opaque(etag.as_bytes())),
    }
}

/// Whether an `If-Range` entity-tag matches `etag` (strong comparison:
/// a weak tag never matches).
pub fn strong_match(tag: &[u8], etag: &str) -> bool {
    !tag.starts_with(b"W/") && tag == etag.as_bytes()
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(t: &[u8]) -> Option<u32> {
    if t.is_empty() || t.len() > 4 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(t).ok()?.parse().ok()
}

fn month(t: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(t))
        .map(|i| i as u32 + 1)
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) into seconds since the epoch:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete
/// forms a recipient must accept (RFC 850 `Sunday, 06-Nov-94 08:49:37
/// GMT`, asctime `Sun Nov  6 08:49:37 1994`). None if it is none of them.
///
/// ```
/// use eddy_http::server::parse_http_date;
/// assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_http_date(b"Sun Nov  6 08:49:37 1994"), Some(784_111_777));
/// ```
pub fn parse_http_date(value: &[u8]) -> Option<i64> {
    let t: Vec<&[u8]> = value
        .split(|&b| matches!(b, b' ' | b',' | b'-' | b':'))
        .filter(|t| !t.is_empty())
        .collect();
    let (y, mo, d, hh, mm, ss) = match t.as_slice() {
        [_, d, mo, y, hh, mm, ss, gmt] if gmt.eq_ignore_ascii_case(b"GMT") => {
            let y = num(y)?;
            // RFC 850's two-digit year: 50 and later is the last century.
            let y = match (y, y < 100) {
                (y, true) if y >= 50 => y + 1900,
                (y, true) => y + 2000,
                (y, false) => y,
            };
            (y, month(mo)?, num(d)?, num(hh)?, num(mm)?, num(ss)?)
        }
        [_, mo, d, hh, mm, ss, y] => (num(y)?, month(mo)?, num(d)?, num(hh)?, num(mm)?, num(ss)?),
        _ => return None,
    };
    if !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some(days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::format_imf_fixdate;

    #[test]
    fn dates_round_trip() {
        for secs in [0u64, 784_111_777, 951_782_400, 1_795_308_800, 4_102_444_799] {
            let text = format_imf_fixdate(secs);
            assert_eq!(
                parse_http_date(text.as_bytes()),
                Some(secs as i64),
                "{text}"
            );
        }
        assert_eq!(
            parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            &b""[..],
            b"yesterday",
            b"Sun, 06 Nov 1994 08:49:37 PST",
            b"Sun, 32 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Now 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 25:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn if_none_match() {
        let tag = "\"abc\"";
        assert!(none_match(b"\"abc\"", tag));
        assert!(none_match(b"W/\"abc\"", tag));
        assert!(none_match(b"\"x\", W/\"abc\"", tag));
        assert!(none_match(b"\"a,b\",\"abc\"", tag));
        assert!(none_match(b"*", tag));
        assert!(none_match(b" * ", tag));
        assert!(!none_match(b"\"abd\"", tag));
        assert!(!none_match(b"abc", tag));
        assert!(!none_match(b"", tag));
        assert!(!none_match(b"\"ab", tag));
    }

    #[test]
    fn strong_comparison() {
        assert!(strong_match(b"\"abc\"", "\"abc\""));
        assert!(!strong_match(b"W/\"abc\"", "\"abc\""));
        assert!(!strong_match(b"\"abd\"", "\"abc\""));
    }

    #[test]
    fn etags_differ_by_each_part() {
        let base = file_etag(1, 2, 3, 4);
        assert_ne!(base, file_etag(9, 2, 3, 4));
        assert_ne!(base, file_etag(1, 9, 3, 4));
        assert_ne!(base, file_etag(1, 2, 9, 4));
        assert_ne!(base, file_etag(1, 2, 3, 9));
        assert!(base.starts_with('"') && base.ends_with('"'));
    }
}
