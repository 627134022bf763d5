//! `Response::send_file`: a file as the response body. The file is opened
//! and `fstat`ed on the loop's work pool (`Loop::open_file`), never on the
//! loop; the answer is decided by `file_reply` (304, 206, 416 or 200) from
//! the request's headers and the file's validators; the body goes out with
//! `sendfile(2)` through eddy-net, zero-copy and under the connection's
//! high-water mark. A response that is not at the front of its
//! connection's queue (pipelining) keeps its head and its file range until
//! its turn (`file_body.rs`, `conn::advance`).

use std::fs::File;
use std::path::PathBuf;

use eddy_loop::{FileError, FileInfo, FileKind, Loop, OpenFileOptions, OpenedFile};

use super::conditional::file_etag;
use super::conn;
use super::date::format_imf_fixdate;
use super::error::{Error, Result};
use super::exchange::ResponsePhase;
use super::file_body::FileBody;
use super::file_output::write_file_front;
use super::file_reply::{file_reply, FileReply, FileValidators};
use super::handles::Response;
use super::mime::content_type_for;
use super::output;
use super::table::{conn as conn_of, exchange, exchange_ref};

/// What to send: a path (opened read-only on the work pool) or a file
/// already open (only `fstat`ed there).
#[derive(Debug)]
pub enum FileSource {
    /// A path to open.
    Path(PathBuf),
    /// An open file.
    File(File),
}

impl From<&str> for FileSource {
    fn from(p: &str) -> FileSource {
        FileSource::Path(p.into())
    }
}
impl From<String> for FileSource {
    fn from(p: String) -> FileSource {
        FileSource::Path(p.into())
    }
}
impl From<PathBuf> for FileSource {
    fn from(p: PathBuf) -> FileSource {
        FileSource::Path(p)
    }
}
impl From<&std::path::Path> for FileSource {
    fn from(p: &std::path::Path) -> FileSource {
        FileSource::Path(p.into())
    }
}
impl From<File> for FileSource {
    fn from(f: File) -> FileSource {
        FileSource::File(f)
    }
}

/// How `send_file` opens a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendFileOptions {
    /// Refuse (403) a file whose real path is not under this directory:
    /// `..` and symlinks leading out are judged by where the file is.
    pub within: Option<PathBuf>,
    /// For a directory, send this file inside it (e.g. `index.html`).
    pub index: Option<String>,
}

/// How `send_file` ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSent {
    /// The response was answered with this status (200, 206, 304, 416;
    /// 404 for a missing file, 403 for one refused or not regular, 500 for
    /// another error) and is finished.
    Answered {
        /// The status sent.
        status: u16,
    },
    /// The path is a directory (and no index was asked for): nothing was
    /// sent; the response is still the caller's to answer.
    Directory {
        /// The directory's path.
        path: PathBuf,
    },
    /// The connection went away before the file was open.
    Gone,
}

/// `send_file`'s callback.
type SentCb = Box<dyn FnOnce(&mut Loop, Response, FileSent)>;

fn stat(file: File) -> std::result::Result<OpenedFile, FileError> {
    let meta = file.metadata().map_err(|source| FileError::Io {
        op: "fstat",
        path: PathBuf::new(),
        source,
    })?;
    let info = FileInfo::of(&meta, PathBuf::new());
    Ok(OpenedFile { file, info })
}

impl Response {
    /// Answers with a file (Express's `res.sendFile`), opened and
    /// `fstat`ed on the work pool: `Content-Length`, `Last-Modified`, a
    /// strong `ETag`, `Accept-Ranges: bytes` and a `Content-Type` from the
    /// extension (unless one is set); 304 for a matching `If-None-Match`
    /// or `If-Modified-Since`, 206 for one satisfiable `Range`, 416 for an
    /// unsatisfiable one; HEAD gets the headers only. A missing file is a
    /// 404, one refused a 403. The body is sent with `sendfile(2)`.
    pub fn send_file(
        self,
        lp: &mut Loop,
        source: impl Into<FileSource>,
        opts: SendFileOptions,
    ) -> Result<()> {
        self.send_file_then(lp, source, opts, |_, _, _| {})
    }

    /// [`send_file`](Self::send_file), then `cb` with how it ended, once
    /// the answer is queued (or the path proved a directory: see
    /// [`FileSent::Directory`]).
    pub fn send_file_then(
        self,
        lp: &mut Loop,
        source: impl Into<FileSource>,
        opts: SendFileOptions,
        cb: impl FnOnce(&mut Loop, Response, FileSent) + 'static,
    ) -> Result<()> {
        let x = exchange(lp, self.conn, self.seq).ok_or_else(|| Error::Closed("response"))?;
        if x.res.head_sent() {
            return Err(Error::HeadersSent);
        }
        let cb: SentCb = Box::new(cb);
        let opened = match source.into() {
            FileSource::Path(path) => {
                let open = OpenFileOptions {
                    within: opts.within,
                    index: opts.index,
                };
                lp.open_file(path, open, move |lp, r| self.file_opened(lp, r, cb))
            }
            FileSource::File(file) => lp.queue_work(
                move || stat(file),
                move |lp, _, r| {
                    let r = r.unwrap_or_else(|source| {
                        Err(FileError::Work {
                            path: PathBuf::new(),
                            source,
                        })
                    });
                    self.file_opened(lp, r, cb)
                },
            ),
        };
        opened.map(drop).map_err(Error::from)
    }

