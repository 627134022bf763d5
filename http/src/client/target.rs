//! A request as `request()` checked it: what it asks for (method, target,
//! header lines) and where it goes (host and port, or a Unix socket). The
//! Agent's pool key, the `Host` line and the name errors give a request
//! ("GET 127.0.0.1:8080/path") are derived from it here.

use std::net::IpAddr;
use std::path::PathBuf;

use super::error::{Error, Result};
use crate::h1::{is_field_value, is_token, is_valid_host, HeaderList};
use crate::wire::push_number;

/// Where a request goes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Destination {
    pub host: String,
    pub port: u16,
    /// A Unix-domain socket instead of `host:port`.
    pub socket_path: Option<PathBuf>,
    pub local_address: Option<IpAddr>,
    pub family: Option<u8>,
}

/// What the request's own header lines ask of the connection, noted once
/// per line as it is added.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Asks {
    /// `Expect: 100-continue` (or the `expect_continue` option).
    pub expect_continue: bool,
    /// An `Upgrade` header: a 101 is expected, not an error.
    pub upgrade: bool,
    /// `Connection: close`: the socket is not pooled after the response.
    pub close: bool,
}

/// A checked request.
#[derive(Debug, Default)]
pub(crate) struct Target {
    pub method: String,
    pub path: String,
    pub dest: Destination,
    /// Header lines in order, case kept, bytes as given.
    pub headers: HeaderList,
    pub asks: Asks,
    /// Add `Host` when the lines have none.
    pub set_host: bool,
    /// The `expect_continue` option (asked whatever the lines say).
    pub expect_option: bool,
}

/// Whether `name: value` may go on the wire as a header line (a token,
/// and an RFC 9110 field-value: no CR, LF or other control bytes).
pub(crate) fn check_header(name: &[u8], value: &[u8]) -> Result<()> {
    if is_token(name) && is_field_value(value) {
        Ok(())
    } else {
        Err(Error::InvalidHeader(
            String::from_utf8_lossy(name).into_owned(),
        ))
    }
}

impl Target {
    /// Checks method, path, host and header lines, and notes what the
    /// lines ask.
    #[cfg(test)]
    pub fn new(
        method: String,
        path: String,
        dest: Destination,
        headers: Vec<(String, String)>,
        set_host: bool,
        expect_continue: bool,
    ) -> Result<Target> {
        let mut t = Target::default();
        t.renew(method, path, dest, headers, set_host, expect_continue)?;
        Ok(t)
    }

