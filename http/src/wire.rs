//! Small pieces for writing HTTP/1.1 heads, shared by the server and the
//! client: header lines, decimal numbers without `fmt` (once per message,
//! the formatting machinery costs more than the number), byte-class tables.

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

    #[test]
    fn numbers_and_tables() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 65535, u64::MAX] {
            out.clear();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        let t = byte_table(b"-");
        assert!(t[b'a' as usize] && t[b'Z' as usize] && t[b'5' as usize] && t[b'-' as usize]);
        assert!(!t[b' ' as usize] && !t[b'_' as usize] && !t[0x80]);
    }
}
