//! Writes that copy nothing into the queue: `send_file` (sendfile(2)) and
//! `write_shared`, with real sockets on 127.0.0.1 and real temp files.

mod common;

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use common::{any_port, pattern, watchdog};
use eddy_loop::{Loop, RunMode};
use eddy_net::{ConnectOptions, ListenOptions, Listener, ReadEvent, SharedBytes, Stream};

/// A temp file of `len` pattern bytes, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, len: usize) -> TempFile {
        let path = std::env::temp_dir().join(format!("eddy-zc-{}-{name}", std::process::id()));
        let mut f = File::create(&path).unwrap();
        let data: Vec<u8> = (0..len).map(pattern).collect();
        f.write_all(&data).unwrap();
        TempFile(path)
    }

    fn open(&self) -> File {
        File::open(&self.0).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the reading side saw.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    eof: bool,
    reads: usize,
}

/// A reader that pauses after every read and resumes from a 1 ms timeout:
/// slower than loopback, so the sender's queue fills and drains many times.
fn slow_reader(lp: &mut Loop, s: Stream, seen: Rc<RefCell<Seen>>) {
    let sn = seen.clone();
    s.read_start(lp, move |lp, s, ev| match ev {
        ReadEvent::Data(b) => {
            let mut seen = sn.borrow_mut();
            seen.bytes.extend_from_slice(b);
            seen.reads += 1;
            drop(seen);
            s.read_stop(lp).unwrap();
            let again = sn.clone();
            lp.set_timeout(1, move |lp, _| {
                if s.is_active(lp) {
                    slow_reader(lp, s, again);
                }
            });
        }
        ReadEvent::Eof => sn.borrow_mut().eof = true,
        ReadEvent::Error(e) => panic!("reader: {e}"),
    })
    .unwrap();
}

/// A listener whose first connection is handed to `serve`, and a client
/// connected to it, handed to `client`.
fn pair(
    lp: &mut Loop,
    serve: impl FnOnce(&mut Loop, Stream) + 'static,
    client: impl FnOnce(&mut Loop, Stream) + 'static,
) {
    let serve = Cell::new(Some(serve));
    let l = Listener::bind(
        lp,
        any_port(),
        &ListenOptions::default(),
        move |lp, l, c| {
            l.close(lp, |_, _| {}).unwrap();
            if let Some(serve) = serve.take() {
                serve(lp, c.unwrap());
            }
        },
    )
    .unwrap();
    let addr = l.local_addr(lp).unwrap();
    Stream::connect(lp, addr, &ConnectOptions::default(), move |lp, s, r| {
        r.unwrap();
        client(lp, s);
    })
    .unwrap();
}

#[test]
fn a_file_larger_than_the_socket_buffers_reaches_a_slow_reader_in_order() {
    const LEN: usize = 16 << 20;
    let file = TempFile::new("big", LEN);
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 60);
    let seen = Rc::new(RefCell::new(Seen::default()));
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let f = file.open();
    let lg = log.clone();
    pair(
        &mut lp,
        move |lp, s| {
            let lg2 = lg.clone();
            s.on_drain(lp, move |lp, s| {
                lg2.borrow_mut()
                    .push(format!("drain {}", s.write_queue_size(lp).unwrap()))
            })
            .unwrap();
            // A head, the file, a tail: they arrive in this order.
            assert!(s.write(lp, b"HEAD").unwrap());
            let lg3 = lg.clone();
            let below = s
                .send_file(lp, Rc::new(f), 0, LEN as u64, move |lp, s, r| {
                    r.unwrap();
                    lg3.borrow_mut().push(format!(
                        "file done, {} written",
                        s.bytes_written(lp).unwrap()
                    ));
                })
                .unwrap();
            assert!(!below, "16 MiB is above the high-water mark");
            let queued = s.write_queue_size(lp).unwrap();
            assert!(
                queued > 0 && queued <= LEN,
                "the kernel did not take it all: {queued}"
            );
            lg.borrow_mut().push("queued".into());
            s.write_shared(lp, SharedBytes::from(&b"TAIL"[..])).unwrap();
            s.end(lp).unwrap();
        },
        {
            let seen = seen.clone();
            move |lp, s| slow_reader(lp, s, seen)
        },
    );
    lp.run(RunMode::Default);
    let seen = seen.borrow();
    assert!(seen.eof);
    assert_eq!(seen.bytes.len(), 4 + LEN + 4);
    assert_eq!(&seen.bytes[..4], b"HEAD");
    assert_eq!(&seen.bytes[4 + LEN..], b"TAIL");
    let body = &seen.bytes[4..4 + LEN];
    if let Some(i) = (0..LEN).find(|&i| body[i] != pattern(i)) {
        panic!("file byte {i} differs");
    }
    assert!(seen.reads > 16, "the reader was slow: {} reads", seen.reads);
    assert_eq!(
        *log.borrow(),
        [
            "queued".to_string(),
            format!("file done, {} written", 4 + LEN + 4),
            "drain 0".to_string(),
        ],
        "completion and drain come from the pending phase, after the call"
    );
}

