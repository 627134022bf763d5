//! llhttp-compatible message flag bits, as returned by `Parser::flags`.

/// `Connection: keep-alive` was seen.
pub const CONNECTION_KEEP_ALIVE: u16 = 1 << 0;
/// `Connection: close` was seen.
pub const CONNECTION_CLOSE: u16 = 1 << 1;
/// `Connection: upgrade` was seen.
pub const CONNECTION_UPGRADE: u16 = 1 << 2;
/// The body is chunked (`Transfer-Encoding` ends in `chunked`).
pub const CHUNKED: u16 = 1 << 3;
/// An `Upgrade` header was seen.
pub const UPGRADE: u16 = 1 << 4;
/// A `Content-Length` header was seen.
pub const CONTENT_LENGTH: u16 = 1 << 5;
/// The message has no body whatever its headers say (HEAD response, 1xx, 204, 304).
pub const SKIPBODY: u16 = 1 << 6;
/// The trailer section after the last chunk is being read.
pub const TRAILING: u16 = 1 << 7;
/// A `Transfer-Encoding` header was seen.
pub const TRANSFER_ENCODING: u16 = 1 << 9;
