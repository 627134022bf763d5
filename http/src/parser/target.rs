//! A request-target splitter: origin-form, absolute-form, authority-form and
//! asterisk-form, into schema, host (authority), port, path, query and fragment.
//! It follows the same grammar the parser validates with, so a target the
//! parser accepted always splits.

use std::ops::Range;

use super::settings::Scan;
use super::simd::Level;
use super::state::UrlState;
use super::url::{skip_url_chars, url_step, UrlStep};

/// The four request-target forms of RFC 9112 section 3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://host:port/path?query`
    Absolute,
    /// `host:port` (CONNECT)
    Authority,
    /// `*` (OPTIONS)
    Asterisk,
}

/// Byte ranges of a target's components within the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Which of RFC 9112's four forms the target has.
    pub form: TargetForm,
    /// The scheme of an absolute-form target (`http`).
    pub schema: Option<Range<usize>>,
    /// The whole authority (userinfo, host and port), as llhttp reports it.
    pub host: Option<Range<usize>>,
    /// The host name inside the authority, without userinfo and port.
    pub hostname: Option<Range<usize>>,
    /// The port in the authority, if one was given.
    pub port: Option<u16>,
    /// The path, from its leading `/`.
    pub path: Option<Range<usize>>,
    /// The query, without its `?`.
    pub query: Option<Range<usize>>,
    /// The fragment, without its `#`.
    pub fragment: Option<Range<usize>>,
}

/// Why a target did not split; `partial` holds the components that ended before the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// Where the target went wrong, from its start.
    pub offset: usize,
    /// Why.
    pub reason: &'static str,
    /// The components that ended before the error.
    pub partial: Box<Target>,
}

/// Split a complete request-target. `connect` selects authority-form (CONNECT).
pub fn split_target(url: &[u8], connect: bool) -> Result<Target, TargetError> {
    let mut t = Target {
        form: if connect {
            TargetForm::Authority
        } else {
            TargetForm::Origin
        },
        schema: None,
        host: None,
        hostname: None,
        port: None,
        path: None,
        query: None,
        fragment: None,
    };
    let mut state = if connect {
        UrlState::Server
    } else {
        UrlState::Start
    };
    let mut start = 0;
    let mut p = 0;
    let error = |t: Target, offset, reason| TargetError {
        offset,
        reason,
        partial: Box::new(t),
    };
    let scan = Level::resolve(Scan::Auto);
    loop {
        if matches!(state, UrlState::Path | UrlState::Query | UrlState::Fragment) {
            p = skip_url_chars(scan, url, p);
        }
        if p == url.len() {
            break;
        }
        match url_step(state, url[p]) {
            UrlStep::Stay => {}
            UrlStep::End => return Err(error(t, p, "Unexpected end of url")),
            UrlStep::Error(after, reason) => return Err(error(t, p + after as usize, reason)),
            UrlStep::To(next) => {
                match (state, next) {
                    (UrlState::Start, UrlState::Path) => {
                        if url[p] == b'*' {
                            t.form = TargetForm::Asterisk;
                        }
                        start = p;
                    }
                    (UrlState::Start, UrlState::Schema) => {
                        t.form = TargetForm::Absolute;
                        start = p;
                    }
                    (UrlState::Schema, _) => t.schema = Some(start..p),
                    (UrlState::SchemaSlash2, _) => start = p + 1,
                    (UrlState::Server | UrlState::ServerWithAt, UrlState::Path) => {
                        t.host = Some(start..p);
                        start = p;
                    }
                    (UrlState::Server | UrlState::ServerWithAt, UrlState::Query) => {
                        t.host = Some(start..p);
                        start = p + 1;
                    }
                    (UrlState::Path, _) => {
                        t.path = Some(start..p);
                        start = p + 1;
                    }
                    (UrlState::Query, _) => {
                        t.query = Some(start..p);
                        start = p + 1;
                    }
                    _ => {}
                }
                state = next;
            }
        }
        p += 1;
    }
    let end = Some(start..p);
    match state {
        UrlState::Server | UrlState::ServerWithAt => t.host = end,
        UrlState::Path => t.path = end,
        UrlState::Query => t.query = end,
        UrlState::Fragment => t.fragment = end,
        _ => return Err(error(t, p, "Unexpected end of url")),
    }
    if let Some(host) = t.host.clone() {
        split_authority(url, host, &mut t)?;
    }
    Ok(t)
}

/// Find the host name and port inside `userinfo@host:port`.
fn split_authority(url: &[u8], host: Range<usize>, t: &mut Target) -> Result<(), TargetError> {
    let auth = &url[host.clone()];
    let at = auth.iter().rposition(|&c| c == b'@').map_or(0, |i| i + 1);
    let name_start = host.start + at;
    let rest = &url[name_start..host.end];
    // An IPv6 literal's colons are inside the brackets.
    let search_from = if rest.first() == Some(&b'[') {
        rest.iter()
            .position(|&c| c == b']')
            .map_or(rest.len(), |i| i + 1)
    } else {
        0
    };
    let colon = rest[search_from..]
        .iter()
        .position(|&c| c == b':')
        .map(|i| i + search_from);
    let name_end = colon.map_or(host.end, |i| name_start + i);
    t.hostname = Some(name_start..name_end);
    if let Some(i) = colon {
        let digits = &rest[i + 1..];
        let port = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<u16>().ok());
        match port {
            Some(port) if !digits.is_empty() => t.port = Some(port),
            _ if digits.is_empty() => {}
            _ => {
                return Err(TargetError {
                    offset: name_start + i + 1,
                    reason: "Invalid port in url",
                    partial: Box::new(t.clone()),
                })
            }
        }
    }
    Ok(())
}
