//! Echo through real loopback sockets: volume with backpressure, many
//! connections, half-close both ways, Unix sockets, closing with writes
//! pending, a peer reset mid-write.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{echo_server, pattern, watchdog};
use eddy_loop::{Loop, RunMode, Timer};
use eddy_net::{
    Address, ConnectOptions, Error, ListenOptions, Listener, ReadEvent, Stream,
    DEFAULT_HIGH_WATER_MARK,
};

const TOTAL: usize = 64 << 20;
const CHUNK: usize = 64 << 10;

struct Pump {
    /// The whole stream, computed once: sending and checking are then
    /// memcpy and memcmp, not a call per byte (the per-byte version kept
    /// the test on the CPU for ~2 s in a debug build, long enough for a
    /// loaded machine to starve it into TCP persist-timer stalls).
    stream: Vec<u8>,
    sent: usize,
    received: usize,
    peak_queue: usize,
}

fn pump(lp: &mut Loop, s: Stream, st: &Rc<RefCell<Pump>>) {
    loop {
        let sent = st.borrow().sent;
        if sent >= TOTAL {
            return;
        }
        let chunk = st.borrow().stream[sent..sent + CHUNK].to_vec();
        let below = s.write_vec(lp, chunk).unwrap();
        let mut p = st.borrow_mut();
        p.sent += CHUNK;
        p.peak_queue = p.peak_queue.max(s.write_queue_size(lp).unwrap());
        if !below {
            return; // wait for drain
        }
    }
}

#[test]
fn echo_64_mib_with_backpressure_on_both_sides() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 120);
    let server_peak = Rc::new(Cell::new(0usize));
    let sp = server_peak.clone();
    let listener = Listener::bind(
        &mut lp,
        common::any_port(),
        &ListenOptions::default(),
        move |lp, _, conn| {
            let s = conn.unwrap();
            let sp = sp.clone();
            let on_read = move |lp: &mut Loop, s: Stream, ev: ReadEvent<'_>| {
                if let ReadEvent::Data(bytes) = ev {
                    let below = s.write(lp, bytes).unwrap();
                    sp.set(sp.get().max(s.write_queue_size(lp).unwrap()));
                    if !below {
                        s.read_stop(lp).unwrap();
                    }
                }
            };
            let resume = on_read.clone();
            s.on_drain(lp, move |lp, s| s.read_start(lp, resume.clone()).unwrap())
                .unwrap();
            s.read_start(lp, on_read).unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();

    let st = Rc::new(RefCell::new(Pump {
        stream: (0..TOTAL).map(pattern).collect(),
        sent: 0,
        received: 0,
        peak_queue: 0,
    }));
    let (st1, st2, st3) = (st.clone(), st.clone(), st.clone());
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, r| {
            r.unwrap();
            s.on_drain(lp, move |lp, s| pump(lp, s, &st1)).unwrap();
            s.read_start(lp, move |lp, s, ev| {
                let ReadEvent::Data(bytes) = ev else {
                    panic!("unexpected {ev:?}")
                };
                let mut p = st2.borrow_mut();
                let at = p.received;
                if bytes != &p.stream[at..at + bytes.len()] {
                    let i = (0..bytes.len())
                        .find(|&i| bytes[i] != p.stream[at + i])
                        .unwrap_or(0);
                    panic!(
                        "byte {}: got {}, sent {}",
                        at + i,
                        bytes[i],
                        p.stream[at + i]
                    );
                }
                p.received += bytes.len();
                if p.received == TOTAL {
                    drop(p);
                    s.close(lp, move |lp, _| listener.close(lp, |_, _| {}).unwrap())
                        .unwrap();
                }
            })
            .unwrap();
            pump(lp, s, &st3);
        },
    )
    .unwrap();
    lp.run(RunMode::Default);

    let p = st.borrow();
    assert_eq!(p.received, TOTAL);
    // Bounded queues: at most one read or one chunk beyond the mark.
    let bound = DEFAULT_HIGH_WATER_MARK + CHUNK;
    assert!(
        p.peak_queue <= bound,
        "client queue peaked at {}",
        p.peak_queue
    );
    assert!(
        server_peak.get() <= bound,
        "server queue peaked at {}",
        server_peak.get()
    );
}