    /// [`new`](Self::new) into a record used before (its header buffer
    /// kept): a request through a recycled record allocates nothing
    /// for it. Left as it was when a check fails.
    pub fn renew(
        &mut self,
        method: String,
        path: String,
        dest: Destination,
        headers: Vec<(String, String)>,
        set_host: bool,
        expect_continue: bool,
    ) -> Result<()> {
        if !is_token(method.as_bytes()) {
            return Err(Error::InvalidMethod(method));
        }
        if path.is_empty() || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::InvalidUrl(path));
        }
        // The host goes into the Host header: nothing that could end the
        // line or change what the authority means. It is bare (an IPv6
        // literal gets its brackets in the Host line).
        let bad_host = !is_valid_host(dest.host.as_bytes()) || dest.host.contains(['[', ']']);
        if bad_host {
            return Err(Error::InvalidUrl(dest.host));
        }
        for (n, v) in &headers {
            check_header(n.as_bytes(), v.as_bytes())?;
        }
        self.method = method;
        self.path = path;
        self.dest = dest;
        self.headers.clear();
        self.asks = Asks {
            expect_continue,
            ..Asks::default()
        };
        self.set_host = set_host;
        self.expect_option = expect_continue;
        for (n, v) in &headers {
            self.push_header(n.as_bytes(), v.as_bytes());
        }
        Ok(())
    }

    /// Replaces every line named `name` with this checked one.
    pub fn set_header(&mut self, name: &[u8], value: &[u8]) {
        self.remove_header(name);
        self.push_header(name, value);
    }

    /// Removes every line named `name`, and what they asked.
    pub fn remove_header(&mut self, name: &[u8]) {
        self.headers.remove(name);
        let kept = std::mem::take(&mut self.headers);
        self.asks = Asks {
            expect_continue: self.expect_option,
            ..Asks::default()
        };
        for (n, v) in kept.iter() {
            // Names were checked as tokens when added: ASCII.
            self.push_header(n, v);
        }
    }

    /// Adds a checked header line and notes what it asks.
    pub fn push_header(&mut self, name: &[u8], value: &[u8]) {
        let value = value.trim_ascii();
        if name.eq_ignore_ascii_case(b"expect") && value.eq_ignore_ascii_case(b"100-continue") {
            self.asks.expect_continue = true;
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            self.asks.upgrade = true;
        } else if name.eq_ignore_ascii_case(b"connection")
            && value.windows(5).any(|w| w.eq_ignore_ascii_case(b"close"))
        {
            self.asks.close = true;
        }
        self.headers.push(name, value);
    }

    /// Methods a request may send twice: a reused socket that hangs up
    /// before answering gets them retried on a fresh one.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
        )
    }

    /// How errors name this request: "GET 127.0.0.1:8080/path".
    pub fn describe(&self) -> String {
        match &self.dest.socket_path {
            Some(p) => format!("{} {}:{}", self.method, p.display(), self.path),
            None => format!("{} {}{}", self.method, self.dest.host_header(), self.path),
        }
    }
}

impl Destination {
    /// Writes the Agent's pool key (Node's `getName`) into `k`: host,
    /// port, local address, family, socket path, as
    /// "host:port:local:family:path". Into a reused buffer: a key already
    /// pooled is then found without allocating.
    pub fn write_pool_key(&self, k: &mut Vec<u8>) {
        use std::io::Write as _;
        k.clear();
        k.extend_from_slice(self.host.as_bytes());
        k.push(b':');
        push_number(k, u64::from(self.port));
        k.push(b':');
        if let Some(a) = self.local_address {
            let _ = write!(k, "{a}");
        }
        k.push(b':');
        if let Some(f) = self.family {
            push_number(k, u64::from(f));
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
    }

    /// `Host: value\r\n` written into a request head.
    pub fn write_host_line(&self, h: &mut Vec<u8>) {
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
    pub fn host_header(&self) -> String {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(host: &str, port: u16) -> Destination {
        Destination {
            host: host.into(),
            port,
            socket_path: None,
            local_address: None,
            family: None,
        }
    }

    #[test]
    fn host_lines_keys_and_checks() {
        for (port, line) in [
            (80, "Host: a\r\n"),
            (8080, "Host: a:8080\r\n"),
            (0, "Host: a:0\r\n"),
        ] {
            let mut h = Vec::new();
            dest("a", port).write_host_line(&mut h);
            assert_eq!(String::from_utf8(h).unwrap(), line);
        }
        assert_eq!(dest("::1", 9).host_header(), "[::1]:9");
        let mut k = b"left over".to_vec();
        dest("localhost", 65535).write_pool_key(&mut k);
        assert_eq!(k, b"localhost:65535:::");
        let t = |m: &str, p: &str, h: &str| {
            Target::new(m.into(), p.into(), dest(h, 80), Vec::new(), true, false)
        };
        assert!(t("GET", "/", "a").is_ok());
        assert!(matches!(t("G T", "/", "a"), Err(Error::InvalidMethod(_))));
        assert!(matches!(t("GET", "/a b", "a"), Err(Error::InvalidUrl(_))));
        assert!(matches!(
            t("GET", "/", "a\r\nX: y"),
            Err(Error::InvalidUrl(_))
        ));
        let headers = vec![("Connection".into(), "Close".into())];
        let t = Target::new(
            "GET".into(),
            "/".into(),
            dest("a", 80),
            headers,
            true,
            false,
        );
        assert!(t.unwrap().asks.close);
    }
}
