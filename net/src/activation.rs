//! Listening sockets passed between processes under systemd's
//! socket-activation convention: fds 3, 4, ... with `LISTEN_FDS=<count>`
//! and `LISTEN_PID=<the receiver's pid>` in the environment.
//!
//! [`listen_fds`] receives them (systemd's `sd_listen_fds`), and
//! [`spawn_with_listeners`] passes them on to a new process, the way a
//! server hands its sockets to its successor for a restart that refuses no
//! connection: both processes hold the same sockets, so connections queued
//! in the kernel wait for whichever accepts first.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use crate::error::{Error, Result};
use crate::sys;

/// The first fd of the convention.
pub const LISTEN_FDS_START: RawFd = 3;

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// The sockets this process was started with (systemd's `sd_listen_fds`
/// with `unset_environment`): if `LISTEN_PID` is this process's pid,
/// `LISTEN_FDS` fds from 3 on, made close-on-exec. The variables are
/// removed, so a second call (or a child) gets none. Call it early, before
/// other threads exist: it changes the environment.
pub fn listen_fds() -> Result<Vec<OwnedFd>> {
    let (pid, count) = (env_number("LISTEN_PID"), env_number("LISTEN_FDS"));
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(Vec::new());
    };
    if pid != u64::from(std::process::id()) {
        return Ok(Vec::new());
    }
    let mut fds = Vec::with_capacity(count as usize);
    for raw in LISTEN_FDS_START..LISTEN_FDS_START + count.min(1 << 16) as RawFd {
        // SAFETY: by the convention, fds 3 .. 3+LISTEN_FDS are this
        // process's to own, and the variables are gone, so they are
        // claimed only once.
        let fd = unsafe { sys::claim_inherited(raw) }
            .map_err(|e| Error::io("inherit", format!("fd {raw}"), e))?;
        sys::prepare_inherited(fd.as_fd())
            .map_err(|e| Error::io("inherit", format!("fd {raw}"), e))?;
        fds.push(fd);
    }
    Ok(fds)
}

/// An fd whose number is in the environment variable `name` (for example
/// a readiness pipe a parent passed along with its sockets); the variable
/// is removed. Call it early, like [`listen_fds`].
pub fn fd_from_env(name: &str) -> Result<Option<OwnedFd>> {
    let raw = env_number(name);
    std::env::remove_var(name);
    let Some(raw) = raw else { return Ok(None) };
    let raw = RawFd::try_from(raw).map_err(|_| Error::InvalidAddress(format!("{name}={raw}")))?;
    if raw <= 2 {
        return Err(Error::InvalidAddress(format!("{name}={raw}")));
    }
    // SAFETY: the parent that set `name` passed this fd for this process to
    // own, and the variable is gone, so it is claimed only once.
    let fd = unsafe { sys::claim_inherited(raw) }
        .map_err(|e| Error::io("inherit", format!("fd {raw} ({name})"), e))?;
    sys::prepare_inherited(fd.as_fd())
        .map_err(|e| Error::io("inherit", format!("fd {raw} ({name})"), e))?;
    Ok(Some(fd))
}

/// A process started by [`spawn_with_listeners`].
#[derive(Debug)]
pub struct Successor {
    pid: libc::pid_t,
}

impl Successor {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Its exit status if it has exited (reaping it), else `None`.
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        Ok(sys::wait_pid(self.pid, false)?.map(ExitStatus::from_raw))
    }

    /// Waits for it to exit.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        let status = sys::wait_pid(self.pid, true)?.expect("blocking waitpid returns the child");
        Ok(ExitStatus::from_raw(status))
    }

    /// Sends it `signal` (e.g. `libc::SIGKILL`).
    pub fn signal(&self, signal: i32) -> io::Result<()> {
        sys::kill(self.pid, signal)
    }
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::InvalidAddress(s.to_string_lossy().into_owned()))
}

