//! What one entry of a stream's write queue holds: bytes the queue owns,
//! bytes shared with other streams ([`SharedBytes`]), or a range of a file
//! that goes out with `sendfile(2)`, never passing through user memory.

use std::os::fd::AsFd;

use crate::shared_bytes::SharedBytes;

/// A range of a file still to send: `offset..end`. The descriptor is the
/// caller's (a `File`, an `OwnedFd`, an `Rc<File>` shared by many streams):
/// `sendfile` is given the offset, so the file's own position never moves.
pub(crate) struct FileRange {
    pub file: Box<dyn AsFd>,
    pub offset: u64,
    pub end: u64,
}

/// The data of one queued write.
pub(crate) enum Payload {
    /// Owned bytes, `offset` of them already written.
    Owned { bytes: Vec<u8>, offset: usize },
    /// A view of a shared buffer, advanced as it is written.
    Shared(SharedBytes),
    /// A file range.
    File(FileRange),
}

impl Payload {
    /// Bytes still to write.
    pub fn remaining(&self) -> usize {
        match self {
            Payload::Owned { bytes, offset } => bytes.len() - offset,
            Payload::Shared(b) => b.len(),
            Payload::File(f) => usize::try_from(f.end - f.offset).unwrap_or(usize::MAX),
        }
    }

    /// The bytes still to write, for a payload that is in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Payload::Owned { bytes, offset } => Some(&bytes[*offset..]),
            Payload::Shared(b) => Some(b.as_slice()),
            Payload::File(_) => None,
        }
    }

    /// Marks `n` more bytes written (at most what remains).
    pub fn advance(&mut self, n: usize) {
        match self {
            Payload::Owned { bytes, offset } => *offset = (*offset + n).min(bytes.len()),
            Payload::Shared(b) => b.advance(n),
            Payload::File(f) => f.offset = f.offset.saturating_add(n as u64).min(f.end),
        }
    }
}
