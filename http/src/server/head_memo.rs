//! The head a response record composed last, kept with what it was
//! composed from besides its header lines. A response whose lines were
//! taken back whole from the record's last response (a `write_head` that
//! set the same lines) and whose status, framing, keep-alive, `Keep-Alive`
//! timeout and `Date` second are the same has the same head, byte for
//! byte: it is copied, not encoded again.

use crate::h1::Decision;

/// Heads longer than this are not kept (a pooled record holds on to it).
const KEEP_BYTES: usize = 1024;

/// Everything a server head is composed from besides its header lines
/// and the standard reason phrase of its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadKey {
    pub status: u16,
    pub decision: Decision,
    pub keep_alive_secs: Option<u64>,
    /// The second of the `Date` line eddy added; none when the user set one.
    pub date_second: Option<u64>,
}

/// The last head a record composed, and from what.
#[derive(Default)]
pub(crate) struct HeadMemo {
    key: Option<HeadKey>,
    bytes: Vec<u8>,
}

impl HeadMemo {
    /// The head composed from `key` (and the lines it was kept with).
    pub fn get(&self, key: &HeadKey) -> Option<&[u8]> {
        (self.key.as_ref() == Some(key)).then_some(&self.bytes[..])
    }

    /// Keeps `bytes`, the head composed from `key`; a long one is not kept.
    pub fn keep(&mut self, key: HeadKey, bytes: &[u8]) {
        if bytes.len() > KEEP_BYTES {
            *self = HeadMemo::default();
            return;
        }
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        self.key = Some(key);
    }

    /// Forgets the head: the lines it was composed from are gone.
    pub fn forget(&mut self) {
        self.key = None;
    }
}
