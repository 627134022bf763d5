//! llhttp-compatible message flag bits, as returned by `Parser::flags`.

pub const CONNECTION_KEEP_ALIVE: u16 = 1 << 0;
pub const CONNECTION_CLOSE: u16 = 1 << 1;
pub const CONNECTION_UPGRADE: u16 = 1 << 2;
pub const CHUNKED: u16 = 1 << 3;
pub const UPGRADE: u16 = 1 << 4;
pub const CONTENT_LENGTH: u16 = 1 << 5;
pub const SKIPBODY: u16 = 1 << 6;
pub const TRAILING: u16 = 1 << 7;
pub const TRANSFER_ENCODING: u16 = 1 << 9;