    fn file_opened(
        self,
        lp: &mut Loop,
        opened: std::result::Result<OpenedFile, FileError>,
        cb: SentCb,
    ) {
        if exchange_ref(lp, self.conn, self.seq).is_none_or(|x| x.res.head_sent()) {
            return cb(lp, self, FileSent::Gone);
        }
        let opened = match opened {
            Ok(f) if f.info.kind == FileKind::Directory => {
                return cb(lp, self, FileSent::Directory { path: f.info.path })
            }
            Ok(f) if f.info.kind == FileKind::Regular => f,
            Ok(_) => return self.answer_error(lp, 403, cb),
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
                return self.answer_error(lp, 404, cb)
            }
            Err(e) if e.is_not_found() => return self.answer_error(lp, 404, cb),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                return self.answer_error(lp, 403, cb)
            }
            Err(_) => return self.answer_error(lp, 500, cb),
        };
        let status = self.answer_file(lp, opened).unwrap_or(500);
        cb(lp, self, FileSent::Answered { status })
    }

    fn answer_error(self, lp: &mut Loop, status: u16, cb: SentCb) {
        let body = format!("{}\n", super::status::reason_phrase(status));
        let _ = self.write_head(lp, status, &[("Content-Type", "text/plain; charset=utf-8")]);
        let _ = self.end(lp, body.as_bytes());
        cb(lp, self, FileSent::Answered { status })
    }

    /// Sets the head from the file's validators and queues the body;
    /// returns the status sent.
    fn answer_file(self, lp: &mut Loop, opened: OpenedFile) -> Result<u16> {
        let OpenedFile { file, info } = opened;
        let etag = file_etag(info.inode, info.size, info.mtime_secs, info.mtime_nsecs);
        let last_modified = format_imf_fixdate(info.mtime_secs.max(0) as u64);
        let x = exchange_ref(lp, self.conn, self.seq).ok_or_else(|| Error::Closed("response"))?;
        let method = x.req.method.as_str().as_bytes();
        let validators = FileValidators {
            size: info.size,
            mtime_secs: info.mtime_secs,
            etag: &etag,
        };
        let reply = file_reply(method, &x.req.headers, validators);
        let head = method == b"HEAD";
        let has_type = x.res.headers.get("content-type").is_some();
        self.set_header(lp, "ETag", &etag)?;
        self.set_header(lp, "Last-Modified", &last_modified)?;
        let (status, start, len) = match reply {
            FileReply::NotModified => {
                self.set_status(lp, 304)?;
                self.end(lp, b"")?;
                return Ok(304);
            }
            FileReply::Unsatisfiable => {
                self.set_status(lp, 416)?;
                self.set_header(lp, "Content-Range", format!("bytes */{}", info.size))?;
                self.end(lp, b"")?;
                return Ok(416);
            }
            FileReply::Whole => (200, 0, info.size),
            FileReply::Partial { start, end } => {
                let range = format!("bytes {start}-{end}/{}", info.size);
                self.set_header(lp, "Content-Range", &range)?;
                (206, start, end - start + 1)
            }
        };
        self.set_status(lp, status)?;
        self.set_header(lp, "Accept-Ranges", "bytes")?;
        if !has_type {
            let name = info.path.to_string_lossy();
            self.set_header(lp, "Content-Type", content_type_for(&name))?;
        }
        self.set_header(lp, "Content-Length", len.to_string())?;
        if head || len == 0 {
            self.end(lp, b"")?;
            return Ok(status);
        }
        self.queue_file_body(
            lp,
            FileBody {
                file,
                offset: start,
                len,
            },
        )?;
        Ok(status)
    }

    /// Sends the head, then the file range: now if this response is at the
    /// front of its connection, else when it gets there.
    fn queue_file_body(self, lp: &mut Loop, body: FileBody) -> Result<()> {
        output::send(lp, self.conn, self.seq, &[], false).map_err(|_| Error::Closed("response"))?;
        let cn = conn_of(lp, self.conn).ok_or_else(|| Error::Closed("response"))?;
        let front = cn.exchanges.front().map(|x| x.seq) == Some(self.seq);
        let x = exchange(lp, self.conn, self.seq).ok_or_else(|| Error::Closed("response"))?;
        x.res.phase = ResponsePhase::Finished;
        if front {
            write_file_front(lp, self.conn, body);
            conn::advance(lp, self.conn);
        } else {
            x.file = Some(body);
        }
        Ok(())
    }
}
