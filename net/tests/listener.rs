//! Listeners: port 0, live-connection count, max_connections, pause and
//! resume, inherited fds, SO_REUSEPORT across two loops, EMFILE.

mod common;

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use common::{any_port, watchdog};
use eddy_loop::{Async, Handle, Loop, RunMode};
use eddy_net::{ConnectOptions, ListenOptions, Listener, ReadEvent, Stream};

#[test]
fn port_zero_reports_the_real_port_and_connections_are_counted() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let accepted: Rc<RefCell<Vec<Stream>>> = Rc::default();
    let a = accepted.clone();
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |_, _, c| a.borrow_mut().push(c.unwrap()),
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    assert_ne!(addr.port(), 0);
    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    while accepted.borrow().len() < 3 {
        lp.run(RunMode::Once);
    }
    assert_eq!(l.connections(&lp).unwrap(), 3);
    let first = accepted.borrow()[0];
    first.close(&mut lp, |_, _| {}).unwrap();
    assert_eq!(l.connections(&lp).unwrap(), 2);
    for s in accepted.borrow().iter().skip(1) {
        s.close(&mut lp, |_, _| {}).unwrap();
    }
    l.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
    drop(clients);
    assert!(l.connections(&lp).is_err(), "closed listener: stale id");
}

#[test]
fn above_max_connections_new_ones_are_accepted_and_closed() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let opts = ListenOptions {
        max_connections: Some(2),
        ..ListenOptions::default()
    };
    let accepted = Rc::new(Cell::new(0));
    let a = accepted.clone();
    let l = Listener::bind(&mut lp, any_port(), &opts, move |lp, _, c| {
        a.set(a.get() + 1);
        let s = c.unwrap();
        s.read_start(lp, |_, _, _| {}).unwrap();
    })
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    let kept: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    while accepted.get() < 2 {
        lp.run(RunMode::Once);
    }
    // The third is accepted by the kernel, then closed by the listener. A
    // thread reads it and wakes the loop with the outcome.
    let mut third = TcpStream::connect(addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let outcome: Rc<RefCell<Option<std::io::Result<usize>>>> = Rc::default();
    let (result_tx, result_rx) = std::sync::mpsc::channel();
    let o = outcome.clone();
    let woke = Async::new(&mut lp, move |lp, me| {
        *o.borrow_mut() = result_rx.try_recv().ok();
        me.close(lp, |_, _| {}).unwrap();
    });
    let waker = woke.sender(&mut lp).unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 1];
        result_tx.send(third.read(&mut buf)).unwrap();
        waker.send().unwrap();
    });
    while outcome.borrow().is_none() {
        lp.run(RunMode::Once);
    }
    t.join().unwrap();
    let r = outcome.borrow_mut().take().unwrap();
    assert!(matches!(r, Ok(0)) || r.is_err(), "closed at once: {r:?}");
    assert_eq!(accepted.get(), 2);
    assert_eq!(l.connections(&lp).unwrap(), 2);
    drop(kept);
}

#[test]
fn paused_listeners_leave_connections_in_the_backlog_until_resumed() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let accepted = Rc::new(Cell::new(0));
    let a = accepted.clone();
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            a.set(a.get() + 1);
            c.unwrap().close(lp, |_, _| {}).unwrap();
            l.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    let addr = l.local_addr(&lp).unwrap().ip().unwrap();
    l.pause(&mut lp).unwrap();
    let _client = TcpStream::connect(addr).unwrap();
    // Paused: nothing is watched, so the loop has nothing left to do.
    assert!(!lp.run(RunMode::Default));
    assert_eq!(accepted.get(), 0);
    l.resume(&mut lp).unwrap();
    lp.run(RunMode::Default);
    assert_eq!(accepted.get(), 1);
}

#[test]
fn listening_on_an_inherited_fd() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let fd: OwnedFd = std_listener.into();
    let l = Listener::from_fd(&mut lp, fd, &ListenOptions::default(), |lp, l, c| {
        let s = c.unwrap();
        s.write(lp, b"from an inherited fd").unwrap();
        s.end(lp).unwrap();
        l.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    assert_eq!(l.local_addr(&lp).unwrap().ip(), Some(addr));
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got.clone();
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, r| {
            r.unwrap();
            s.read_start(lp, move |_, _, ev| {
                if let ReadEvent::Data(b) = ev {
                    g.borrow_mut().extend_from_slice(b);
                }
            })
            .unwrap();
        },
    )
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"from an inherited fd");
}

