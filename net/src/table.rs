//! The net layer's tables, kept inside the loop as an extension so that
//! every callback (which gets `&mut Loop`) can reach them.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use eddy_loop::{ExtensionKey, Loop, Table};

use crate::listener::ListenerState;
use crate::stream::{Stream, StreamState};
use crate::sys;

/// Bytes read per `recv`: one buffer, owned by the loop and shared by every
/// stream, so an idle connection holds no read buffer.
pub(crate) const READ_BUF_SIZE: usize = 64 * 1024;

pub(crate) struct Net {
    pub streams: Table<StreamState>,
    pub listeners: Table<ListenerState>,
    /// Taken out while a read callback runs, then put back.
    pub read_buf: Vec<u8>,
    /// Freed at EMFILE to accept and drop a pending connection.
    pub reserve_fd: Option<OwnedFd>,
    /// `Stream::on_close` observers (few streams have one, so they live
    /// here rather than in every stream's state).
    pub close_observers: HashMap<Stream, CloseObserver>,
}

pub(crate) type CloseObserver = Box<dyn FnOnce(&mut Loop, Stream)>;

impl Net {
    fn new() -> Net {
        Net {
            streams: Table::new(),
            listeners: Table::new(),
            read_buf: Vec::new(),
            reserve_fd: sys::open_reserve().ok(),
            close_observers: HashMap::new(),
        }
    }
}

static NET: ExtensionKey<Net> = ExtensionKey::new();

/// The net tables, made on first use.
#[inline]
pub(crate) fn net(lp: &mut Loop) -> &mut Net {
    lp.keyed_extension(&NET, Net::new)
}

/// The net tables, if anything of the net layer was ever made.
#[inline]
pub(crate) fn net_ref(lp: &Loop) -> Option<&Net> {
    lp.keyed_extension_ref(&NET)
}
