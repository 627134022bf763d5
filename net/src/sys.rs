//! Thin, safe wrappers over the socket syscalls eddy-net needs.
//!
//! The only module of `eddy-net` with `unsafe`; every block says why it is
//! sound. Writes use `MSG_NOSIGNAL`: a program embedding eddy must never be
//! killed by SIGPIPE.

use std::io::{self, IoSlice};
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(crate) use eddy_loop::syscall::cvt;

/// Retries a syscall while it fails with EINTR.
#[inline]
pub(crate) fn retry<T>(f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    eddy_loop::syscall::retry_eintr(f)
}

fn owned(fd: i32) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful syscall that creates a
    // new descriptor, so nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A socket address in the kernel's form.
pub(crate) struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    fn empty() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
            storage: unsafe { zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    pub fn family(&self) -> i32 {
        i32::from(self.storage.ss_family)
    }

    pub fn from_ip(addr: &SocketAddr) -> SockAddr {
        let mut out = SockAddr::empty();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for
                // sockaddr_in, so writing one at its start is in bounds.
                unsafe {
                    std::ptr::write(&mut out.storage as *mut _ as *mut libc::sockaddr_in, sin)
                };
                out.len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe {
                    std::ptr::write(&mut out.storage as *mut _ as *mut libc::sockaddr_in6, sin6)
                };
                out.len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }

    pub fn from_path(path: &Path) -> io::Result<SockAddr> {
        let bytes = path.as_os_str().as_bytes();
        let mut out = SockAddr::empty();
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
        let sun = unsafe { &mut *(&mut out.storage as *mut _ as *mut libc::sockaddr_un) };
        if bytes.len() >= sun.sun_path.len() || bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unix socket path too long or contains NUL",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let base = size_of::<libc::sa_family_t>();
        out.len = (base + bytes.len() + 1) as libc::socklen_t;
        Ok(out)
    }

    /// The address as an IP socket address, if it is one.
    pub fn to_ip(&self) -> Option<SocketAddr> {
        match self.family() {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The path of a Unix-domain address (empty for unnamed sockets).
    pub fn to_path(&self) -> Option<PathBuf> {
        if self.family() != libc::AF_UNIX {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_un) };
        let base = size_of::<libc::sa_family_t>();
        let max = (self.len as usize)
            .saturating_sub(base)
            .min(sun.sun_path.len());
        let bytes: Vec<u8> = sun.sun_path[..max]
            .iter()
            .map(|&c| c as u8)
            .take_while(|&b| b != 0)
            .collect();
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
    }
}

pub(crate) fn socket(domain: i32) -> io::Result<OwnedFd> {
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: socket takes no pointers.
    cvt(unsafe { libc::socket(domain, ty, 0) }).map(owned)
}

pub(crate) fn setsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a valid int for the duration of the call and the
    // length passed is its size.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

pub(crate) fn getsockopt(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid, writable and sized as declared.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr.storage` holds a valid address of `addr.len` bytes.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &addr.storage as *const _ as *const libc::sockaddr,
            addr.len,
        )
    })
    .map(drop)
}

pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) }).map(drop)
}

/// Starts a non-blocking connect; EINPROGRESS comes back as an error.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr.storage` holds a valid address of `addr.len` bytes.
    cvt(unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &addr.storage as *const _ as *const libc::sockaddr,
            addr.len,
        )
    })
    .map(drop)
}

pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: null address pointers are allowed: we do not want the peer's
    // address here.
    cvt(unsafe {
        libc::accept4(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        )
    })
    .map(owned)
}

pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: `addr.storage` is writable for `addr.len` bytes, and the
    // kernel updates `addr.len`.
    cvt(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            &mut addr.storage as *mut _ as *mut libc::sockaddr,
            &mut addr.len,
        )
    })?;
    Ok(addr)
}

pub(crate) fn peer_addr(fd: BorrowedFd<'_>) -> io::Result<SockAddr> {
    let mut addr = SockAddr::empty();
    // SAFETY: as for getsockname.
    cvt(unsafe {
        libc::getpeername(
            fd.as_raw_fd(),
            &mut addr.storage as *mut _ as *mut libc::sockaddr,
            &mut addr.len,
        )
    })?;
    Ok(addr)
}

// send, recv and sendmsg go through `syscall` directly: libc's wrappers
// are thread-cancellation points, and in a multi-threaded process (a work
// pool) each call would also switch cancellation on and off around the
// syscall. eddy never cancels threads.

pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: recvfrom(fd, buf, len, flags, NULL, NULL) is recv(2); `buf` is
    // valid, writable memory of `buf.len()` bytes; no address is asked for.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
            0,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    cvt(n as isize).map(|n| n as usize)
}

