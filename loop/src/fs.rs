//! Opening and stat'ing a file on the work pool, so that a server never
//! blocks its loop on a slow disk or a cold inode cache.
//!
//! [`Loop::open_file`] opens a path read-only (close-on-exec), `fstat`s
//! the descriptor it got (so the facts describe the file actually opened,
//! not whatever the path names a moment later) and hands back the open
//! [`File`](std::fs::File) with its [`FileInfo`]: size, modification
//! time, inode and device (what a strong ETag is made of), kind and mode.
//!
//! Two options serve a static file server:
//! - [`OpenFileOptions::within`] confines the open to a directory: the real
//!   path of the opened descriptor (read back through `/proc/self/fd`, so
//!   no symlink swapped in between can fool it) must lie under the
//!   directory's real path, or the open fails with
//!   [`FileError::Outside`]. `..`, symlinks and bind tricks are all
//!   judged by where the file really is.
//! - [`OpenFileOptions::index`]: a directory is answered with the named
//!   file inside it (`index.html`), checked the same way.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::work::{WorkError, WorkHandle};
use crate::Loop;

/// What kind of file was opened.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FileKind {
    /// A regular file: the only kind `sendfile(2)` can send from.
    Regular,
    /// A directory (returned only when no [`OpenFileOptions::index`] is set).
    Directory,
    /// Anything else: a FIFO, a device, a socket.
    Other,
}

/// The facts `fstat` gave about an opened file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FileInfo {
    /// Size in bytes (`st_size`).
    pub size: u64,
    /// Last modification, seconds since the Unix epoch (`st_mtime`); may
    /// be negative for a file dated before 1970.
    pub mtime_secs: i64,
    /// The nanoseconds of the modification time (`st_mtime_nsec`).
    pub mtime_nsecs: u32,
    /// Inode number (`st_ino`).
    pub inode: u64,
    /// Device the file lives on (`st_dev`).
    pub device: u64,
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// What kind of file it is.
    pub kind: FileKind,
    /// The path that was opened: the requested one, or its index file.
    pub path: PathBuf,
}

impl FileInfo {
    /// The facts in `meta` (what `fstat` gave) about the file at `path`.
    pub fn of(meta: &std::fs::Metadata, path: PathBuf) -> FileInfo {
        let kind = if meta.is_file() {
            FileKind::Regular
        } else if meta.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        };
        FileInfo {
            size: meta.size(),
            mtime_secs: meta.mtime(),
            mtime_nsecs: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
            inode: meta.ino(),
            device: meta.dev(),
            mode: meta.mode(),
            kind,
            path,
        }
    }
}

impl FileInfo {
    /// The modification time as a `SystemTime`.
    pub fn modified(&self) -> SystemTime {
        let nanos = Duration::from_nanos(u64::from(self.mtime_nsecs));
        if self.mtime_secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.mtime_secs as u64) + nanos
        } else {
            UNIX_EPOCH - Duration::from_secs(self.mtime_secs.unsigned_abs()) + nanos
        }
    }
}

/// An open file and what it is.
#[derive(Debug)]
pub struct OpenedFile {
    /// The descriptor, read-only and close-on-exec. Wrap it in an `Rc` to
    /// send it to many streams at once: `sendfile` never moves its offset.
    pub file: File,
    /// What `fstat` said about it.
    pub info: FileInfo,
}

/// How [`Loop::open_file`] opens.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct OpenFileOptions {
    /// Refuse any file whose real path is not under this directory's real
    /// path ([`FileError::Outside`]).
    pub within: Option<PathBuf>,
    /// For a directory, open this file inside it instead (e.g.
    /// `index.html`); its absence is a `NotFound` error.
    pub index: Option<String>,
}

/// Why [`Loop::open_file`] gave no file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A syscall failed: `op` is what was attempted on `path`.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was attempted ("open", "fstat", "realpath").
        op: &'static str,
        /// The path it was attempted on.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file lies outside [`OpenFileOptions::within`].
    #[error("open {}: outside {}", path.display(), root.display())]
    Outside {
        /// The path asked for.
        path: PathBuf,
        /// The directory it had to be under.
        root: PathBuf,
    },
    /// The work pool cancelled the job or it panicked.
    #[error("open {}: {source}", path.display())]
    Work {
        /// The path asked for.
        path: PathBuf,
        /// Why the job gave nothing.
        #[source]
        source: WorkError,
    },
}

