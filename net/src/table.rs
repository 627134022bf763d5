//! The net layer's tables, kept inside the loop as an extension so that
//! every callback (which gets `&mut Loop`) can reach them.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use eddy_loop::{ExtensionKey, Loop};
use slab::Slab;

use crate::listener::ListenerState;
use crate::stream::{Stream, StreamState};
use crate::sys;

/// Bytes read per `recv`: one buffer, owned by the loop and shared by every
/// stream, so an idle connection holds no read buffer.
pub(crate) const READ_BUF_SIZE: usize = 64 * 1024;

pub(crate) struct Net {
    pub streams: Slab<StreamState>,
    pub listeners: Slab<ListenerState>,
    next_gen: u32,
    /// Taken out while a read callback runs, then put back.
    pub read_buf: Vec<u8>,
    /// Freed at EMFILE to accept and drop a pending connection.
    pub reserve_fd: Option<OwnedFd>,
    /// `Stream::on_close` observers by stream index (few streams have one,
    /// so they live here rather than in every stream's state).
    pub close_observers: HashMap<u32, (u32, CloseObserver)>,
}

pub(crate) type CloseObserver = Box<dyn FnOnce(&mut Loop, Stream)>;

impl Net {
    fn new() -> Net {
        Net {
            streams: Slab::new(),
            listeners: Slab::new(),
            next_gen: 0,
            read_buf: Vec::new(),
            reserve_fd: sys::open_reserve().ok(),
            close_observers: HashMap::new(),
        }
    }

    pub fn next_gen(&mut self) -> u32 {
        self.next_gen = self.next_gen.wrapping_add(1);
        self.next_gen
    }
}

static NET: ExtensionKey<Net> = ExtensionKey::new();

pub(crate) fn net(lp: &mut Loop) -> &mut Net {
    lp.keyed_extension(&NET, Net::new)
}