/// Peeks at one byte without blocking or consuming it: `Ok(0)` is EOF,
/// `Ok(1)` bytes pending, `WouldBlock` nothing.
pub(crate) fn peek(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut byte = [0u8; 1];
    // SAFETY: recvfrom(fd, buf, 1, MSG_PEEK|MSG_DONTWAIT, NULL, NULL) is
    // recv(2); `byte` is valid, writable memory of 1 byte; no address is
    // asked for.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd.as_raw_fd(),
            byte.as_mut_ptr(),
            1usize,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    cvt(n as isize).map(|n| n as usize)
}

pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: sendto(fd, buf, len, flags, NULL, 0) is send(2); `buf` is
    // valid, readable memory of `buf.len()` bytes.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd.as_raw_fd(),
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    cvt(n as isize).map(|n| n as usize)
}

pub(crate) fn shutdown_write(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: shutdown takes no pointers.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) }).map(drop)
}

/// A spare descriptor kept open so that, at EMFILE, one can be freed to
/// accept and close a pending connection (libuv's trick).
pub(crate) fn open_reserve() -> io::Result<OwnedFd> {
    // SAFETY: the path is a valid NUL-terminated C string.
    cvt(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) }).map(owned)
}

/// Makes an inherited fd non-blocking and close-on-exec.
pub(crate) fn prepare_inherited(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl with F_GETFL/F_SETFL/F_SETFD takes integer arguments.
    let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(())
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
pub(crate) fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the
        // hard one needs no privilege.
        cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) })?;
    }
    Ok(lim.rlim_cur)
}

// ---- Inherited fds and successor processes (activation.rs) ----

/// Takes ownership of `fd`, a descriptor this process inherited.
///
/// # Safety
/// Nothing else in the process may own `fd` (systemd's convention hands
/// fds 3 .. 3+LISTEN_FDS to the process, once).
pub(crate) unsafe fn claim_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD takes no pointer; it only checks that `fd` is open.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: `fd` is open, and the caller guarantees nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A close-on-exec duplicate of `fd` numbered `min` or above.
pub(crate) fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer; the new fd is ours.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) }).map(owned)
}

/// What the forked child does before `execve`: only async-signal-safe
/// calls, on memory prepared before the fork.
pub(crate) struct ExecPlan<'a> {
    pub program: &'a std::ffi::CStr,
    /// Null-terminated pointers to NUL-terminated strings.
    pub argv: &'a [*const libc::c_char],
    pub envp: &'a [*const libc::c_char],
    /// The digits of the child's own pid are written here (a buffer of at
    /// least 21 bytes inside one of `envp`'s strings, NUL-filled).
    pub pid_digits: *mut u8,
    /// `(from, to)`: `dup2(from, to)`; every `from` is above every `to`.
    pub moves: &'a [(RawFd, RawFd)],
    /// Where the child reports a failed `execve` (its errno, 4 bytes);
    /// close-on-exec, so a successful exec closes it.
    pub error_fd: RawFd,
}

/// Forks and execs as `plan` says; returns the child's pid. Exec errors
/// are reported on `plan.error_fd`, read by the caller.
pub(crate) fn fork_exec(plan: &ExecPlan<'_>) -> io::Result<libc::pid_t> {
    assert_eq!(plan.argv.last(), Some(&std::ptr::null()));
    assert_eq!(plan.envp.last(), Some(&std::ptr::null()));
    // SAFETY: fork takes no arguments. In the child (pid 0) only
    // async-signal-safe functions run (dup2, sigprocmask, signal, getpid,
    // execve, write, _exit), on memory prepared before the fork, so no lock
    // another thread held at the fork is ever needed.
    let pid = cvt(unsafe { libc::fork() })?;
    if pid != 0 {
        return Ok(pid);
    }
    // SAFETY: (child) see above; every pointer in `plan` points into
    // memory the parent prepared and the child's copy still holds.
    unsafe {
        for &(from, to) in plan.moves {
            if libc::dup2(from, to) < 0 {
                child_fail(plan.error_fd);
            }
        }
        let mut all: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
        // Rust ignores SIGPIPE; the new program starts with the default.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut pid = libc::getpid() as u64;
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (pid % 10) as u8;
            n += 1;
            pid /= 10;
            if pid == 0 {
                break;
            }
        }
        for i in 0..n {
            *plan.pid_digits.add(i) = digits[n - 1 - i];
        }
        libc::execve(
            plan.program.as_ptr(),
            plan.argv.as_ptr(),
            plan.envp.as_ptr(),
        );
        child_fail(plan.error_fd)
    }
}

/// (child) Reports errno on `fd` and exits 127.
///
/// # Safety
/// Only called in a forked child before exec.
unsafe fn child_fail(fd: RawFd) -> ! {
    // SAFETY: errno location and write/_exit are async-signal-safe; the
    // buffer is on the stack.
    unsafe {
        let err = (*libc::__errno_location()).to_ne_bytes();
        libc::write(fd, err.as_ptr().cast(), err.len());
        libc::_exit(127)
    }
}

