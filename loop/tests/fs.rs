//! `Loop::open_file`: open and fstat on the work pool, confinement to a
//! directory, index files.

use std::cell::RefCell;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::rc::Rc;

use eddy_loop::{FileError, FileKind, Loop, OpenFileOptions, OpenedFile, RunMode};

/// A fresh directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("eddy-fs-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn open(path: impl Into<PathBuf>, opts: OpenFileOptions) -> Result<OpenedFile, FileError> {
    let mut lp = Loop::new().unwrap();
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    lp.open_file(path, opts, move |_, r| *o.borrow_mut() = Some(r))
        .unwrap();
    lp.run(RunMode::Default);
    let r = out.borrow_mut().take().expect("the callback ran");
    r
}

#[test]
fn a_file_is_opened_and_stated_off_the_loop() {
    let dir = TempDir::new("stat");
    let path = dir.0.join("hello.txt");
    fs::write(&path, b"hello, world\n").unwrap();
    let f = open(&path, OpenFileOptions::default()).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(f.info.size, 13);
    assert_eq!(f.info.kind, FileKind::Regular);
    assert_eq!(f.info.inode, meta.ino());
    assert_eq!(f.info.device, meta.dev());
    assert_eq!(f.info.mtime_secs, meta.mtime());
    assert_eq!(f.info.modified(), meta.modified().unwrap());
    assert_eq!(f.info.path, path);
    assert_eq!(
        f.file.metadata().unwrap().ino(),
        meta.ino(),
        "the fd is the file"
    );
}

#[test]
fn errors_say_what_was_attempted() {
    let dir = TempDir::new("missing");
    let err = open(dir.0.join("nope"), OpenFileOptions::default()).unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert!(err.to_string().starts_with("open "), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_directory_gives_its_index_file_or_itself() {
    let dir = TempDir::new("index");
    fs::create_dir(dir.0.join("sub")).unwrap();
    fs::write(dir.0.join("sub/index.html"), b"<p>hi</p>").unwrap();
    let plain = open(dir.0.join("sub"), OpenFileOptions::default()).unwrap();
    assert_eq!(plain.info.kind, FileKind::Directory);
    let opts = OpenFileOptions {
        index: Some("index.html".into()),
        ..Default::default()
    };
    let f = open(dir.0.join("sub"), opts.clone()).unwrap();
    assert_eq!(f.info.kind, FileKind::Regular);
    assert_eq!(f.info.size, 9);
    assert_eq!(f.info.path, dir.0.join("sub/index.html"));
    fs::create_dir(dir.0.join("empty")).unwrap();
    assert!(open(dir.0.join("empty"), opts).unwrap_err().is_not_found());
}

#[test]
fn within_refuses_dot_dot_and_symlinks_leading_out() {
    let dir = TempDir::new("within");
    let root = dir.0.join("root");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("in.txt"), b"in").unwrap();
    fs::write(dir.0.join("secret.txt"), b"out").unwrap();
    std::os::unix::fs::symlink(dir.0.join("secret.txt"), root.join("link-out")).unwrap();
    std::os::unix::fs::symlink(root.join("in.txt"), root.join("link-in")).unwrap();
    let opts = OpenFileOptions {
        within: Some(root.clone()),
        ..Default::default()
    };
    assert_eq!(
        open(root.join("in.txt"), opts.clone()).unwrap().info.size,
        2
    );
    assert_eq!(
        open(root.join("link-in"), opts.clone()).unwrap().info.size,
        2
    );
    for escape in ["../secret.txt", "link-out"] {
        match open(root.join(escape), opts.clone()) {
            Err(FileError::Outside { .. }) => {}
            other => panic!("{escape}: {other:?}"),
        }
    }
}
