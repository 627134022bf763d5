//! Listening sockets made before `Listener::bind` is called (inherited
//! from a parent or a supervisor, or bound early to be handed on later),
//! offered to one loop: the next `Listener::bind` on that loop to the same
//! address takes the offered socket instead of binding a new one. So code
//! that only knows `bind`, an HTTP server for one, can serve on sockets it
//! did not make.

use std::os::fd::OwnedFd;

use eddy_loop::{ExtensionKey, Loop};

use crate::addr::Address;

/// Offered sockets, oldest first, by their local address.
type Offered = Vec<(Address, OwnedFd)>;

static OFFERED: ExtensionKey<Offered> = ExtensionKey::new();

/// Keeps `fd`, bound to `addr`, for the next bind to `addr` on `lp`.
pub(crate) fn offer(lp: &mut Loop, addr: Address, fd: OwnedFd) {
    lp.keyed_extension(&OFFERED, Vec::new).push((addr, fd));
}

/// The oldest socket offered for `addr`, if any.
pub(crate) fn take(lp: &mut Loop, addr: &Address) -> Option<OwnedFd> {
    let offered = lp.keyed_extension(&OFFERED, Vec::new);
    let pos = offered.iter().position(|(a, _)| a == addr)?;
    Some(offered.remove(pos).1)
}