#[test]
fn two_thousand_concurrent_connections_each_echo_1_kib() {
    eddy_net::raise_fd_limit().unwrap();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 120);
    let opts = ListenOptions {
        backlog: 4096,
        ..ListenOptions::default()
    };
    let (listener, addr) = echo_server(&mut lp, &opts);
    let done = Rc::new(Cell::new(0usize));
    const N: usize = 2000;
    for i in 0..N {
        let done = done.clone();
        Stream::connect(
            &mut lp,
            addr,
            &ConnectOptions::default(),
            move |lp, s, r| {
                r.unwrap();
                let msg: Vec<u8> = (0..1024).map(|k| pattern(i * 1024 + k)).collect();
                s.write(lp, &msg).unwrap();
                let mut got = Vec::new();
                s.read_start(lp, move |lp, s, ev| {
                    let ReadEvent::Data(bytes) = ev else {
                        panic!("connection {i}: {ev:?}")
                    };
                    got.extend_from_slice(bytes);
                    if got.len() == 1024 {
                        assert_eq!(got, msg);
                        done.set(done.get() + 1);
                        s.close(lp, |_, _| {}).unwrap();
                        if done.get() == N {
                            listener.close(lp, |_, _| {}).unwrap();
                        }
                    }
                })
                .unwrap();
            },
        )
        .unwrap();
    }
    lp.run(RunMode::Default);
    assert_eq!(done.get(), N);
}

#[test]
fn client_half_close_gets_the_rest_of_the_echo_then_eof() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (listener, addr) = echo_server(&mut lp, &ListenOptions::default());
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    let opts = ConnectOptions {
        allow_half_open: true,
        ..ConnectOptions::default()
    };
    Stream::connect(&mut lp, addr, &opts, move |lp, s, r| {
        r.unwrap();
        s.write(lp, b"hello, ").unwrap();
        s.write(lp, b"world").unwrap();
        let l2 = l.clone();
        s.shutdown(lp, move |_, _, r| {
            r.unwrap();
            l2.borrow_mut().push("shutdown".into());
        })
        .unwrap();
        assert!(matches!(s.write(lp, b"late"), Err(Error::WriteAfterEnd)));
        let mut got = Vec::new();
        s.read_start(lp, move |lp, s, ev| match ev {
            ReadEvent::Data(b) => got.extend_from_slice(b),
            ReadEvent::Eof => {
                l.borrow_mut().push(String::from_utf8(got.clone()).unwrap());
                l.borrow_mut().push("eof".into());
                s.close(lp, move |lp, _| listener.close(lp, |_, _| {}).unwrap())
                    .unwrap();
            }
            ReadEvent::Error(e) => panic!("{e}"),
        })
        .unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(*log.borrow(), vec!["shutdown", "hello, world", "eof"]);
}

#[test]
fn server_half_close_lets_the_client_keep_sending() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let got_by_server: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got_by_server.clone();
    let opts = ListenOptions {
        allow_half_open: true,
        ..ListenOptions::default()
    };
    let listener = Listener::bind(&mut lp, common::any_port(), &opts, move |lp, l, conn| {
        let s = conn.unwrap();
        s.write(lp, b"bye").unwrap();
        s.shutdown(lp, |_, _, r| r.unwrap()).unwrap();
        let g = g.clone();
        s.read_start(lp, move |lp, s, ev| match ev {
            ReadEvent::Data(b) => g.borrow_mut().extend_from_slice(b),
            ReadEvent::Eof => {
                s.close(lp, move |lp, _| l.close(lp, |_, _| {}).unwrap())
                    .unwrap();
            }
            ReadEvent::Error(e) => panic!("{e}"),
        })
        .unwrap();
    })
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    let got_by_client: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got_by_client.clone();
    let opts = ConnectOptions {
        allow_half_open: true,
        ..ConnectOptions::default()
    };
    Stream::connect(&mut lp, addr, &opts, move |lp, s, r| {
        r.unwrap();
        s.read_start(lp, move |lp, s, ev| match ev {
            ReadEvent::Data(b) => g.borrow_mut().extend_from_slice(b),
            ReadEvent::Eof => {
                // Our side is still open: the server reads this.
                s.write(lp, b"still here").unwrap();
                s.shutdown(lp, |lp, s, r| {
                    r.unwrap();
                    s.close(lp, |_, _| {}).unwrap();
                })
                .unwrap();
            }
            ReadEvent::Error(e) => panic!("{e}"),
        })
        .unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(&*got_by_client.borrow(), b"bye");
    assert_eq!(&*got_by_server.borrow(), b"still here");
}

#[test]
fn unix_socket_echo_and_an_existing_path_is_refused() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let path = std::env::temp_dir().join(format!("eddy-echo-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = Listener::bind_unix(&mut lp, &path, &ListenOptions::default(), |lp, _, conn| {
        common::start_echo(lp, conn.unwrap());
    })
    .unwrap();
    assert_eq!(
        listener.local_addr(&lp).unwrap(),
        Address::Unix(path.clone())
    );
    let err =
        Listener::bind_unix(&mut lp, &path, &ListenOptions::default(), |_, _, _| {}).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");

    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got.clone();
    let opts = ConnectOptions {
        allow_half_open: true,
        ..ConnectOptions::default()
    };
    Stream::connect(
        &mut lp,
        Address::Unix(path.clone()),
        &opts,
        move |lp, s, r| {
            r.unwrap();
            assert!(matches!(s.peer_addr(lp).unwrap(), Address::Unix(_)));
            s.write(lp, b"over a unix socket").unwrap();
            s.shutdown(lp, |_, _, r| r.unwrap()).unwrap();
            s.read_start(lp, move |lp, s, ev| match ev {
                ReadEvent::Data(b) => g.borrow_mut().extend_from_slice(b),
                ReadEvent::Eof => s
                    .close(lp, move |lp, _| listener.close(lp, |_, _| {}).unwrap())
                    .unwrap(),
                ReadEvent::Error(e) => panic!("{e}"),
            })
            .unwrap();
        },
    )
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"over a unix socket");
    assert!(
        !path.exists(),
        "closing the listener removes its socket file"
    );
}

