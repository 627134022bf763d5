//! Helpers for the black-box tests: start a program and wait for the line
//! that says where it listens.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A program under test, killed when dropped.
pub struct Running {
    pub child: Child,
    /// What followed `marker` in its ready line.
    pub addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `program args…` and waits for its first stdout line, which must
/// contain `marker`; returns the rest of that line.
pub fn start(program: &Path, args: &[&str], marker: &str) -> Running {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .split_once(marker)
        .unwrap_or_else(|| panic!("{}: unexpected first line {line:?}", program.display()))
        .1
        .to_string();
    Running { child, addr }
}
