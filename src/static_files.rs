//! A static file server in one handler: `eddy-server --root DIR` uses it.
//!
//! The request path is percent-decoded and its dot segments resolved
//! (`file_path_under_root`: climbing above the root is a 400), then
//! `Response::send_file` opens the file on the work pool, confined to the
//! root by where the file really is (a symlink leading out is a 403), with
//! `index.html` for a directory asked for with a trailing slash, and
//! answers Range, HEAD and conditional GET (206, 416, 304) with the body
//! sent by `sendfile(2)`. A directory asked for without the slash is a 301
//! to the path with it (as nginx and Node's `serve-static` answer), so the
//! index page's relative links resolve under the directory.

use std::path::Path;

use eddy_http::parser::Method;
use eddy_http::server::{file_path_under_root, FileSent, Request, Response, SendFileOptions};
use eddy_loop::Loop;

fn text(lp: &mut Loop, res: Response, status: u16, body: &str) {
    let _ = res.write_head(lp, status, &[("Content-Type", "text/plain")]);
    let _ = res.end(lp, body.as_bytes());
}

/// Answers `req` with the file it names under `root` (a canonical path).
pub fn serve(lp: &mut Loop, req: Request, res: Response, root: &Path) {
    if !matches!(req.method(lp), Some(Method::Get | Method::Head)) {
        let _ = res.set_header(lp, "Allow", "GET, HEAD");
        return text(lp, res, 405, "method not allowed\n");
    }
    let target = req.target_bytes(lp).unwrap_or(b"/");
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    let Ok(relative) = file_path_under_root(path) else {
        return text(lp, res, 400, "bad path\n");
    };
    // Only a path that names a directory (ends in `/`) gets its index; one
    // without the slash learns it is a directory and is redirected.
    let is_dir_path = path.ends_with(b"/");
    let opts = SendFileOptions {
        within: Some(root.to_path_buf()),
        index: is_dir_path.then(|| "index.html".into()),
    };
    let location = [&target[..path.len()], b"/", &target[path.len()..]].concat();
    let mut file = root.join(relative);
    if is_dir_path {
        // Keep the slash, so a file named as a directory is ENOTDIR (404).
        file.push("");
    }
    let sent = res.send_file_then(lp, file, opts, move |lp, res, sent| {
        if let FileSent::Directory { .. } = sent {
            let _ = res.set_header(lp, "Location", &location);
            text(lp, res, 301, "moved permanently\n");
        }
    });
    if sent.is_err() {
        text(lp, res, 500, "cannot open\n");
    }
}
