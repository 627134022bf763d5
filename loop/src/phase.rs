//! Idle, prepare and check handles: callbacks run once per iteration at a
//! fixed point of it (idle and prepare before polling, check after).
//!
//! An active idle handle also makes the poll phase not block, as in libuv.
//! Each phase runs the handles that were active when it began; a handle
//! started by one of those callbacks waits for the next iteration.

use crate::error::{Error, Result};
use crate::handle::{handle_type, Handle, HandleId, HandleKind};
use crate::Loop;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    Idle = 0,
    Prepare = 1,
    Check = 2,
}

pub(crate) type PhaseCb = Box<dyn FnMut(&mut Loop, HandleId)>;

pub(crate) struct PhaseState {
    phase: Phase,
    cb: Option<PhaseCb>,
}

impl PhaseState {
    pub(crate) fn handle_type(&self) -> crate::handle::HandleType {
        match self.phase {
            Phase::Idle => crate::handle::HandleType::Idle,
            Phase::Prepare => crate::handle::HandleType::Prepare,
            Phase::Check => crate::handle::HandleType::Check,
        }
    }
}

fn cb_slot(lp: &mut Loop, id: HandleId) -> Option<&mut Option<PhaseCb>> {
    match lp.open_kind(id)? {
        HandleKind::Phase(p) => Some(&mut p.cb),
        _ => None,
    }
}

macro_rules! phase_handle {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $phase:expr) => {
        handle_type!($(#[$doc])* $name, $kind);

        impl $name {
            /// A new handle, not yet started.
            pub fn new(lp: &mut Loop) -> $name {
                $name(lp.insert_handle(HandleKind::Phase(PhaseState { phase: $phase, cb: None })))
            }

            /// Starts running `cb` once per loop iteration; replaces the
            /// callback of a started handle.
            pub fn start(self, lp: &mut Loop, mut cb: impl FnMut(&mut Loop, $name) + 'static) -> Result<()> {
                lp.phase_start(self.0, Self::KIND, Box::new(move |lp, id| cb(lp, $name(id))))
            }

            /// Stops running the callback; `start` again resumes.
            pub fn stop(self, lp: &mut Loop) -> Result<()> {
                lp.live_mut(self.0, Self::KIND)?;
                lp.phase_stop(self.0);
                Ok(())
            }
        }
    };
}

phase_handle!(
    /// Runs once per iteration before polling; keeps the poll from blocking.
    Idle,
    "idle",
    Phase::Idle
);
phase_handle!(
    /// Runs once per iteration right before polling for I/O.
    Prepare,
    "prepare",
    Phase::Prepare
);
phase_handle!(
    /// Runs once per iteration right after polling for I/O.
    Check,
    "check",
    Phase::Check
);

impl Loop {
    fn phase_start(&mut self, id: HandleId, kind: &'static str, cb: PhaseCb) -> Result<()> {
        let e = self.live_mut(id, kind)?;
        let was_active = e.active;
        let HandleKind::Phase(p) = &mut e.kind else {
            return Err(Error::Closed(kind));
        };
        p.cb = Some(cb);
        let phase = p.phase;
        if !was_active {
            self.phases[phase as usize].push(id);
            self.set_active(id, true);
        }
        Ok(())
    }

    pub(crate) fn phase_stop(&mut self, id: HandleId) {
        let Some(e) = self.entry(id) else { return };
        let HandleKind::Phase(p) = &e.kind else {
            return;
        };
        if e.active {
            let phase = p.phase as usize;
            self.phases[phase].retain(|h| *h != id);
            self.set_active(id, false);
        }
    }

    pub(crate) fn has_active_idle(&self) -> bool {
        !self.phases[Phase::Idle as usize].is_empty()
    }

    pub(crate) fn run_phase(&mut self, phase: Phase) {
        if self.phases[phase as usize].is_empty() {
            return;
        }
        let mut list = std::mem::take(&mut self.phase_scratch);
        list.extend_from_slice(&self.phases[phase as usize]);
        for &id in &list {
            // Skips handles stopped or closed by an earlier callback.
            if !self.entry(id).is_some_and(|e| e.active && e.is_open()) {
                continue;
            }
            self.with_cb(id, cb_slot, |lp, cb| cb(lp, id));
        }
        list.clear();
        self.phase_scratch = list;
    }
}