/// `waitpid(pid)`; with `block` false, `None` while the child runs.
pub(crate) fn wait_pid(pid: libc::pid_t, block: bool) -> io::Result<Option<i32>> {
    let mut status = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: `status` is a valid, writable int.
    let got = retry(|| cvt(unsafe { libc::waitpid(pid, &mut status, flags) }))?;
    Ok((got == pid).then_some(status))
}

/// Sends `signal` to process `pid`.
pub(crate) fn kill(pid: libc::pid_t, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes no pointers.
    cvt(unsafe { libc::kill(pid, signal) }).map(drop)
}

/// Gathers `bufs` into one `sendmsg` with MSG_NOSIGNAL, and `MSG_MORE`
/// when `more` is set: more data follows at once (a head before a file
/// body), so the kernel may hold a partial segment back instead of sending
/// it alone.
pub(crate) fn send_vectored(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    more: bool,
) -> io::Result<usize> {
    // SAFETY: a zeroed msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: `msg` points at `bufs`, valid readable iovecs for the call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendmsg,
            fd.as_raw_fd(),
            &msg as *const libc::msghdr,
            flags,
        )
    };
    cvt(n as isize).map(|n| n as usize)
}

/// `sendfile(2)`: up to `count` bytes of `file` from `offset` to the socket
/// `out`, inside the kernel; the file's own position is not moved.
///
/// `sendfile` has no `MSG_NOSIGNAL`: on a socket whose peer has gone it
/// raises SIGPIPE, which would kill a program that did not ignore it. So
/// SIGPIPE is blocked in this thread around the call, and one it raised is
/// taken back off the pending set before the mask is restored.
pub(crate) fn sendfile(
    out: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    // SAFETY: sigset_t is plain old data; sigemptyset initialises it.
    let mut pipe_only: libc::sigset_t = unsafe { zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { zeroed() };
    // SAFETY: `pipe_only` is a valid, writable sigset_t; SIGPIPE is a valid
    // signal number.
    unsafe {
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
    }
    // SAFETY: both sets are valid sigset_t; only this thread's mask changes.
    let masked = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old) } == 0;
    // SAFETY: `old` was filled in by pthread_sigmask (or is still empty).
    let was_blocked = masked && unsafe { libc::sigismember(&old, libc::SIGPIPE) } == 1;
    let was_pending = was_blocked && pipe_pending();
    // SAFETY: `off` is a valid, writable off_t for the call; no buffers are
    // passed, the kernel copies between the two descriptors.
    let n = unsafe { libc::sendfile(out.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    let result = cvt(n).map(|n| n as usize);
    if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) && !was_pending {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `pipe_only` is a valid set, a null info pointer is
        // allowed and `zero` a valid timespec: takes the pending SIGPIPE
        // this call raised, or returns at once (EAGAIN) if there is none.
        unsafe { libc::sigtimedwait(&pipe_only, std::ptr::null_mut(), &zero) };
    }
    if masked && !was_blocked {
        // SAFETY: `old` is the mask pthread_sigmask gave back.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
    result
}

/// Whether a SIGPIPE is pending for this thread (or the process).
fn pipe_pending() -> bool {
    // SAFETY: sigset_t is plain old data.
    let mut pending: libc::sigset_t = unsafe { zeroed() };
    // SAFETY: `pending` is a valid, writable sigset_t.
    let ok = unsafe { libc::sigpending(&mut pending) } == 0;
    // SAFETY: `pending` was filled in by sigpending.
    ok && unsafe { libc::sigismember(&pending, libc::SIGPIPE) } == 1
}

/// What `send_file` checks about a file before queueing a range of it.
pub(crate) struct FileStat {
    /// A regular file: the only kind `sendfile` reads from.
    pub regular: bool,
    pub size: u64,
}

pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    // SAFETY: `stat` is plain old data; all-zero is valid.
    let mut st: libc::stat = unsafe { zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer for the call.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(FileStat {
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        size: u64::try_from(st.st_size).unwrap_or(0),
    })
}

/// A loop watcher for a socket of the net layer, not yet started.
pub(crate) fn watcher(lp: &mut eddy_loop::Loop, fd: &OwnedFd) -> eddy_loop::Io {
    // SAFETY: every socket of the net layer is kept next to its watcher
    // (`Socket` in a stream's state, `fd` in a listener's), and each place
    // that lets the fd go (`close_stream`, `drop_socket`, `Listener::close`)
    // closes the watcher first, which deregisters the fd before it closes.
    unsafe { eddy_loop::Io::new(lp, fd.as_raw_fd()) }
}
