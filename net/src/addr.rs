//! Addresses a stream or listener can have: an IP socket address or a
//! Unix-domain path.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::sys::SockAddr;

/// Where a socket is bound or connected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address and port.
    Ip(SocketAddr),
    /// A Unix-domain socket path.
    Unix(PathBuf),
}

impl Address {
    /// The IP address, if this is one.
    pub fn ip(&self) -> Option<SocketAddr> {
        match self {
            Address::Ip(a) => Some(*a),
            Address::Unix(_) => None,
        }
    }

    /// The IP address alone as text, as Node's `remoteAddress` gives it
    /// (`127.0.0.1`, `::1`), for `X-Forwarded-For` or logs; `None` for a
    /// Unix path. IPv4 is written digit by digit: `Ipv4Addr`'s `Display`
    /// costs some 1 500 instructions, many times the rest of this.
    ///
    /// ```
    /// use eddy_net::Address;
    /// let a = Address::from(std::net::SocketAddr::from(([10, 0, 255, 7], 80)));
    /// assert_eq!(a.ip_text().as_deref(), Some("10.0.255.7"));
    /// ```
    pub fn ip_text(&self) -> Option<String> {
        match self {
            Address::Ip(SocketAddr::V4(a)) => {
                let mut out = String::with_capacity(15);
                for (i, octet) in a.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    if octet >= 100 {
                        out.push(char::from(b'0' + octet / 100));
                    }
                    if octet >= 10 {
                        out.push(char::from(b'0' + octet / 10 % 10));
                    }
                    out.push(char::from(b'0' + octet % 10));
                }
                Some(out)
            }
            Address::Ip(SocketAddr::V6(a)) => Some(a.ip().to_string()),
            Address::Unix(_) => None,
        }
    }

    pub(crate) fn from_sys(addr: &SockAddr) -> Option<Address> {
        addr.to_ip()
            .map(Address::Ip)
            .or_else(|| addr.to_path().map(Address::Unix))
    }

    pub(crate) fn to_sys(&self) -> std::io::Result<SockAddr> {
        match self {
            Address::Ip(a) => Ok(SockAddr::from_ip(a)),
            Address::Unix(p) => SockAddr::from_path(p),
        }
    }

    pub(crate) fn domain(&self) -> i32 {
        match self {
            Address::Ip(SocketAddr::V4(_)) => libc::AF_INET,
            Address::Ip(SocketAddr::V6(_)) => libc::AF_INET6,
            Address::Unix(_) => libc::AF_UNIX,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(a) => write!(f, "{a}"),
            Address::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Address {
        Address::Ip(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// `ip_text` is `Display` of the IP, for every octet in every place.
    #[test]
    fn ip_text_is_the_ip_displayed() {
        for place in 0..4 {
            for octet in 0..=255u8 {
                let mut o = [1, 22, 133, 4];
                o[place] = octet;
                let ip = Ipv4Addr::from(o);
                let a = Address::from(SocketAddr::from((ip, 8080)));
                assert_eq!(a.ip_text(), Some(ip.to_string()));
            }
        }
        let v6 = Address::from(SocketAddr::from((Ipv6Addr::LOCALHOST, 1)));
        assert_eq!(v6.ip_text().as_deref(), Some("::1"));
        assert_eq!(Address::Unix(PathBuf::from("/tmp/s")).ip_text(), None);
    }
}
