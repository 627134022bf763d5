//! Where a request-target's parts are, as a pure function of its bytes:
//! the origin part (path and query) and, for the absolute form
//! (`http://host:port/path?query`, RFC 9112 section 3.2.2), the authority.
//! The raw target is kept as sent; `Request::path` and `Request::query`
//! read the origin part, and the authority takes precedence over `Host`.

use std::ops::Range;

use crate::parser::{split_target, TargetForm};

/// A target's parts, as offsets into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Located {
    /// Where the origin part (path, query, fragment) starts; the target's
    /// length when an absolute-form target has none.
    pub origin: usize,
    /// An absolute-form target's authority (`host[:port]`, with any
    /// userinfo, which the Host check then refuses).
    pub authority: Option<Range<usize>>,
}

/// Locates the parts of `target` (CONNECT's authority form is not
/// located: it is handed off whole).
pub(crate) fn locate(target: &[u8]) -> Located {
    if matches!(target.first(), Some(b'/' | b'*') | None) {
        return Located::default();
    }
    match split_target(target, false) {
        Ok(t) if t.form == TargetForm::Absolute => {
            let origin = t
                .path
                .as_ref()
                .map(|p| p.start)
                .or_else(|| t.query.as_ref().map(|q| q.start - 1))
                .or_else(|| t.fragment.as_ref().map(|f| f.start - 1))
                .unwrap_or(target.len());
            Located {
                origin,
                authority: Some(t.host.unwrap_or(origin..origin)),
            }
        }
        _ => Located::default(),
    }
}

/// The path of an origin part (`/` when an absolute-form target has
/// none): what comes before `?` and `#`.
pub(crate) fn path_of(origin: &str) -> &str {
    let path = origin.split(['?', '#']).next().unwrap_or(origin);
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// The query of an origin part: after `?`, before `#`.
pub(crate) fn query_of(origin: &str) -> Option<&str> {
    let q = origin.split_once('?')?.1;
    Some(q.split('#').next().unwrap_or(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(t: &str) -> (String, &str, Option<&str>) {
        let l = locate(t.as_bytes());
        let auth = l.authority.map(|a| t[a].to_string()).unwrap_or_default();
        let origin = &t[l.origin..];
        (auth, path_of(origin), query_of(origin))
    }

    #[test]
    fn origin_form_is_its_own_origin() {
        assert_eq!(parts("/a/b?x=1#f"), (String::new(), "/a/b", Some("x=1")));
        assert_eq!(parts("*"), (String::new(), "*", None));
    }

    #[test]
    fn absolute_form_gives_authority_path_and_query() {
        assert_eq!(parts("http://x/"), ("x".into(), "/", None));
        assert_eq!(
            parts("http://example.com:8080/p/q?a=1&b=2"),
            ("example.com:8080".into(), "/p/q", Some("a=1&b=2"))
        );
        assert_eq!(parts("http://x"), ("x".into(), "/", None));
        assert_eq!(parts("http://x?a=1"), ("x".into(), "/", Some("a=1")));
        assert_eq!(parts("https://u@h/p"), ("u@h".into(), "/p", None));
        assert_eq!(
            parts("http://[::1]:80/v6"),
            ("[::1]:80".into(), "/v6", None)
        );
    }
}
