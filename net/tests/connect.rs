//! Connecting: errors as values, name resolution, connect timeout, local
//! address, IPv6 and dual-stack.

mod common;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use common::{echo_server, watchdog};
use eddy_loop::{Loop, RunMode};
use eddy_net::{ConnectOptions, Error, ListenOptions, Listener, ReadEvent, Stream};

type Outcome = Rc<RefCell<Option<std::result::Result<(), Error>>>>;

fn connect_outcome(lp: &mut Loop, addr: SocketAddr, opts: &ConnectOptions) -> Outcome {
    let out: Outcome = Rc::default();
    let o = out.clone();
    Stream::connect(lp, addr, opts, move |lp, s, r| {
        *o.borrow_mut() = Some(r);
        s.close(lp, |_, _| {}).unwrap();
    })
    .unwrap();
    out
}

#[test]
fn connection_refused_is_an_error_value_naming_the_address() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let out = connect_outcome(
        &mut lp,
        "127.0.0.1:1".parse().unwrap(),
        &ConnectOptions::default(),
    );
    lp.run(RunMode::Default);
    let err = out.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    assert_eq!(
        err.to_string(),
        "connect 127.0.0.1:1: Connection refused (os error 111)"
    );
}

#[test]
fn name_resolution_failure_is_an_error_value() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 60);
    let out: Outcome = Rc::default();
    let o = out.clone();
    let s = Stream::connect_host(
        &mut lp,
        "no-such-host.invalid",
        80,
        &ConnectOptions::default(),
        move |lp, s, r| {
            *o.borrow_mut() = Some(r);
            s.close(lp, |_, _| {}).unwrap();
        },
    )
    .unwrap();
    // Writes made before the connect completes wait in the queue.
    s.write(&mut lp, b"queued").unwrap();
    lp.run(RunMode::Default);
    let err = out.borrow_mut().take().unwrap().unwrap_err();
    assert!(matches!(err, Error::Resolve { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("resolve no-such-host.invalid: "),
        "{err}"
    );
}

#[test]
fn connect_host_resolves_localhost_and_connects() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (listener, addr) = echo_server(&mut lp, &ListenOptions::default());
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let g = got.clone();
    let s = Stream::connect_host(
        &mut lp,
        "localhost",
        addr.port(),
        &ConnectOptions::default(),
        |_, _, r| r.unwrap(),
    )
    .unwrap();
    // Written before the connect completes: flushed once connected.
    s.write(&mut lp, b"early bytes").unwrap();
    s.read_start(&mut lp, move |lp, s, ev| {
        let ReadEvent::Data(b) = ev else {
            panic!("{ev:?}")
        };
        g.borrow_mut().extend_from_slice(b);
        if g.borrow().len() == 11 {
            s.close(lp, move |lp, _| listener.close(lp, |_, _| {}).unwrap())
                .unwrap();
        }
    })
    .unwrap();
    lp.run(RunMode::Default);
    assert_eq!(&*got.borrow(), b"early bytes");
}

#[test]
fn connect_timeout_fires_when_the_peer_never_answers() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    // A listener that never accepts, with a backlog of 0: once one
    // connection waits in it, further SYNs are dropped and connects hang.
    let opts = ListenOptions {
        backlog: 0,
        ..ListenOptions::default()
    };
    let listener = Listener::bind(&mut lp, common::any_port(), &opts, |_, _, _| {}).unwrap();
    listener.pause(&mut lp).unwrap();
    let addr = listener.local_addr(&lp).unwrap().ip().unwrap();
    let out: Outcome = Rc::default();
    let o = out.clone();
    Stream::connect(
        &mut lp,
        addr,
        &ConnectOptions::default(),
        move |lp, filler, r| {
            r.unwrap();
            let opts = ConnectOptions {
                timeout_ms: 200,
                ..ConnectOptions::default()
            };
            let started = lp.now();
            let o = o.clone();
            Stream::connect(lp, addr, &opts, move |lp, s, r| {
                assert!(lp.now() >= started + 200);
                *o.borrow_mut() = Some(r);
                s.close(lp, |_, _| {}).unwrap();
                filler.close(lp, |_, _| {}).unwrap();
                listener.close(lp, |_, _| {}).unwrap();
            })
            .unwrap();
        },
    )
    .unwrap();
    lp.run(RunMode::Default);
    let err = out.borrow_mut().take().unwrap().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
    assert_eq!(
        err.to_string(),
        format!("connect {addr}: timed out after 200 ms")
    );
}

#[test]
fn connect_from_a_chosen_local_address() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    let (listener, addr) = echo_server(&mut lp, &ListenOptions::default());
    let opts = ConnectOptions {
        local_addr: Some("127.0.0.2:0".parse().unwrap()),
        ..ConnectOptions::default()
    };
    let seen: Rc<RefCell<Option<(SocketAddr, SocketAddr)>>> = Rc::default();
    let sn = seen.clone();
    Stream::connect(&mut lp, addr, &opts, move |lp, s, r| {
        r.unwrap();
        let local = s.local_addr(lp).unwrap().ip().unwrap();
        let peer = s.peer_addr(lp).unwrap().ip().unwrap();
        *sn.borrow_mut() = Some((local, peer));
        s.close(lp, move |lp, _| listener.close(lp, |_, _| {}).unwrap())
            .unwrap();
    })
    .unwrap();
    lp.run(RunMode::Default);
    let (local, peer) = seen.borrow().unwrap();
    assert_eq!(local.ip().to_string(), "127.0.0.2");
    assert_eq!(peer, addr);
}

#[test]
fn ipv6_loopback_and_dual_stack_listeners() {
    let mut lp = Loop::new().unwrap();
    watchdog(&mut lp, 30);
    // [::] without ipv6_only accepts IPv4 clients too.
    let any6: SocketAddr = "[::]:0".parse().unwrap();
    let listener = Listener::bind(&mut lp, any6, &ListenOptions::default(), |lp, _, c| {
        common::start_echo(lp, c.unwrap())
    })
    .unwrap();
    let port = listener.local_addr(&lp).unwrap().ip().unwrap().port();
    let done = Rc::new(RefCell::new(Vec::new()));
    for target in [format!("[::1]:{port}"), format!("127.0.0.1:{port}")] {
        let addr: SocketAddr = target.parse().unwrap();
        let done = done.clone();
        Stream::connect(
            &mut lp,
            addr,
            &ConnectOptions::default(),
            move |lp, s, r| {
                r.unwrap();
                s.write(lp, b"v").unwrap();
                s.read_start(lp, move |lp, s, _| {
                    done.borrow_mut().push(target.clone());
                    s.close(lp, |_, _| {}).unwrap();
                    if done.borrow().len() == 2 {
                        listener.close(lp, |_, _| {}).unwrap();
                    }
                })
                .unwrap();
            },
        )
        .unwrap();
    }
    lp.run(RunMode::Default);
    assert_eq!(done.borrow().len(), 2);
}
