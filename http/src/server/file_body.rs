//! A response body that is a range of an open file, waiting in its
//! exchange until the exchange reaches the front of the connection's
//! queue; then it goes to the stream with `sendfile(2)` (`file_output.rs`).

use std::fs::File;

/// Bytes `offset..offset + len` of `file`.
pub(crate) struct FileBody {
    pub file: File,
    pub offset: u64,
    pub len: u64,
}
