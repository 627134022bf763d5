//! `eddy-server` operations: `/metrics` scraped by a real Prometheus
//! parser, socket activation (the fd passed by Python, and by
//! `systemd-socket-activate` where installed), and a SIGUSR2 restart under
//! steady load that refuses, fails and loses nothing, after a failed one
//! that leaves the old process serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-server");
const WAIT: Duration = Duration::from_secs(20);

/// A process with its stdout and stderr lines collected by threads (so it
/// never writes into a closed pipe), killed when dropped.
struct Proc {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(r: impl Read + Send + 'static, echo: &'static str) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            eprintln!("[{echo}] {line}");
            if tx.send(line).is_err() {
                // The test is done with it; keep draining.
            }
        }
    });
    rx
}

fn spawn(mut cmd: Command) -> Proc {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = lines(child.stdout.take().unwrap(), "stdout");
    let err = lines(child.stderr.take().unwrap(), "stderr");
    Proc { child, out, err }
}

/// The first line containing `needle`, within `WAIT`.
fn wait_line(rx: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => panic!("no line with {needle:?} within {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("output ended before {needle:?}"),
        }
    }
}

fn port_of(ready_line: &str) -> u16 {
    ready_line
        .rsplit_once(':')
        .unwrap()
        .1
        .trim()
        .parse()
        .unwrap()
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn python(script: &str, args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3")
}

const SCRAPE: &str = r#"
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
port = sys.argv[1]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as r:
    assert r.status == 200, r.status
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    text = r.read().decode()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def samples(name):
    return [s for s in fams[name].samples]
workers = {s.labels["worker"] for s in samples("eddy_loop_iterations")}
assert workers == {"0", "1"}, workers
for s in samples("eddy_loop_iterations"):
    assert s.value >= 1, s
assert fams["eddy_loop_iterations"].type == "counter"
phases = {s.labels["phase"] for s in samples("eddy_loop_phase_seconds")}
assert phases == {"timers", "pending", "idle", "prepare", "poll", "check", "closing"}, phases
delay = fams["eddy_loop_iteration_busy_seconds"]
assert delay.type == "summary", delay.type
quantiles = {s.labels.get("quantile") for s in delay.samples if s.name.endswith("seconds")}
assert quantiles == {"0.5", "0.99"}, quantiles
counts = [s.value for s in delay.samples if s.name.endswith("_count")]
assert len(counts) == 2 and all(c >= 1 for c in counts), counts
assert samples("eddy_loop_events")[0].value >= 1
assert samples("process_resident_memory_bytes")[0].value > 1e5
assert samples("process_open_fds")[0].value >= 4
assert all(0 <= s.value for s in samples("eddy_loop_idle_seconds"))
requests = sum(s.value for s in samples("eddy_http_requests"))
assert requests >= 20, requests
ok = sum(s.value for s in samples("eddy_http_responses") if s.labels["class"] == "2xx")
assert ok >= 20, ok
assert {s.labels["worker"] for s in samples("eddy_http_connections_accepted")} == {"0", "1"}
reasons = {s.labels["reason"] for s in samples("eddy_http_connections_closed")}
assert {"eof", "reset", "keep_alive_timeout", "graceful", "limit"} <= reasons, reasons
assert fams["eddy_http_connections_closed"].type == "counter"
assert sum(s.value for s in samples("eddy_http_received_bytes")) > 20 * 30
assert "eddy_http_parse_errors" in fams
print("ok", len(fams), "families")
"#;

#[test]
fn metrics_are_served_per_worker_in_the_prometheus_text_format() {
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0", "--workers", "2", "--metrics"]);
    let p = spawn(cmd);
    let port = port_of(&wait_line(&p.out, "eddy-server listening on http://"));
    for _ in 0..20 {
        assert!(get(port, "/").ends_with("Hello, World!"));
    }
    // Several scrapes: whichever worker gets one answers for both.
    for _ in 0..4 {
        let out = python(SCRAPE, &[&port.to_string()]);
        assert!(
            out.status.success(),
            "scrape failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Without --metrics there is no such route.
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0"]);
    let plain = spawn(cmd);
    let port = port_of(&wait_line(&plain.out, "eddy-server listening on http://"));
    assert!(get(port, "/metrics").starts_with("HTTP/1.1 404"));
}

/// `/connections` as JSON, parsed by Python: the keep-alive connection
/// the test holds is listed idle with one request served, and the asking
/// one is with its handler.
const CONNECTIONS: &str = r#"
import json, sys, urllib.request
port, held = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/connections", timeout=20) as r:
    assert r.status == 200, r.status
    assert r.headers["Content-Type"] == "application/json"
    page = json.loads(r.read().decode())
by_port = {c["peer"].rsplit(":", 1)[1]: c for c in page["connections"]}
c = by_port[held]
assert c["state"] == "idle" and c["requests"] == 1 and c["in_flight"] == 0, c
assert c["bytes_in"] > 10 and c["bytes_out"] > 10, c
assert c["peer"].startswith("127.0.0.1:"), c
me = [c for c in page["connections"] if c["state"] == "in_handler"]
assert len(me) == 1 and me[0]["in_flight"] == 1, page
print("ok")
"#;

#[test]
fn admin_lists_the_live_connections_as_json() {
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0", "--admin"]);
    let p = spawn(cmd);
    let port = port_of(&wait_line(&p.out, "eddy-server listening on http://"));
    let mut held = TcpStream::connect(("127.0.0.1", port)).unwrap();
    held.set_read_timeout(Some(WAIT)).unwrap();
    held.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    while !String::from_utf8_lossy(&buf).ends_with("Hello, World!") {
        let mut chunk = [0u8; 4096];
        let n = held.read(&mut chunk).unwrap();
        assert!(n > 0, "closed early");
        buf.extend_from_slice(&chunk[..n]);
    }
    let held_port = held.local_addr().unwrap().port().to_string();
    let out = python(CONNECTIONS, &[&port.to_string(), &held_port]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // --admin does not bring /metrics with it.
    assert!(get(port, "/metrics").starts_with("HTTP/1.1 404"));
    // Without --admin there is no such route.
    let mut cmd = Command::new(BIN);
    cmd.args(["--port", "0"]);
    let plain = spawn(cmd);
    let port = port_of(&wait_line(&plain.out, "eddy-server listening on http://"));
    assert!(get(port, "/connections").starts_with("HTTP/1.1 404"));
}

/// Python binds a socket, then execs eddy-server with it as fd 3 under
/// systemd's convention, as a supervisor would.
const ACTIVATE: &str = r#"
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print("port", s.getsockname()[1], flush=True)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[1], [sys.argv[1]] + sys.argv[2:])
"#;

#[test]
fn socket_activation_serves_on_the_passed_socket_instead_of_binding() {
    let mut cmd = Command::new("python3");
    // --port 9 would need root to bind: proof that nothing is bound.
    cmd.args(["-c", ACTIVATE, BIN, "--port", "9", "--workers", "2"]);
    let p = spawn(cmd);
    let port: u16 = wait_line(&p.out, "port ")[5..].parse().unwrap();
    let ready = wait_line(&p.out, "eddy-server listening on http://");
    assert_eq!(port_of(&ready), port, "{ready}");
    for _ in 0..10 {
        assert!(get(port, "/").ends_with("Hello, World!"));
    }
}

#[test]
fn systemd_socket_activate_starts_it_on_its_socket() {
    let Ok(tool) = which("systemd-socket-activate") else {
        eprintln!("systemd-socket-activate is not installed: covered by the Python test only");
        return;
    };
    // A free port for the tool to bind (it takes a fixed address).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(tool);
    cmd.args(["-l", &format!("127.0.0.1:{port}"), BIN, "--port", "9"]);
    let p = spawn(cmd);
    wait_line(&p.err, "Listening on");
    // The tool starts the server on the first connection, which then
    // waits in the socket's queue for it.
    assert!(get(port, "/").ends_with("Hello, World!"));
    let ready = wait_line(&p.out, "eddy-server listening on http://");
    assert_eq!(port_of(&ready), port, "{ready}");
    assert!(get(port, "/").ends_with("Hello, World!"));
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// Load figures shared by the client threads.
#[derive(Default)]
struct Tally {
    responses: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
    progress: Mutex<u64>,
    moved: Condvar,
}

impl Tally {
    fn wait_for(&self, n: u64) {
        let deadline = Instant::now() + WAIT;
        let mut got = self.progress.lock().unwrap();
        while *got < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "load stalled at {} responses", *got);
            got = self.moved.wait_timeout(got, left).unwrap().0;
        }
    }

    fn count(&self) -> u64 {
        *self.progress.lock().unwrap()
    }
}

/// One response on `s`: its head and whether it keeps the connection.
/// `Err(true)` if the connection ended before any byte of it.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<bool, bool> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or(false)?;
            while buf.len() < end + 4 + len {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => return Err(false),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            if !head.starts_with("http/1.1 200") || &buf[end + 4..] != b"Hello, World!" {
                return Err(false);
            }
            return Ok(!head.contains("connection: close"));
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(buf.is_empty()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A client that sends one request at a time on a keep-alive connection,
/// reconnecting when a response says `Connection: close`. Anything else
/// going wrong is counted: a refused connect, or a request that got no
/// complete `200` (no retries: a retried request would hide a loss).
fn client(port: u16, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let mut buf = Vec::new();
    'connect: while !stop.load(Ordering::Relaxed) {
        let mut s = match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => s,
            Err(_) => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        s.set_read_timeout(Some(WAIT)).unwrap();
        while !stop.load(Ordering::Relaxed) {
            if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                continue 'connect;
            }
            match read_response(&mut s, &mut buf) {
                Ok(keep) => {
                    tally.responses.fetch_add(1, Ordering::Relaxed);
                    *tally.progress.lock().unwrap() += 1;
                    tally.moved.notify_all();
                    if !keep {
                        tally.reconnects.fetch_add(1, Ordering::Relaxed);
                        continue 'connect;
                    }
                }
                Err(_) => {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    continue 'connect;
                }
            }
        }
    }
}

/// Puts `from` at `to` in one rename, as a deploy replaces a binary that
/// is running. A hard link, not a copy, where the file system allows: a
/// copy holds the new file open for writing, and a child forked by another
/// test in that moment inherits the fd until its exec, so spawning the
/// copy could fail with ETXTBSY.
fn install(from: &Path, to: &Path) {
    let tmp = to.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(from, &tmp).is_err() {
        std::fs::copy(from, &tmp).unwrap();
    }
    std::fs::rename(&tmp, to).unwrap();
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}

/// The new process is not our child: it is ended by pid when the test is
/// done (or fails).
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

#[test]
fn sigusr2_restarts_under_load_without_refusing_failing_or_losing_a_request() {
    let dir = std::env::temp_dir().join(format!("eddy-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("eddy-server");
    install(Path::new(BIN), &bin);

    let mut cmd = Command::new(&bin);
    cmd.args(["--port", "0", "--workers", "2", "--metrics"]);
    let mut old = spawn(cmd);
    let old_pid = old.child.id();
    let port = port_of(&wait_line(&old.out, "eddy-server listening on http://"));

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (t, s) = (tally.clone(), stop.clone());
            std::thread::spawn(move || client(port, t, s))
        })
        .collect();
    tally.wait_for(300);

    // A broken build: the restart fails, the old process goes on serving.
    std::fs::write(
        dir.join("broken"),
        "#!/bin/sh\necho broken build >&2\nexit 3\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(dir.join("broken")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.join("broken"), perms).unwrap();
    install(&dir.join("broken"), &bin);
    signal(old_pid, "-USR2");
    let failed = wait_line(&old.err, "restart failed");
    assert!(failed.contains("still serving"), "{failed}");
    assert!(failed.contains("exit status: 3"), "{failed}");
    let before = tally.count();
    tally.wait_for(before + 300);

    // The real binary again: this restart takes over.
    install(Path::new(BIN), &bin);
    signal(old_pid, "-USR2");
    let mut new_pid = KillOnDrop(None);
    let handed = wait_line(&old.err, "is listening; pid");
    new_pid.0 = handed
        .split("restart: pid ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok());
    assert!(new_pid.0.is_some(), "{handed}");
    let ready = wait_line(&old.out, "eddy-server listening on http://");
    assert_eq!(port_of(&ready), port);
    // The old process drains and exits 0 while the load goes on.
    let (tx, rx) = std::sync::mpsc::channel();
    let mut child = std::mem::replace(&mut old.child, Command::new("true").spawn().unwrap());
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = rx
        .recv_timeout(WAIT)
        .expect("the old process exits after draining")
        .unwrap();
    assert!(status.success(), "old process: {status}");
    let after_exit = tally.count();
    tally.wait_for(after_exit + 300);

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (responses, refused, failed, reconnects) = (
        tally.responses.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        tally.reconnects.load(Ordering::Relaxed),
    );
    eprintln!(
        "{responses} responses, {reconnects} reconnects on Connection: close, \
         {refused} refused, {failed} failed"
    );
    assert_eq!(refused, 0, "refused connections");
    assert_eq!(failed, 0, "requests without a complete response");
    assert!(reconnects >= 1, "the old process closed its connections");
    if let Some(pid) = new_pid.0 {
        signal(pid, "-TERM");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
