//! Thin, safe wrappers over the syscalls the loop needs.
//!
//! This is the only module of `eddy-loop` that contains `unsafe`. Every block
//! says why it is sound; everything above this module is safe Rust. Each
//! wrapper turns the C convention (-1 and `errno`) into `io::Result` through
//! [`cvt`].

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// Return values that signal failure with -1, like `std`'s private `IsMinusOne`.
pub trait MinusOne: Copy + PartialEq {
    /// The failure value.
    const MINUS_ONE: Self;
}

impl MinusOne for i32 {
    const MINUS_ONE: i32 = -1;
}

impl MinusOne for isize {
    const MINUS_ONE: isize = -1;
}

/// Turns a raw syscall result into `io::Result`, reading `errno` on -1.
/// Shared with the `sys` modules of the layers above.
pub fn cvt<T: MinusOne>(ret: T) -> io::Result<T> {
    if ret == T::MINUS_ONE {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Retries a syscall while it fails with EINTR.
#[inline]
pub fn retry_eintr<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn owned(fd: i32) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful syscall that creates a new
    // descriptor, so nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// CLOCK_MONOTONIC in nanoseconds.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists
    // on Linux, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 takes no pointers.
    cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(owned)
}

pub(crate) fn epoll_ctl(
    epfd: BorrowedFd<'_>,
    op: i32,
    fd: RawFd,
    events: u32,
    token: u64,
) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call (the
    // kernel copies it); an invalid `fd` is reported as EBADF, not UB.
    cvt(unsafe { libc::epoll_ctl(epfd.as_raw_fd(), op, fd, &mut ev) }).map(drop)
}

/// Waits for events, filling `events` (whose capacity bounds the batch).
/// EINTR is returned to the caller, which knows the remaining timeout.
pub(crate) fn epoll_wait(
    epfd: BorrowedFd<'_>,
    events: &mut Vec<libc::epoll_event>,
    timeout_ms: i32,
) -> io::Result<usize> {
    events.clear();
    let cap = events.capacity().min(i32::MAX as usize) as i32;
    // SAFETY: the kernel writes at most `cap` events into the vector's spare
    // capacity, which is valid, writable memory of that many elements.
    let n =
        cvt(unsafe { libc::epoll_wait(epfd.as_raw_fd(), events.as_mut_ptr(), cap, timeout_ms) })?
            as usize;
    // SAFETY: the kernel initialised exactly `n <= cap` elements.
    unsafe { events.set_len(n) };
    Ok(n)
}

pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers.
    cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) }).map(owned)
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    Ok((owned(fds[0]), owned(fds[1])))
}

pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid, writable memory of `buf.len()` bytes.
    cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
        .map(|n| n as usize)
}

pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid, readable memory of `buf.len()` bytes.
    cvt(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) }).map(|n| n as usize)
}

/// The write end of the process-wide signal pipe, read by the signal handler.
/// -1 until the pipe exists.
static SIGNAL_PIPE_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// Tells the signal handler where to write signal numbers. The fd must stay
/// open for the life of the process.
pub(crate) fn set_signal_pipe(fd: RawFd) {
    SIGNAL_PIPE_WRITE_FD.store(fd, Ordering::SeqCst);
}

