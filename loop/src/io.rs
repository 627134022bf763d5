//! I/O watchers: a file descriptor registered with epoll (level-triggered)
//! for readable and/or writable interest, as libuv's `uv_poll_t`.
//!
//! The watcher does not own the fd: whoever owns it must stop or close the
//! watcher before closing the fd (deregister before close), which is why
//! [`Io::new`] is unsafe. An empty interest deregisters the fd, so a
//! hung-up fd nobody wants to hear from cannot wake the loop over and over.
//!
//! What a callback is told follows libuv's `uv__io_poll` and `uv__poll_io`:
//! - a hang-up (EPOLLHUP, or EPOLLRDHUP) is reported as *readable* to a
//!   watcher that asked for readable, so code that reads when readable
//!   reads, sees EOF and closes; a lone EPOLLHUP also reports the
//!   watcher's writable interest, so a writer tries, and gets EPIPE;
//! - an error (EPOLLERR without EPOLLPRI) is delivered once: the watcher
//!   is stopped first, and the callback gets a [`Ready`] whose
//!   [`error`](Ready::error) carries the errno (`SO_ERROR` for a socket,
//!   EPIPE for a pipe whose reader is gone, EIO otherwise; libuv reports
//!   EBADF for all). `set_interest` or `start` watches again.

use std::io;
use std::ops::BitOr;
use std::os::fd::RawFd;

use crate::error::{Error, Result};
use crate::handle::{handle_type, Handle, HandleId, HandleKind};
use crate::Loop;

handle_type!(
    /// A watcher of one file descriptor, like libuv's `uv_poll_t`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use eddy_loop::{Handle, Interest, Io, Loop, RunMode};
    ///
    /// let mut lp = Loop::new()?;
    /// let (mut reader, mut writer) = std::io::pipe().unwrap();
    /// writer.write_all(b"hi").unwrap();
    /// // SAFETY: `reader` outlives the watcher, which is closed in its
    /// // callback before `run` returns.
    /// let io = unsafe { Io::new(&mut lp, reader.as_raw_fd()) };
    /// io.start(&mut lp, Interest::READABLE, move |lp, me, ready| {
    ///     assert!(ready.is_readable());
    ///     let mut buf = [0; 8];
    ///     assert_eq!(reader.read(&mut buf).unwrap(), 2);
    ///     me.close(lp, |_, _| {}).unwrap();
    /// })?;
    /// lp.run(RunMode::Default);
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    Io,
    "io"
);

/// What a watcher wants to hear about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Interest(u8);

impl Interest {
    /// Nothing: the fd is deregistered.
    pub const NONE: Interest = Interest(0);
    /// Readable (EPOLLIN, and EPOLLRDHUP for a peer's half-close).
    pub const READABLE: Interest = Interest(1);
    /// Writable (EPOLLOUT).
    pub const WRITABLE: Interest = Interest(2);
    /// Readable and writable.
    pub const BOTH: Interest = Interest(3);
    /// Urgent data (EPOLLPRI), libuv's `UV_PRIORITIZED`: out-of-band TCP
    /// data, sysfs attribute changes.
    pub const PRIORITIZED: Interest = Interest(4);
    /// The peer's half-close alone (EPOLLRDHUP), libuv's `UV_DISCONNECT`.
    /// `READABLE` includes it already.
    pub const DISCONNECT: Interest = Interest(8);