impl FileError {
    /// The errno behind this error, if it came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            FileError::Io { source, .. } => source.raw_os_error(),
            FileError::Outside { .. } => Some(libc::EACCES),
            FileError::Work { .. } => None,
        }
    }

    /// Whether the file does not exist (a 404, not a 500).
    pub fn is_not_found(&self) -> bool {
        match self {
            FileError::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::ENOENT) | Some(libc::ENOTDIR)
            ),
            _ => false,
        }
    }
}

impl Loop {
    /// Opens and `fstat`s `path` on the work pool, then runs `cb` on this
    /// loop with the file or the error. Cancel it with
    /// [`Loop::cancel_work`] while it has not started (`cb` then gets
    /// [`FileError::Work`]).
    ///
    /// ```
    /// use eddy_loop::{Loop, OpenFileOptions, RunMode};
    ///
    /// let mut lp = Loop::new()?;
    /// lp.open_file("/etc/hostname", OpenFileOptions::default(), |_, opened| {
    ///     if let Ok(f) = opened {
    ///         println!("{} bytes, inode {}", f.info.size, f.info.inode);
    ///     }
    /// })?;
    /// lp.run(RunMode::Default);
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    pub fn open_file(
        &mut self,
        path: impl Into<PathBuf>,
        opts: OpenFileOptions,
        cb: impl FnOnce(&mut Loop, std::result::Result<OpenedFile, FileError>) + 'static,
    ) -> Result<WorkHandle> {
        let path = path.into();
        let asked = path.clone();
        self.queue_work(
            move || open_blocking(&path, &opts),
            move |lp, _, done| {
                let result = done.unwrap_or_else(|source| {
                    Err(FileError::Work {
                        path: asked,
                        source,
                    })
                });
                cb(lp, result)
            },
        )
    }
}

/// What [`Loop::open_file`] does on the pool, callable from any thread.
pub fn open_blocking(
    path: &Path,
    opts: &OpenFileOptions,
) -> std::result::Result<OpenedFile, FileError> {
    let root = match &opts.within {
        Some(dir) => Some(std::fs::canonicalize(dir).map_err(|source| FileError::Io {
            op: "realpath",
            path: dir.clone(),
            source,
        })?),
        None => None,
    };
    let opened = open_one(path, root.as_deref(), opts)?;
    if opened.info.kind != FileKind::Directory {
        return Ok(opened);
    }
    match &opts.index {
        Some(index) => {
            let inner = opened.info.path.join(index);
            let file = open_one(&inner, root.as_deref(), opts)?;
            if file.info.kind == FileKind::Directory {
                return Err(FileError::Io {
                    op: "open",
                    path: inner,
                    source: io::Error::from_raw_os_error(libc::EISDIR),
                });
            }
            Ok(file)
        }
        None => Ok(opened),
    }
}

fn open_one(
    path: &Path,
    root: Option<&Path>,
    opts: &OpenFileOptions,
) -> std::result::Result<OpenedFile, FileError> {
    let io_err = |op, source| FileError::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| io_err("open", e))?;
    if let Some(root) = root {
        let real = real_path(&file, path).map_err(|e| io_err("realpath", e))?;
        if !real.starts_with(root) {
            return Err(FileError::Outside {
                path: path.to_path_buf(),
                root: opts.within.clone().unwrap_or_default(),
            });
        }
    }
    let meta = file.metadata().map_err(|e| io_err("fstat", e))?;
    let info = FileInfo::of(&meta, path.to_path_buf());
    Ok(OpenedFile { file, info })
}

/// Where the opened descriptor really is: `/proc/self/fd/N` names the file
/// itself, whatever happened to the path since. Without `/proc`, the
/// path's real path (racy, but the best there is).
fn real_path(file: &File, path: &Path) -> io::Result<PathBuf> {
    let link = format!("/proc/self/fd/{}", file.as_raw_fd());
    match std::fs::read_link(link) {
        Ok(real) => Ok(real),
        Err(_) => std::fs::canonicalize(path),
    }
}
