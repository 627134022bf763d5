//! A static file server in one handler: `eddy-server --root DIR` uses it.
//!
//! The request path is percent-decoded and its dot segments resolved
//! (`file_path_under_root`: climbing above the root is a 400), then
//! `Response::send_file` opens the file on the work pool, confined to the
//! root by where the file really is (a symlink leading out is a 403), with
//! `index.html` for a directory, and answers Range, HEAD and conditional
//! GET (206, 416, 304) with the body sent by `sendfile(2)`.

use std::path::Path;

use eddy_http::parser::Method;
use eddy_http::server::{file_path_under_root, Request, Response, SendFileOptions};
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
    let opts = SendFileOptions {
        within: Some(root.to_path_buf()),
        index: Some("index.html".into()),
    };
    if res.send_file(lp, root.join(relative), opts).is_err() {
        text(lp, res, 500, "cannot open\n");
    }
}