    /// Whether readable is asked for.
    pub fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether writable is asked for.
    pub fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }

    /// Whether urgent data is asked for.
    pub fn is_prioritized(self) -> bool {
        self.0 & 4 != 0
    }

    /// Whether the peer's half-close is asked for (alone or with readable).
    pub fn is_disconnect(self) -> bool {
        self.0 & 8 != 0
    }

    /// Whether nothing is asked for.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// With readable, also ask for EPOLLRDHUP so a peer's half-close is seen.
    pub(crate) fn epoll_events(self) -> u32 {
        let mut ev = 0;
        if self.is_readable() {
            ev |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if self.is_writable() {
            ev |= libc::EPOLLOUT as u32;
        }
        if self.is_prioritized() {
            ev |= libc::EPOLLPRI as u32;
        }
        if self.is_disconnect() {
            ev |= libc::EPOLLRDHUP as u32;
        }
        ev
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

/// What epoll reported for a watcher.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ready {
    events: u32,
    /// The errno of an error event (0 otherwise).
    errno: i32,
}

impl Ready {
    /// Data can be read, or the peer hung up (a read then sees EOF or the
    /// error), as libuv's `UV_READABLE`.
    pub fn is_readable(self) -> bool {
        self.events & libc::EPOLLIN as u32 != 0
    }

    /// Urgent data can be read (EPOLLPRI), libuv's `UV_PRIORITIZED`.
    pub fn is_prioritized(self) -> bool {
        self.events & libc::EPOLLPRI as u32 != 0
    }

    /// The error of an error event. The watcher was stopped before the
    /// callback ran, so it is told once; `error` is None for every other
    /// event.
    pub fn error(self) -> Option<io::Error> {
        (self.errno != 0).then(|| io::Error::from_raw_os_error(self.errno))
    }

    /// The fd can take a write.
    pub fn is_writable(self) -> bool {
        self.events & libc::EPOLLOUT as u32 != 0
    }

    /// An error event (its errno is [`error`](Ready::error)).
    pub fn is_error(self) -> bool {
        self.errno != 0
    }

    /// EPOLLHUP: both directions are closed (or a pipe's writer went away).
    pub fn is_hangup(self) -> bool {
        self.events & libc::EPOLLHUP as u32 != 0
    }

    /// The peer closed its writing side (EPOLLRDHUP or EPOLLHUP), libuv's
    /// `UV_DISCONNECT`.
    pub fn is_read_closed(self) -> bool {
        self.events & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0
    }
}

pub(crate) type IoCb = Box<dyn FnMut(&mut Loop, Io, Ready)>;

pub(crate) struct IoState {
    pub fd: RawFd,
    pub interest: Interest,
    pub registered: bool,
    /// Changes with every registration; carried in the epoll token so an
    /// event queued for an earlier registration is recognised and dropped.
    pub epoch: u32,
    cb: Option<IoCb>,
}

fn cb_slot(lp: &mut Loop, id: HandleId) -> Option<&mut Option<IoCb>> {
    match lp.open_kind(id)? {
        HandleKind::Io(io) => Some(&mut io.cb),
        _ => None,
    }
}

fn state(lp: &mut Loop, id: HandleId) -> Result<&mut IoState> {
    match &mut lp.live_mut(id, Io::KIND)?.kind {
        HandleKind::Io(io) => Ok(io),
        _ => Err(Error::Closed(Io::KIND)),
    }
}

fn state_ref(lp: &Loop, id: HandleId) -> Result<&IoState> {
    match &lp.live(id, Io::KIND)?.kind {
        HandleKind::Io(io) => Ok(io),
        _ => Err(Error::Closed(Io::KIND)),
    }
}

impl Io {
    /// Whether the watcher's fd is known quiet, for a caller that knows
    /// no event reached the watcher since loop iteration `iteration` (say,
    /// a read then drained the fd) and that it has been watched for
    /// reading since: a poll ran in a later iteration and returned a
    /// batch that was not full (a full one may leave ready fds for the
    /// next), and the events of the current wake-up not dispatched yet
    /// hold none for it (up to 128 are looked at; more count as one). Level
    /// triggering makes that mean the fd was quiet when the poll returned,
    /// so a pooled socket can be judged fit without a syscall.
    pub fn is_quiet_since(self, lp: &Loop, iteration: u64) -> bool {
        if lp.poller.polled_in() <= iteration {
            return false;
        }
        let Some(e) = lp.handles.get(self.0 .0) else {
            return false;
        };
        match &e.kind {
            HandleKind::Io(io) if io.registered => !lp
                .poller
                .is_pending(crate::poll::token(self.0.index(), io.epoch)),
            _ => false,
        }
    }

    /// A watcher for `fd`, not yet started. The fd should be non-blocking.
    ///
    /// # Safety
    ///
    /// `fd` must stay open, and must not be closed and reused, until this
    /// watcher is stopped or closed (deregister before close): the loop
    /// keeps the number and calls `epoll_ctl` on it, and on a number that
    /// now names another file it would change or remove that file's
    /// registration (another watcher's), breaking its owner's I/O safety.
    pub unsafe fn new(lp: &mut Loop, fd: RawFd) -> Io {
        Io(lp.insert_handle(HandleKind::Io(IoState {
            fd,
            interest: Interest::NONE,
            registered: false,
            epoch: 0,
            cb: None,
        })))
    }

    /// Starts (or restarts) watching with `interest`, calling `cb` while
    /// the fd is ready (level-triggered). Errors and hang-ups are always
    /// reported, whatever the interest; an error stops the watcher (see the
    /// module docs).
    pub fn start(
        self,
        lp: &mut Loop,
        interest: Interest,
        cb: impl FnMut(&mut Loop, Io, Ready) + 'static,
    ) -> Result<()> {
        state(lp, self.0)?.cb = Some(Box::new(cb));
        lp.io_set_interest(self.0, interest)
    }

    /// Changes the interest of a watcher, keeping its callback; an empty
    /// interest deregisters the fd and makes the watcher inactive.
    pub fn set_interest(self, lp: &mut Loop, interest: Interest) -> Result<()> {
        state(lp, self.0)?;
        lp.io_set_interest(self.0, interest)
    }

    /// The current interest (empty while stopped).
    pub fn interest(self, lp: &Loop) -> Result<Interest> {
        Ok(state_ref(lp, self.0)?.interest)
    }

    /// The watched fd.
    pub fn fd(self, lp: &Loop) -> Result<RawFd> {
        Ok(state_ref(lp, self.0)?.fd)
    }

    /// Deregisters the fd; the callback is kept for a later `set_interest`.
    pub fn stop(self, lp: &mut Loop) -> Result<()> {
        state(lp, self.0)?;
        lp.io_stop(self.0);
        Ok(())
    }
}

impl Loop {
    fn io_set_interest(&mut self, id: HandleId, interest: Interest) -> Result<()> {
        let next_epoch = self.next_io_epoch.wrapping_add(1);
        let Some(HandleKind::Io(io)) = self.open_kind(id) else {
            return Err(Error::Closed(Io::KIND));
        };
        let (fd, was, registered) = (io.fd, io.interest, io.registered);
        if interest.is_empty() {
            io.interest = interest;
            if registered {
                self.io_stop(id);
            }
            return Ok(());
        }
        if registered && was == interest {
            return Ok(());
        }
        let (op, op_name, epoch) = if registered {
            (libc::EPOLL_CTL_MOD, "mod", io.epoch)
        } else {
            (libc::EPOLL_CTL_ADD, "add", next_epoch)
        };
        let token = crate::poll::token(id.index(), epoch);
        self.poller
            .ctl(op, fd, interest.epoll_events(), token)
            .map_err(|e| Error::os(format!("epoll_ctl {op_name} fd {fd}"), e))?;
        if !registered {
            self.next_io_epoch = next_epoch;
        }
        if let Some(HandleKind::Io(io)) = self.open_kind(id) {
            io.interest = interest;
            io.registered = true;
            io.epoch = epoch;
        }
        self.set_active(id, true);
        Ok(())
    }

    pub(crate) fn io_stop(&mut self, id: HandleId) {
        let Some(HandleKind::Io(io)) = self.handles.get_mut(id.0).map(|e| &mut e.kind) else {
            return;
        };
        if io.registered {
            io.registered = false;
            let fd = io.fd;
            // EBADF/ENOENT mean the fd is already gone from the set (closed
            // early by its owner): the goal, no registration, holds anyway.
            let _ = self.poller.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0);
        }
        self.set_active(id, false);
    }

    /// Delivers one epoll event to its watcher, unless the watcher was
    /// stopped, closed, re-registered or replaced since the event was queued.
    pub(crate) fn io_dispatch(&mut self, index: u32, epoch: u32, events: u32) {
        let Some(id) = self.handles.id_at(index) else {
            return;
        };
        let Some(e) = self.handles.get(id) else {
            return;
        };
        let HandleKind::Io(io) = &e.kind else { return };
        if !e.is_open() || !e.active || !io.registered || io.epoch != epoch {
            return;
        }
        let asked = io.interest.epoll_events();
        let (err, hup) = (libc::EPOLLERR as u32, libc::EPOLLHUP as u32);
        let mut events = events & (asked | err | hup);
        if events == 0 {
            return;
        }
        let id = HandleId(id);
        if events & err != 0 && events & libc::EPOLLPRI as u32 == 0 {
            // Told once: stopped first, so a level-triggered error cannot
            // call back on every iteration.
            let fd = io.fd;
            self.io_stop(id);
            let errno = crate::sys::pending_error(fd);
            let ready = Ready { events: err, errno };
            self.with_cb(id, cb_slot, |lp, cb| cb(lp, Io(id), ready));
            return;
        }
        if events == hup {
            // epoll may report a lone hang-up: report what the watcher
            // waits for, so its read or write sees EOF or EPIPE (libuv).
            events |= asked;
        }
        if events & (hup | libc::EPOLLRDHUP as u32) != 0 && io.interest.is_readable() {
            events |= libc::EPOLLIN as u32;
        }
        let ready = Ready { events, errno: 0 };
        self.with_cb(id, cb_slot, |lp, cb| cb(lp, Io(id), ready));
    }
}