#[test]
fn close_with_writes_pending_cancels_them_before_the_close_callback() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    // A server that never reads, so the client's queue cannot drain.
    let server_side: Rc<RefCell<Option<Stream>>> = Rc::default();
    let ss = server_side.clone();
    let listener = Listener::bind(
        &mut lp,
        common::any_port(),
        &ListenOptions::default(),
        move |_, _, conn| {
            *ss.borrow_mut() = Some(conn.unwrap());
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, s, r| {
            r.unwrap();
            for i in 0..64 {
                let l = l.clone();
                s.write_with(lp, vec![b'x'; 256 << 10], move |_, _, r| {
                    if i == 63 {
                        l.borrow_mut()
                            .push(format!("last write: {:?}", r.map_err(|e| e.to_string())));
                    }
                })
                .unwrap();
            }
            assert!(
                s.write_queue_size(lp).unwrap() > 0,
                "16 MiB cannot all fit in the kernel"
            );
            let l = l.clone();
            s.close(lp, move |lp, _| {
                l.borrow_mut().push("closed".into());
                listener.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
            assert!(matches!(s.write(lp, b"x"), Err(Error::Closed("stream"))));
        },
    )
    .unwrap();
    // The accepted stream does not read, so it keeps nothing alive; the
    // run ends once the client and the listener are closed.
    lp.run(RunMode::Default);
    let server_side = server_side.borrow_mut().take().expect("accepted");
    server_side.close(&mut lp, |_, _| {}).unwrap();
    lp.run(RunMode::Default);
    assert_eq!(
        *log.borrow(),
        vec![
            "last write: Err(\"operation cancelled: the stream was closed\")".to_string(),
            "closed".to_string()
        ]
    );
}

#[test]
fn a_peer_reset_mid_write_is_an_error_value_not_a_sigpipe() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let outcome: Rc<RefCell<Option<std::result::Result<(), String>>>> = Rc::default();
    let o = outcome.clone();
    let listener = Listener::bind(
        &mut lp,
        common::any_port(),
        &ListenOptions::default(),
        move |lp, l, conn| {
            let s = conn.unwrap();
            let o = o.clone();
            // Far more than the socket buffers hold: most of it is queued
            // when the peer resets.
            s.write_with(lp, vec![7u8; 32 << 20], move |lp, s, r| {
                *o.borrow_mut() = Some(r.map_err(|e| e.to_string()));
                s.close(lp, |_, _| {}).unwrap();
                l.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        },
    )
    .unwrap();
    let addr = listener.local_addr(&lp).unwrap();
    Stream::connect(&mut lp, addr, &ConnectOptions::default(), |lp, s, r| {
        r.unwrap();
        s.read_start(lp, |lp, s, ev| {
            assert!(matches!(ev, ReadEvent::Data(_)));
            // Closing with unread input makes the kernel send a reset.
            s.close(lp, |_, _| {}).unwrap();
        })
        .unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    let outcome = outcome.borrow().clone().expect("write callback ran");
    let err = outcome.unwrap_err();
    assert!(
        err.contains("Broken pipe") || err.contains("Connection reset"),
        "unexpected error: {err}"
    );
    // The loop goes on.
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    Timer::new(&mut lp)
        .start(&mut lp, 1, 0, move |_, _| f.set(true))
        .unwrap();
    lp.run(RunMode::Default);
    assert!(fired.get());
}
