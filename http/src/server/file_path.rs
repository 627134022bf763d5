//! Mapping a request path to a file under a root directory, as a pure
//! function: percent-decoding, then dot segments resolved as RFC 3986
//! §5.2.4 does, refusing any path that would climb above the root
//! (`/../x`, `/%2e%2e/x`, `/a/%2E%2E/../x`), and any that decodes to a
//! NUL or carries a backslash. Symlinks are not this function's business:
//! the open checks where the file really is (`OpenFileOptions::within`).

use std::path::PathBuf;

/// Why a request path names no file under the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRefused {
    /// A bad percent-escape, a NUL or a backslash: 400.
    Malformed,
    /// It climbs above the root: 400, as nginx answers.
    Outside,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (no `+` to space: that is form encoding).
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The file path, relative to the root, that request path `path` (the
/// target before `?`) names; empty for the root itself. A trailing `/`
/// is kept off: a directory is answered with its index by the open.
///
/// ```
/// use eddy_http::server::{file_path_under_root, PathRefused};
/// assert_eq!(file_path_under_root(b"/a/b/../c%20d.txt").unwrap(), std::path::PathBuf::from("a/c d.txt"));
/// assert_eq!(file_path_under_root(b"/%2e%2e/etc/passwd"), Err(PathRefused::Outside));
/// ```
pub fn file_path_under_root(path: &[u8]) -> Result<PathBuf, PathRefused> {
    use std::os::unix::ffi::OsStrExt;
    let decoded = decode(path).ok_or(PathRefused::Malformed)?;
    if decoded.contains(&0) || decoded.contains(&b'\\') {
        return Err(PathRefused::Malformed);
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                parts.pop().ok_or(PathRefused::Outside)?;
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join(&b'/');
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&joined)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> String {
        file_path_under_root(p.as_bytes())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn resolves_inside() {
        assert_eq!(ok("/"), "");
        assert_eq!(ok(""), "");
        assert_eq!(ok("/index.html"), "index.html");
        assert_eq!(ok("//a///b/"), "a/b");
        assert_eq!(ok("/a/./b/../c"), "a/c");
        assert_eq!(ok("/a/%2e%2e/c"), "c");
        assert_eq!(ok("/caf%C3%A9"), "café");
        assert_eq!(ok("/a..b/..c"), "a..b/..c");
    }

    #[test]
    fn refuses_outside_and_malformed() {
        for p in [
            "/..",
            "/../x",
            "/a/../../x",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/a/%2e%2e/%2e%2e/x",
            "/.%2e/x",
        ] {
            assert_eq!(
                file_path_under_root(p.as_bytes()),
                Err(PathRefused::Outside),
                "{p}"
            );
        }
        for p in ["/a%00b", "/a%2", "/a%zz", "/a\\..\\b", "/%5c"] {
            assert_eq!(
                file_path_under_root(p.as_bytes()),
                Err(PathRefused::Malformed),
                "{p}"
            );
        }
    }
}
