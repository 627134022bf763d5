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
