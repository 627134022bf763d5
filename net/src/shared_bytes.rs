//! [`SharedBytes`]: an immutable, reference-counted byte buffer (or a range
//! of one) that many streams can queue at once without a copy.
//!
//! `Stream::write` copies what the kernel does not take at once, so a
//! server that sends the same 64 KiB block to 4000 slow readers would keep
//! 4000 copies of it. `Stream::write_shared` queues a `SharedBytes`
//! instead: each queue entry holds a counted reference and a range, and
//! the block itself exists once. The count is an `Rc`'s (not atomic): a
//! loop and its streams live on one thread.

use std::fmt;
use std::ops::{Bound, Deref, RangeBounds};
use std::rc::Rc;

/// A cheap-to-clone view of an immutable, reference-counted byte buffer.
/// Cloning and [`slice`](SharedBytes::slice) copy no bytes.
#[derive(Clone)]
pub struct SharedBytes {
    buf: Rc<[u8]>,
    start: usize,
    end: usize,
}

impl SharedBytes {
    /// The whole of `buf`.
    pub fn new(buf: Rc<[u8]>) -> SharedBytes {
        let end = buf.len();
        SharedBytes { buf, start: 0, end }
    }

    /// A view of `range` (relative to this view) of the same buffer.
    ///
    /// # Panics
    /// If the range is out of bounds or decreasing, as slicing panics.
    pub fn slice(&self, range: impl RangeBounds<usize>) -> SharedBytes {
        let len = self.len();
        let from = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n + 1,
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(&n) => n + 1,
            Bound::Excluded(&n) => n,
            Bound::Unbounded => len,
        };
        assert!(
            from <= to && to <= len,
            "range {from}..{to} out of bounds of {len} shared bytes"
        );
        SharedBytes {
            buf: self.buf.clone(),
            start: self.start + from,
            end: self.start + to,
        }
    }

    /// The bytes of this view.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// How many bytes this view spans.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether this view spans no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The whole underlying buffer (e.g. to count its references).
    pub fn buffer(&self) -> &Rc<[u8]> {
        &self.buf
    }

    /// Drops `n` bytes from the front of the view (at most its length).
    pub(crate) fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Rc<[u8]>> for SharedBytes {
    fn from(buf: Rc<[u8]>) -> SharedBytes {
        SharedBytes::new(buf)
    }
}

/// Moves the bytes into a shared buffer (one copy, once).
impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> SharedBytes {
        SharedBytes::new(v.into())
    }
}

/// Copies the bytes into a shared buffer, once.
impl From<&[u8]> for SharedBytes {
    fn from(b: &[u8]) -> SharedBytes {
        SharedBytes::new(b.into())
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBytes")
            .field("range", &(self.start..self.end))
            .field("buffer_len", &self.buf.len())
            .field("refs", &Rc::strong_count(&self.buf))
            .finish()
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &SharedBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SharedBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_share_one_buffer() {
        let block: Rc<[u8]> = (0u8..=99).collect::<Vec<_>>().into();
        let all = SharedBytes::new(block.clone());
        let mid = all.slice(10..20);
        let tail = mid.slice(5..);
        assert_eq!(&*mid, &block[10..20]);
        assert_eq!(&*tail, &block[15..20]);
        assert_eq!(Rc::strong_count(&block), 4);
        let mut t = tail.clone();
        t.advance(3);
        assert_eq!(&*t, &[18, 19]);
        t.advance(10);
        assert!(t.is_empty());
        assert_eq!(all.slice(..=0).as_slice(), &[0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn a_range_past_the_end_panics() {
        let _ = SharedBytes::from(vec![1, 2, 3]).slice(2..4);
    }
}