#[test]
fn a_range_of_a_shared_file_goes_to_many_streams() {
    const LEN: usize = 300_000;
    let file = TempFile::new("range", LEN);
    let shared = Rc::new(file.open());
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (offset, len) = (12_345usize, 200_000usize);
    let mut seens = Vec::new();
    let done = Rc::new(Cell::new(0));
    for _ in 0..4 {
        let seen = Rc::new(RefCell::new(Seen::default()));
        seens.push(seen.clone());
        let (f, d) = (shared.clone(), done.clone());
        pair(
            &mut lp,
            move |lp, s| {
                s.send_file(lp, f, offset as u64, len as u64, move |lp, s, r| {
                    r.unwrap();
                    d.set(d.get() + 1);
                    s.end(lp).unwrap();
                })
                .unwrap();
            },
            move |lp, s| slow_reader(lp, s, seen),
        );
    }
    lp.run(RunMode::Default);
    assert_eq!(done.get(), 4);
    assert_eq!(Rc::strong_count(&shared), 1, "every stream let the file go");
    for seen in seens {
        let seen = seen.borrow();
        assert!(seen.eof);
        assert_eq!(seen.bytes.len(), len);
        assert!((0..len).all(|i| seen.bytes[i] == pattern(offset + i)));
    }
}

#[test]
fn send_file_refuses_what_it_cannot_send() {
    let file = TempFile::new("small", 100);
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let checked = Rc::new(Cell::new(false));
    let c = checked.clone();
    pair(
        &mut lp,
        move |lp, s| {
            let past = s.send_file(lp, file.open(), 50, 51, |_, _, _| panic!("not queued"));
            let msg = past.unwrap_err().to_string();
            assert!(msg.contains("past the end of a 100-byte file"), "{msg}");
            let dev_null = File::open("/dev/null").unwrap();
            let not_regular = s.send_file(lp, dev_null, 0, 0, |_, _, _| panic!("not queued"));
            assert!(not_regular
                .unwrap_err()
                .to_string()
                .contains("not a regular file"));
            // An empty range completes (from the pending phase).
            let c2 = c.clone();
            s.send_file(lp, file.open(), 100, 0, move |lp, s, r| {
                r.unwrap();
                c2.set(true);
                s.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
            assert!(!c.get(), "not from inside the call");
            drop(file);
        },
        |lp, s| {
            s.read_start(lp, |lp, s, ev| {
                if let ReadEvent::Eof | ReadEvent::Error(_) = ev {
                    s.close(lp, |_, _| {}).unwrap();
                }
            })
            .unwrap()
        },
    );
    lp.run(RunMode::Default);
    assert!(checked.get());
}

#[test]
fn a_file_that_shrinks_while_queued_fails_the_write() {
    const LEN: usize = 1 << 20;
    let file = TempFile::new("shrinks", LEN);
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let result = Rc::new(RefCell::new(None));
    let r = result.clone();
    let path = file.0.clone();
    pair(
        &mut lp,
        move |lp, s| {
            s.cork(lp).unwrap();
            s.send_file(
                lp,
                File::open(&path).unwrap(),
                0,
                LEN as u64,
                move |lp, s, res| {
                    *r.borrow_mut() = Some(res.map_err(|e| e.raw_os_error()));
                    assert!(
                        s.write(lp, b"later").is_err(),
                        "a failed stream refuses writes"
                    );
                    let _ = s.close(lp, |_, _| {});
                },
            )
            .unwrap();
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(10)
                .unwrap();
            s.uncork(lp).unwrap();
        },
        |lp, s| {
            s.read_start(lp, |lp, s, ev| {
                if let ReadEvent::Eof | ReadEvent::Error(_) = ev {
                    s.close(lp, |_, _| {}).unwrap();
                }
            })
            .unwrap()
        },
    );
    lp.run(RunMode::Default);
    assert_eq!(*result.borrow(), Some(Err(Some(libc::ENODATA))));
    drop(file);
}

#[test]
fn a_reader_that_goes_away_mid_file_fails_the_write_without_killing_us() {
    const LEN: usize = 16 << 20;
    let file = TempFile::new("reset", LEN);
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let outcome = Rc::new(RefCell::new(None));
    let o = outcome.clone();
    let f = file.open();
    pair(
        &mut lp,
        move |lp, s| {
            s.send_file(lp, f, 0, LEN as u64, move |lp, s, r| {
                *o.borrow_mut() = Some(r.is_err());
                let _ = s.close(lp, |_, _| {});
            })
            .unwrap();
        },
        |lp, s| {
            // Read a little, then close with unread data: a reset.
            s.read_start(lp, |lp, s, ev| {
                if let ReadEvent::Data(_) = ev {
                    let _ = s.close(lp, |_, _| {});
                }
            })
            .unwrap()
        },
    );
    lp.run(RunMode::Default);
    assert_eq!(
        *outcome.borrow(),
        Some(true),
        "the file's callback got the error"
    );
}

#[test]
fn one_shared_block_is_queued_on_many_streams_without_a_copy() {
    const STREAMS: usize = 8;
    const BLOCK: usize = 64 * 1024;
    const ROUNDS: usize = 256;
    let block: Rc<[u8]> = (0..BLOCK).map(pattern).collect::<Vec<_>>().into();
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 60);
    let seens: Vec<Rc<RefCell<Seen>>> = (0..STREAMS).map(|_| Rc::default()).collect();
    let checked = Rc::new(Cell::new(0));
    for seen in &seens {
        let (b, c) = (block.clone(), checked.clone());
        let seen = seen.clone();
        pair(
            &mut lp,
            move |lp, s| {
                // 16 MiB per stream, far more than the sockets hold: most
                // of it waits in the queue, as references to one block.
                let before = Rc::strong_count(&b);
                for _ in 0..ROUNDS {
                    let one = SharedBytes::new(b.clone());
                    s.write_shared(lp, one.slice(..BLOCK / 2)).unwrap();
                    s.write_shared(lp, one.slice(BLOCK / 2..)).unwrap();
                }
                let queued = s.write_queue_size(lp).unwrap();
                assert!(queued >= 4 << 20, "only {queued} bytes queued");
                let held = Rc::strong_count(&b) - before;
                assert!(
                    held >= queued / (BLOCK / 2),
                    "{queued} bytes queued as {held} references to the block"
                );
                c.set(c.get() + 1);
                s.write_shared_with(lp, SharedBytes::from(&b"END"[..]), |lp, s, r| {
                    r.unwrap();
                    s.end(lp).unwrap();
                })
                .unwrap();
            },
            move |lp, s| slow_reader(lp, s, seen),
        );
    }
    lp.run(RunMode::Default);
    assert_eq!(checked.get(), STREAMS);
    assert_eq!(Rc::strong_count(&block), 1, "every reference was let go");
    for seen in seens {
        let seen = seen.borrow();
        assert!(seen.eof);
        assert_eq!(seen.bytes.len(), ROUNDS * BLOCK + 3);
        for round in 0..ROUNDS {
            assert!(seen.bytes[round * BLOCK..(round + 1) * BLOCK] == block[..]);
        }
        assert_eq!(&seen.bytes[ROUNDS * BLOCK..], b"END");
    }
}