/// The process-wide handler: writes the signal number as one byte to the
/// signal pipe. It only does async-signal-safe work (an atomic load and
/// `write`) and preserves `errno` for the code it interrupted.
extern "C" fn on_signal(signum: libc::c_int) {
    let fd = SIGNAL_PIPE_WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    let saved = unsafe { *libc::__errno_location() };
    let byte = signum as u8;
    // SAFETY: write is async-signal-safe and `byte` is a valid one-byte buffer.
    // A full pipe drops the byte: signals coalesce anyway.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// A saved disposition, restored when the last watcher of a signal stops.
#[derive(Clone, Copy)]
pub(crate) struct SavedAction(libc::sigaction);

/// Installs eddy's handler for `signum`, returning the previous disposition.
pub(crate) fn install_signal_handler(signum: i32) -> io::Result<SavedAction> {
    // SAFETY: a zeroed sigaction is a valid value (no handler, empty mask).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
    // SA_RESTART so that the program's blocking syscalls are not disturbed.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid sigset_t to initialise.
    unsafe { libc::sigfillset(&mut action.sa_mask) };
    // SAFETY: as above, zeroed is valid; it is overwritten by the kernel.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers refer to valid sigaction values for the call.
    cvt(unsafe { libc::sigaction(signum, &action, &mut old) })?;
    Ok(SavedAction(old))
}

pub(crate) fn restore_signal_handler(signum: i32, saved: SavedAction) -> io::Result<()> {
    // SAFETY: `saved.0` is a disposition the kernel gave us earlier.
    cvt(unsafe { libc::sigaction(signum, &saved.0, std::ptr::null_mut()) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn cvt_maps_minus_one_to_errno() {
        let (r, _w) = pipe().unwrap();
        let mut buf = [0u8; 4];
        let err = read(r.as_fd(), &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn monotonic_clock_moves_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a);
    }
}

/// The loop's keyed extensions: slot `k` holds the value of the one
/// [`ExtensionKey<T>`](crate::ExtensionKey) whose slot number is `k`, and so
/// always a `T`. That invariant is kept here, by being the only code that
/// fills a slot, so a lookup can skip the `Any` type check (a virtual
/// `type_id` call per lookup, several per request on the server's path).
#[derive(Default)]
pub(crate) struct KeyedSlots {
    slots: Vec<Option<Box<dyn std::any::Any>>>,
}

impl KeyedSlots {
    /// The value in `key`'s slot, made with `init` the first time.
    #[inline]
    pub fn get_or_insert_with<T: 'static>(
        &mut self,
        key: &'static crate::ExtensionKey<T>,
        init: impl FnOnce() -> T,
    ) -> &mut T {
        // Slot 0 (a key not used yet) is never filled: one test finds a
        // filled slot.
        if let Some(Some(value)) = self.slots.get_mut(key.slot_if_assigned()) {
            debug_assert!(value.is::<T>());
            let ptr: *mut dyn std::any::Any = &mut **value;
            // SAFETY: a slot is filled only by `fill::<T>` for its key
            // (slot numbers are unique per key, and a key has one `T`), so
            // the box holds a `T`; the pointer comes from a live `&mut`
            // borrow of `self`, which the returned reference keeps.
            return unsafe { &mut *ptr.cast::<T>() };
        }
        let slot = key.slot();
        self.fill(slot, init);
        let Some(Some(value)) = self.slots.get_mut(slot) else {
            unreachable!("filled above")
        };
        debug_assert!(value.is::<T>());
        let ptr: *mut dyn std::any::Any = &mut **value;
        // SAFETY: as above: `fill::<T>` just put this key's `T` there.
        unsafe { &mut *ptr.cast::<T>() }
    }

    /// The value in `key`'s slot, if it was made.
    #[inline]
    pub fn get<T: 'static>(&self, key: &'static crate::ExtensionKey<T>) -> Option<&T> {
        let value = self.slots.get(key.slot_if_assigned())?.as_ref()?;
        debug_assert!(value.is::<T>());
        let ptr: *const dyn std::any::Any = &**value;
        // SAFETY: as in `get_or_insert_with`: the slot holds this key's `T`,
        // and the reference lives no longer than the borrow of `self`.
        Some(unsafe { &*ptr.cast::<T>() })
    }

    #[cold]
    #[inline(never)]
    fn fill<T: 'static>(&mut self, slot: usize, init: impl FnOnce() -> T) {
        if slot >= self.slots.len() {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot] = Some(Box::new(init()));
    }
}

/// glibc's `mallinfo2` totals, in bytes.
pub(crate) struct MallocInfo {
    /// `uordblks`: allocated and not freed.
    pub in_use: usize,
    /// `fordblks`: free, kept in the arenas.
    pub free: usize,
    /// `hblkhd`: in blocks mapped on their own.
    pub mmapped: usize,
}

/// What glibc's allocator holds, summed over its arenas (`mallinfo2`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn heap_info() -> Option<MallocInfo> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct; it
    // only takes the arenas' locks while it reads them.
    let mi = unsafe { libc::mallinfo2() };
    Some(MallocInfo {
        in_use: mi.uordblks,
        free: mi.fordblks,
        mmapped: mi.hblkhd,
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn heap_info() -> Option<MallocInfo> {
    None
}

/// glibc's `malloc_trim(0)`: gives free heap pages back to the kernel, in
/// every arena and in the middle of heaps too. True if memory was released.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn malloc_trim() -> bool {
    // SAFETY: malloc_trim takes a size and no pointers; it is thread-safe
    // (it locks each arena while it trims it).
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn malloc_trim() -> bool {
    false
}

/// The errno an fd reported with EPOLLERR: a socket's `SO_ERROR` (reading
/// it clears it); for a pipe or FIFO, whose only error is a reader gone,
/// EPIPE; otherwise EIO.
pub(crate) fn pending_error(fd: RawFd) -> i32 {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are valid, writable and sized as getsockopt
    // expects for SO_ERROR; a bad or non-socket fd is reported as an errno.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        return if err != 0 { err } else { libc::EIO };
    }
    // SAFETY: `libc::stat` is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer for the call.
    if unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFIFO {
        return libc::EPIPE;
    }
    libc::EIO
}