/// One loop on its own thread, listening with SO_REUSEPORT; answers each
/// connection with its tag and stops when told.
fn reuseport_worker(
    tag: u8,
    port: u16,
    ready: std::sync::mpsc::Sender<(u16, eddy_loop::AsyncSender)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lp = Loop::new().unwrap();
        let opts = ListenOptions {
            reuse_port: true,
            ..ListenOptions::default()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let l = Listener::bind(&mut lp, addr, &opts, move |lp, _, c| {
            let s = c.unwrap();
            s.write(lp, &[tag]).unwrap();
            s.end(lp).unwrap();
        })
        .unwrap();
        let stop = Async::new(&mut lp, move |lp, me| {
            l.close(lp, |_, _| {}).unwrap();
            me.close(lp, |_, _| {}).unwrap();
        });
        let port = l.local_addr(&lp).unwrap().ip().unwrap().port();
        ready.send((port, stop.sender(&mut lp).unwrap())).unwrap();
        lp.run(RunMode::Default);
    })
}

#[test]
fn so_reuseport_lets_two_loops_on_two_threads_accept_on_one_port() {
    let (tx, rx) = std::sync::mpsc::channel();
    let a = reuseport_worker(b'a', 0, tx.clone());
    let (port, stop_a) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let b = reuseport_worker(b'b', port, tx);
    let (port_b, stop_b) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(port, port_b);
    let mut seen = [false, false];
    for _ in 0..2000 {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut tag = [0u8; 1];
        c.read_exact(&mut tag).unwrap();
        seen[(tag[0] - b'a') as usize] = true;
        if seen == [true, true] {
            break;
        }
    }
    stop_a.send().unwrap();
    stop_b.send().unwrap();
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(seen, [true, true], "both loops accepted connections");
}

const EMFILE_CHILD: &str = "EDDY_TEST_EMFILE_CHILD";

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which ends with ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn at_emfile_the_server_keeps_working_and_does_not_spin() {
    if std::env::var_os(EMFILE_CHILD).is_some() {
        return emfile_child();
    }
    // The server runs in a child process (this test binary again) whose
    // RLIMIT_NOFILE is lowered by the shell.
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 48 && exec \"$0\" --exact at_emfile_the_server_keeps_working_and_does_not_spin --nocapture --test-threads=1")
        .arg(&exe)
        .env(EMFILE_CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child = KillOnDrop(child);
    let port: u16 = loop {
        let line = lines.next().expect("child ready line").unwrap();
        // The harness may print "test NAME ... " on the same line first.
        if let Some((_, p)) = line.split_once("emfile child listening on ") {
            break p.trim().parse().unwrap();
        }
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();

    // Far more clients than the child has fds.
    let mut clients: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    for c in clients.iter_mut() {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = c.write_all(b"x");
    }
    // The listener stays readable while clients wait; a server that spins
    // on EMFILE burns a whole core meanwhile. Give it half a second.
    let before = cpu_ticks(child.0.id());
    std::thread::sleep(Duration::from_millis(500));
    let spent = cpu_ticks(child.0.id()) - before;
    assert!(
        spent < 20,
        "server used {spent} ticks of CPU in 0.5 s at EMFILE"
    );

    // Free the fds; a new client is served.
    drop(clients);
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"after emfile").unwrap();
    let mut buf = [0u8; 12];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"after emfile");
}

/// Kills the child server however the test ends, a failed assert included.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn emfile_child() {
    let mut lp = Loop::new().unwrap();
    let errors = Rc::new(Cell::new(0));
    let e = errors.clone();
    let l = Listener::bind(
        &mut lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, _, c| match c {
            Ok(s) => common::start_echo(lp, s),
            Err(_) => e.set(e.get() + 1),
        },
    )
    .unwrap();
    let port = l.local_addr(&lp).unwrap().ip().unwrap().port();
    println!("emfile child listening on {port}");
    std::io::stdout().flush().unwrap();
    lp.run(RunMode::Default);
}
