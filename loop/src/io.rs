//! I/O watchers: a file descriptor registered with epoll (level-triggered)
//! for readable and/or writable interest.
//!
//! The watcher does not own the fd: whoever owns it must stop or close the
//! watcher before closing the fd (deregister before close). An empty
//! interest deregisters the fd, so a hung-up fd nobody wants to hear from
//! cannot wake the loop over and over.

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

    /// Whether readable is asked for.
    pub fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether writable is asked for.
    pub fn is_writable(self) -> bool {
        self.0 & 2 != 0
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
pub struct Ready(pub(crate) u32);

impl Ready {
    /// Data (or urgent data) can be read.
    pub fn is_readable(self) -> bool {
        self.0 & (libc::EPOLLIN | libc::EPOLLPRI) as u32 != 0
    }

    /// The fd can take a write.
    pub fn is_writable(self) -> bool {
        self.0 & libc::EPOLLOUT as u32 != 0
    }

    /// EPOLLERR: the fd has a pending error (read it with SO_ERROR or a read).
    pub fn is_error(self) -> bool {
        self.0 & libc::EPOLLERR as u32 != 0
    }

    /// EPOLLHUP: both directions are closed (or a pipe's writer went away).
    pub fn is_hangup(self) -> bool {
        self.0 & libc::EPOLLHUP as u32 != 0
    }

    /// The peer closed its writing side (EPOLLRDHUP or EPOLLHUP).
    pub fn is_read_closed(self) -> bool {
        self.0 & (libc::EPOLLRDHUP | libc::EPOLLHUP) as u32 != 0
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
    /// reported, whatever the interest.
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
        let wanted = io.interest.epoll_events() | (libc::EPOLLERR | libc::EPOLLHUP) as u32;
        let events = events & wanted;
        if events == 0 {
            return;
        }
        let id = HandleId(id);
        self.with_cb(id, cb_slot, |lp, cb| cb(lp, Io(id), Ready(events)));
    }
}
