//! Writes that copy nothing into the queue: shared buffers
//! ([`Stream::write_shared`]) and file ranges sent with `sendfile(2)`
//! ([`Stream::send_file`]).
//!
//! Both are ordinary entries of the stream's write queue (see
//! `write.rs`): they go out in order with every other write, count toward
//! the high-water mark, arm EPOLLOUT only while queued, complete from the
//! pending phase, and fail like any write (the callback gets the error,
//! later writes fail at once, a reader that is not reading is told).

use std::io;
use std::os::fd::AsFd;

use eddy_loop::Loop;

use crate::error::{Error, Result};
use crate::payload::{FileRange, Payload};
use crate::shared_bytes::SharedBytes;
use crate::stream::Stream;
use crate::sys;
use crate::write::{write_data, Data, Written};

impl Stream {
    /// Queues a view of a shared buffer without copying it: the queue keeps
    /// a reference until the bytes are written. Many streams can send the
    /// same block this way (one 64 KiB block for 4000 slow readers is
    /// 64 KiB, not 256 MiB). Returns false once the queue holds the
    /// high-water mark or more, as [`Stream::write`] does.
    ///
    /// ```no_run
    /// # fn f(lp: &mut eddy_loop::Loop, streams: &[eddy_net::Stream]) {
    /// use eddy_net::SharedBytes;
    ///
    /// let block = SharedBytes::from(vec![b'x'; 64 * 1024]);
    /// for s in streams {
    ///     let _ = s.write_shared(lp, block.clone());
    /// }
    /// # }
    /// ```
    pub fn write_shared(self, lp: &mut Loop, bytes: impl Into<SharedBytes>) -> Result<bool> {
        let bytes = bytes.into();
        write_data(lp, self, Data::Queued(Payload::Shared(bytes)), None).map(Written::below_mark)
    }

    /// Like [`Stream::write_shared`], with `cb` run from the pending phase
    /// once every byte is handed to the kernel, or with the error
    /// ([`Error::Cancelled`] if the stream is closed first).
    pub fn write_shared_with(
        self,
        lp: &mut Loop,
        bytes: impl Into<SharedBytes>,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<bool> {
        let bytes = bytes.into();
        write_data(
            lp,
            self,
            Data::Queued(Payload::Shared(bytes)),
            Some(Box::new(cb)),
        )
        .map(Written::below_mark)
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile(2)`: the
    /// kernel moves them from the page cache to the socket, never through
    /// user memory. `file` is kept until the range is sent: a `File`, an
    /// `OwnedFd`, or an `Rc<File>` shared by many streams (the file's own
    /// position is never used or moved).
    ///
    /// The range is queued after what is already queued and before what is
    /// written later; its bytes count toward the high-water mark, so the
    /// return value and the drain callback work as for [`Stream::write`]
    /// (a range larger than the mark returns false: wait for the drain, or
    /// for `cb`). At most 4 MiB of file data go out per writable event, so
    /// one fast reader cannot hold the loop. `cb` runs from the pending
    /// phase once the last byte is handed to the kernel, or with the error.
    ///
    /// Fails at once (nothing queued, `cb` dropped) if `file` is not a
    /// regular file or the range goes past its end. Should the file shrink
    /// while it is being sent, the write fails with `ENODATA`: the bytes
    /// promised cannot be sent, and the stream is failed like any write.
    ///
    /// `sendfile` reads the file on this thread: a page not in the cache is
    /// read from disk while the loop waits, as with nginx's `sendfile on`
    /// without `aio`.
    pub fn send_file(
        self,
        lp: &mut Loop,
        file: impl AsFd + 'static,
        offset: u64,
        len: u64,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<bool> {
        let stat = sys::fstat(file.as_fd()).map_err(|e| Error::io("fstat", "file", e))?;
        if !stat.regular {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
            return Err(Error::io("sendfile", "file", e));
        }
        let end = offset.checked_add(len).filter(|&end| end <= stat.size);
        let Some(end) = end else {
            let msg = format!(
                "range {offset}+{len} past the end of a {}-byte file",
                stat.size
            );
            let e = io::Error::new(io::ErrorKind::InvalidInput, msg);
            return Err(Error::io("sendfile", "file", e));
        };
        let range = FileRange {
            file: Box::new(file),
            offset,
            end,
        };
        write_data(
            lp,
            self,
            Data::Queued(Payload::File(range)),
            Some(Box::new(cb)),
        )
        .map(Written::below_mark)
    }
}