/// Starts `program` with `args` and this process's environment, passing
/// `listeners` as fds 3, 4, ... (`LISTEN_FDS`, and `LISTEN_PID` set to the
/// child's own pid), and `extra` as the next fds, each named by its
/// environment variable (`extra[i].0` = its fd number). Returns once the
/// program was exec'd; a failed exec is this function's error.
pub fn spawn_with_listeners(
    program: &Path,
    args: &[OsString],
    listeners: &[BorrowedFd<'_>],
    extra: &[(&str, BorrowedFd<'_>)],
) -> Result<Successor> {
    let shown = program.display().to_string();
    let shown = &shown;
    let failed = |op: &'static str| move |e: io::Error| Error::io(op, shown, e);
    let total = (listeners.len() + extra.len()) as RawFd;
    // Every fd is first copied above the range it goes to, so no dup2 of
    // the child overwrites a source it still needs.
    let above = LISTEN_FDS_START + total + 1;
    let mut sources = Vec::new();
    for fd in listeners.iter().chain(extra.iter().map(|(_, fd)| fd)) {
        sources.push(sys::dup_at_least(*fd, above).map_err(failed("dup"))?);
    }
    let moves: Vec<(RawFd, RawFd)> = sources
        .iter()
        .enumerate()
        .map(|(i, fd)| (fd.as_raw_fd(), LISTEN_FDS_START + i as RawFd))
        .collect();
    let (mut report, child_report) =
        std::os::unix::net::UnixStream::pair().map_err(failed("socketpair"))?;
    // Moved above the range too; the original must be closed in the
    // parent, or the read below would never see EOF.
    let child_report = {
        let low = child_report;
        sys::dup_at_least(low.as_fd(), above).map_err(failed("dup"))?
    };

    let program_c = cstring(program.as_os_str())?;
    let mut argv_c = vec![program_c.clone()];
    for a in args {
        argv_c.push(cstring(a)?);
    }
    let mut env_c = Vec::new();
    let passed: Vec<&str> = extra.iter().map(|(name, _)| *name).collect();
    for (k, v) in std::env::vars_os() {
        let k_str = k.to_string_lossy();
        if matches!(&*k_str, "LISTEN_PID" | "LISTEN_FDS" | "LISTEN_FDNAMES")
            || passed.contains(&&*k_str)
        {
            continue;
        }
        let mut kv = k.clone();
        kv.push("=");
        kv.push(&v);
        env_c.push(cstring(&kv)?);
    }
    env_c.push(cstring(OsStr::new(&format!(
        "LISTEN_FDS={}",
        listeners.len()
    )))?);
    for (i, name) in passed.iter().enumerate() {
        let fd = LISTEN_FDS_START + (listeners.len() + i) as RawFd;
        env_c.push(cstring(OsStr::new(&format!("{name}={fd}")))?);
    }
    // The pid is known only in the child: it writes its digits into the
    // NULs after "LISTEN_PID=".
    let mut pid_var = b"LISTEN_PID=".to_vec();
    pid_var.extend_from_slice(&[0u8; 21]);
    let pid_digits = pid_var[b"LISTEN_PID=".len()..].as_mut_ptr();
    let argv: Vec<*const libc::c_char> = argv_c
        .iter()
        .map(|c| c.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    let envp: Vec<*const libc::c_char> = env_c
        .iter()
        .map(|c| c.as_ptr())
        .chain([pid_var.as_ptr().cast(), std::ptr::null()])
        .collect();
    let plan = sys::ExecPlan {
        program: &program_c,
        argv: &argv,
        envp: &envp,
        pid_digits,
        moves: &moves,
        error_fd: child_report.as_raw_fd(),
    };
    let pid = sys::fork_exec(&plan).map_err(failed("fork"))?;
    drop(child_report);
    drop(sources);
    let child = Successor { pid };
    // EOF: the exec succeeded (the report fd was close-on-exec).
    let mut errno = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match report.read(&mut errno[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed("exec")(e)),
        }
    }
    if got == 4 {
        let _ = child.wait();
        let e = io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
        return Err(failed("exec")(e));
    }
    Ok(child)
}
