//! What a request asks for: Node's `http.request` options, and a parser for
//! `http://host[:port]/path` URLs.

use std::net::IpAddr;
use std::path::PathBuf;

use super::agent::Agent;
use super::error::{Error, Result};
use crate::wire::push_number;

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
    /// Socket idle timeout in ms while this request uses it (0: none). When
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

    /// The Agent's pool key (Node's `getName`): host, port, local address,
    /// family, socket path.
    pub(crate) fn pool_key(&self) -> String {
        use std::io::Write as _;
        // "host:port:local:family:path", built in one allocation (once per
        // request).
        let mut k = Vec::with_capacity(self.host.len() + 32);
        k.extend_from_slice(self.host.as_bytes());
        k.push(b':');
        push_number(&mut k, u64::from(self.port));
        k.push(b':');
        if let Some(a) = self.local_address {
            let _ = write!(k, "{a}");
        }
        k.push(b':');
        if let Some(f) = self.family {
            push_number(&mut k, u64::from(f));
        }
        k.push(b':');
        if let Some(p) = &self.socket_path {
            match p.to_str() {
                Some(p) => k.extend_from_slice(p.as_bytes()),
                // A path that is not UTF-8 goes in as hex, so two such
                // paths never share a pool.
                None => {
                    for b in p.as_os_str().as_encoded_bytes() {
                        let _ = write!(k, "%{b:02x}");
                    }
                }
            }
        }
        String::from_utf8(k).unwrap_or_default()
    }

    /// `Host: value\r\n` written into a request head.
    pub(crate) fn write_host_line(&self, h: &mut Vec<u8>) {
        let v6 = self.host.contains(':');
        h.extend_from_slice(if v6 { b"Host: [" } else { b"Host: " });
        h.extend_from_slice(self.host.as_bytes());
        if v6 {
            h.push(b']');
        }
        if self.port != 80 {
            h.push(b':');
            push_number(h, u64::from(self.port));
        }
        h.extend_from_slice(b"\r\n");
    }

    /// `Host` header value: the port only when it is not 80.
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// How errors name this request: "GET 127.0.0.1:8080/path".
    pub(crate) fn describe(&self) -> String {
        match &self.socket_path {
            Some(p) => format!("{} {}:{}", self.method, p.display(), self.path),
            None => format!("{} {}{}", self.method, self.host_header(), self.path),
        }
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
        assert_eq!(
            (o.host.as_str(), o.port, o.host_header()),
            ("::1", 9, "[::1]:9".into())
        );
        assert!(RequestOptions::from_url("https://x/").is_err());
        assert!(RequestOptions::from_url("http://x:99999/").is_err());
        assert!(RequestOptions::from_url("http://:80/").is_err());
        for (port, line) in [
            (80, "Host: a\r\n"),
            (8080, "Host: a:8080\r\n"),
            (0, "Host: a:0\r\n"),
        ] {
            let o = RequestOptions {
                host: "a".into(),
                port,
                ..RequestOptions::default()
            };
            let mut h = Vec::new();
            o.write_host_line(&mut h);
            assert_eq!(String::from_utf8(h).unwrap(), line);
        }
        let o = RequestOptions {
            port: 65535,
            ..RequestOptions::default()
        };
        assert!(o.pool_key().starts_with("localhost:65535:"));
    }
}
