//! The header names the HTTP/1 machinery looks for, each kept as a
//! [`KnownName`] (compared a word at a time, whatever the case): one list
//! for `facts` and `forward` alike.

use crate::wire::KnownName;

pub(super) const HOST: KnownName = KnownName::new(b"host");
pub(super) const DATE: KnownName = KnownName::new(b"date");
pub(super) const EXPECT: KnownName = KnownName::new(b"expect");
pub(super) const CONNECTION: KnownName = KnownName::new(b"connection");
pub(super) const CONTENT_LENGTH: KnownName = KnownName::new(b"content-length");
pub(super) const TRANSFER_ENCODING: KnownName = KnownName::new(b"transfer-encoding");
pub(super) const KEEP_ALIVE: KnownName = KnownName::new(b"keep-alive");
pub(super) const TRAILER: KnownName = KnownName::new(b"trailer");
pub(super) const UPGRADE: KnownName = KnownName::new(b"upgrade");
/// The prefix of the `Proxy-*` fields.
pub(super) const PROXY_PREFIX: KnownName = KnownName::new(b"proxy-");
