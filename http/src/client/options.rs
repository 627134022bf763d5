//! What a request asks for: Node's `http.request` options, and a parser for
//! `http://host[:port]/path` URLs. `request()` checks them into a
//! `Target` (`target.rs`).

use std::net::IpAddr;
use std::path::PathBuf;

use super::error::{Error, Result};
use super::handles::Agent;

/// Which connection pool a request uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AgentChoice {
    /// The loop's default Agent ([`Agent::global`]), which keeps sockets alive.
    #[default]
    Default,
    /// This Agent.
    Use(Agent),
    /// No Agent (Node's `agent: false`): a fresh connection, sent
    /// `Connection: close` and closed after the response.
    Fresh,
}

impl From<Agent> for AgentChoice {
    fn from(a: Agent) -> AgentChoice {
        AgentChoice::Use(a)
    }
}

/// Options of one request.
///
/// ```
/// use eddy_http::client::{AgentChoice, RequestOptions};
///
/// let opts = RequestOptions {
///     method: "PUT".into(),
///     headers: vec![("Content-Type".into(), "text/plain".into())],
///     agent: AgentChoice::Fresh,
///     ..RequestOptions::from_url("http://127.0.0.1:8080/upload")?
/// };
/// assert_eq!((opts.port, opts.path.as_str()), (8080, "/upload"));
/// # Ok::<(), eddy_http::client::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequestOptions {
    /// Host name or IP literal (default `localhost`).
    pub host: String,
    /// Default 80.
    pub port: u16,
    /// Connect to this Unix-domain socket instead of `host:port`.
    pub socket_path: Option<PathBuf>,
    /// Default `GET`. Any token is sent as given.
    pub method: String,
    /// The request-target, default `/`. For CONNECT, `host:port`.
    pub path: String,
    /// Header lines, sent in this order with their case kept.
    pub headers: Vec<(String, String)>,
    /// Bind the socket to this local address first.
    pub local_address: Option<IpAddr>,
    /// 4 or 6 to resolve `host` to only that family.
    pub family: Option<u8>,
    /// Socket idle timeout in ms while this request uses it (0: the
    /// Agent's `idle_timeout_ms`, none by default). Interim (1xx)
    /// responses do not count as activity. When
    /// it fires, the request's timeout callback runs; without one, the
    /// request fails with [`Error::Timeout`].
    pub timeout_ms: u64,
    /// The connection pool (default: the loop's default Agent).
    pub agent: AgentChoice,
    /// Add a `Host` header when none is given (default true).
    pub set_host: bool,
    /// Send `Expect: 100-continue`: the head goes out at once and the body
    /// waits for `100 Continue` (or is never sent if a final answer comes
    /// first).
    pub expect_continue: bool,
    /// Connect timeout in ms (`None`: the Agent's, 30000 without one; 0:
    /// none). Fails with [`Error::Timeout`] naming it.
    pub connect_timeout_ms: Option<u64>,
    /// Response-head timeout in ms, from the request being sent to the
    /// final response head; interim (1xx) responses do not stop it
    /// (`None`: the Agent's, 30000 without one; 0: none).
    pub head_timeout_ms: Option<u64>,
    /// Total deadline in ms, from `request()` to the response's end
    /// (`None`: the Agent's, none without one; 0: none).
    pub total_timeout_ms: Option<u64>,
    /// Interim (1xx) responses accepted before the final one (default 32).
    pub max_interim: usize,
    /// Bytes of interim heads accepted before the final one (default
    /// 65536).
    pub max_interim_bytes: usize,
    /// Accept any protocol and version the parser knows in the status line
    /// (`RTSP/1.0`, `HTTP/2.0`), as llhttp's lenient-version flag does;
    /// default false: `HTTP/1.x` only. Status codes outside 100-599 are
    /// rejected either way.
    pub lenient_version: bool,
    /// How long a request with `Expect: 100-continue` (the option, or the
    /// header set by the user) waits for `100 Continue` before it sends
    /// its body anyway (default 1000, as curl).
    pub continue_timeout_ms: u64,
}

impl Default for RequestOptions {
    fn default() -> RequestOptions {
        RequestOptions {
            host: "localhost".into(),
            port: 80,
            socket_path: None,
            method: "GET".into(),
            path: "/".into(),
            headers: Vec::new(),
            local_address: None,
            family: None,
            timeout_ms: 0,
            agent: AgentChoice::Default,
            set_host: true,
            expect_continue: false,
            connect_timeout_ms: None,
            head_timeout_ms: None,
            total_timeout_ms: None,
            max_interim: 32,
            max_interim_bytes: 65_536,
            lenient_version: false,
            continue_timeout_ms: 1000,
        }
    }
}

impl RequestOptions {
    /// Options for `http://host[:port][/path]` (IPv6 literals in brackets).
    pub fn from_url(url: &str) -> Result<RequestOptions> {
        let bad = || Error::InvalidUrl(url.to_string());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| bad())?,
            None => 80,
        };
        Ok(RequestOptions {
            host: host.to_string(),
            port,
            path,
            ..RequestOptions::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let o = RequestOptions::from_url("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.path.as_str()),
            ("127.0.0.1", 8080, "/a?b=1")
        );
        let o = RequestOptions::from_url("http://example.com").unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.path.as_str()),
            ("example.com", 80, "/")
        );
        let o = RequestOptions::from_url("http://[::1]:9/x").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 9));
        let o = RequestOptions::from_url("http://h?q").unwrap();
        assert_eq!(o.path, "/?q");
        assert!(RequestOptions::from_url("https://x/").is_err());
        assert!(RequestOptions::from_url("http://x:99999/").is_err());
        assert!(RequestOptions::from_url("http://:80/").is_err());
        assert!(RequestOptions::from_url("http://u@x/").is_err());
    }
}
