//! Giving back what the net tables kept after a burst of connections.
//!
//! The tables grow to their peak number of streams and listeners and keep
//! that size (a slot is several hundred bytes: 15 000 connections leave
//! megabytes behind). [`shrink_to_fit`] drops the free slots past the last
//! live one and the observers map's spare room. The loop's memory trimmer
//! (`Loop::enable_memory_trim`) runs it before each trim: binding a
//! listener or connecting a stream registers it.

use eddy_loop::{memory, Loop};

use crate::table::net;

/// Gives back the spare capacity of the net layer's tables (see the
/// module docs). Stale stream and listener ids stay stale.
pub fn shrink_to_fit(lp: &mut Loop) {
    let n = net(lp);
    n.streams.shrink_to_fit();
    n.listeners.shrink_to_fit();
    n.close_observers.shrink_to_fit();
}

/// Registers [`shrink_to_fit`] with the loop's memory trimmer (once).
pub(crate) fn register(lp: &mut Loop) {
    memory::add_shrinker(lp, shrink_to_fit);
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use eddy_loop::RunMode;

    use super::*;
    use crate::{ConnectOptions, Error, ListenOptions, Listener, Stream};

    #[test]
    fn a_burst_of_streams_leaves_no_slots_behind_once_shrunk() {
        let mut lp = Loop::new().unwrap();
        let accepted: Rc<RefCell<Vec<Stream>>> = Rc::default();
        let a = accepted.clone();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = Listener::bind(&mut lp, any, &ListenOptions::default(), move |_, _, c| {
            a.borrow_mut().push(c.unwrap())
        })
        .unwrap();
        let addr = l.local_addr(&lp).unwrap();
        let clients: Vec<Stream> = (0..100)
            .map(|_| {
                Stream::connect(
                    &mut lp,
                    addr.clone(),
                    &ConnectOptions::default(),
                    |_, _, r| r.unwrap(),
                )
                .unwrap()
            })
            .collect();
        while accepted.borrow().len() < 100 {
            lp.run(RunMode::Once);
        }
        assert!(net(&mut lp).streams.slot_count() >= 200);
        for &s in clients.iter().chain(accepted.borrow().iter()) {
            s.close(&mut lp, |_, _| {}).unwrap();
        }
        lp.run(RunMode::NoWait);
        assert_eq!(net(&mut lp).streams.len(), 0);
        shrink_to_fit(&mut lp);
        lp.shrink_to_fit();
        assert_eq!(net(&mut lp).streams.slot_count(), 0);
        assert_eq!(net(&mut lp).listeners.slot_count(), 1, "the live listener");
        assert!(lp.handle_slots() <= 1, "only the listener's watcher");
        // Old ids stay stale, new streams work.
        let fresh = Stream::connect(&mut lp, addr, &ConnectOptions::default(), |lp, s, r| {
            r.unwrap();
            s.close(lp, |lp, _| lp.stop()).unwrap();
        })
        .unwrap();
        assert_eq!(
            fresh.0.index(),
            clients[0].0.index(),
            "the slot is made again"
        );
        assert!(matches!(
            clients[0].write(&mut lp, b"x"),
            Err(Error::Closed(_))
        ));
        assert!(!clients[0].is_active(&lp));
        lp.run(RunMode::Default);
        let _ = l.close(&mut lp, |_, _| {});
    }
}
