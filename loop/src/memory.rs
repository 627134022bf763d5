//! Giving memory back to the OS after a burst.
//!
//! glibc's allocator keeps what a burst of connections freed: the pages
//! stay in its arenas, so a server's RSS stays at its peak long after the
//! load is gone. [`trim_heap`] is glibc's `malloc_trim(0)`, which returns
//! every free page (in the middle of the heap too) to the kernel.
//!
//! Trimming costs: it walks the arenas, and the next burst faults the
//! pages back in. So the loop does it only when asked
//! ([`Loop::enable_memory_trim`]), only from an idle moment, only when
//! there is something new to give back, and at most once per
//! [`TrimOptions::min_interval_ms`]:
//! - an unref'd timer ticks every [`TrimOptions::check_every_ms`];
//! - an unref'd check handle counts the loop's iterations in between;
//! - a tick that follows a period of at most
//!   [`TrimOptions::idle_iterations`] iterations asks the allocator how
//!   much is free; when that is at least [`TrimOptions::min_free_bytes`]
//!   and either a busier period came since the last look or the free heap
//!   grew by `min_free_bytes` since then (a burst of closes can take few
//!   iterations), it shrinks the loop's own tables
//!   ([`Loop::shrink_to_fit`]), runs the registered shrinkers (layers that
//!   cap their idle pools, see [`add_shrinker`]; eddy-net registers one)
//!   and trims.
//!
//! Neither handle keeps the loop alive. Without glibc (musl), the stats are
//! `None` and trimming does nothing.

use crate::event_loop::ExtensionKey;
use crate::handle::Handle;
use crate::phase::Check;
use crate::timer::Timer;
use crate::Loop;

/// What the allocator holds, summed over its arenas (glibc's `mallinfo2`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HeapStats {
    /// Bytes handed out by `malloc` and not freed (`uordblks`).
    pub in_use: usize,
    /// Bytes free inside the heap, kept by the allocator (`fordblks`): what
    /// a trim can give back, at most. Pages already given back by a trim
    /// are still counted here, as the chunks stay free.
    pub free: usize,
    /// Bytes in large blocks mapped on their own (`hblkhd`); these go back
    /// to the kernel at `free` by themselves.
    pub mmapped: usize,
}

/// The allocator's current totals; `None` without glibc.
pub fn heap_stats() -> Option<HeapStats> {
    crate::sys::heap_info().map(|m| HeapStats {
        in_use: m.in_use,
        free: m.free,
        mmapped: m.mmapped,
    })
}

/// Returns free heap memory to the kernel now (`malloc_trim(0)`); true if
/// some was released. Safe to call from any thread, at any time; it takes
/// each arena's lock while it trims that arena.
pub fn trim_heap() -> bool {
    crate::sys::malloc_trim()
}

/// When [`Loop::enable_memory_trim`] trims.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TrimOptions {
    /// The period of the idleness check, in ms (default 1000).
    pub check_every_ms: u64,
    /// A period with at most this many loop iterations is idle (default
    /// 16: an idle server still wakes up for a few timers).
    pub idle_iterations: u64,
    /// At most one trim per this many ms (default 5000).
    pub min_interval_ms: u64,
    /// Trim only when at least this much is free in the heap (default
    /// 1 MiB): a small heap is not worth the walk.
    pub min_free_bytes: usize,
}

impl Default for TrimOptions {
    fn default() -> TrimOptions {
        TrimOptions {
            check_every_ms: 1000,
            idle_iterations: 16,
            min_interval_ms: 5000,
            min_free_bytes: 1 << 20,
        }
    }
}

/// Whether there was work to give memory back from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Activity {
    /// Idle since the last trim (or since the trimmer started): nothing new
    /// to give back.
    Quiet,
    /// A busy period came since the last trim.
    Busy,
}

struct Trimmer {
    opts: TrimOptions,
    timer: Timer,
    check: Check,
    /// Loop iterations since the last tick.
    iterations: u64,
    activity: Activity,
    last_trim_ms: Option<u64>,
    /// Free heap bytes at the last idle tick.
    free_seen: usize,
    trims: u64,
}

#[derive(Default)]
struct TrimState {
    trimmer: Option<Trimmer>,
    shrinkers: Vec<fn(&mut Loop)>,
}

static TRIM: ExtensionKey<TrimState> = ExtensionKey::new();

fn trim_state(lp: &mut Loop) -> &mut TrimState {
    lp.keyed_extension(&TRIM, TrimState::default)
}

/// Registers `shrink` to run right before each trim of this loop's memory
/// trimmer: a layer's chance to drop spare capacity it keeps for reuse
/// (buffers, free lists, table slots past the last live one). Registering
/// the same function twice keeps one.
pub fn add_shrinker(lp: &mut Loop, shrink: fn(&mut Loop)) {
    let shrinkers = &mut trim_state(lp).shrinkers;
    if !shrinkers.iter().any(|&f| f as usize == shrink as usize) {
        shrinkers.push(shrink);
    }
}

impl Loop {
    /// Starts trimming this process's free heap memory from this loop's
    /// idle moments after a burst (see the [module docs](crate::memory)).
    /// Calling it again replaces the options. The trimmer's handles are
    /// unref'd: it never keeps `run` going.
    pub fn enable_memory_trim(&mut self, opts: TrimOptions) {
        self.disable_memory_trim();
        let period = opts.check_every_ms.max(1);
        let timer = Timer::new(self);
        let _ = timer.start(self, period, period, |lp, _| tick(lp));
        let _ = timer.unref(self);
        let check = Check::new(self);
        let _ = check.start(self, |lp, _| {
            if let Some(t) = trim_state(lp).trimmer.as_mut() {
                t.iterations += 1;
            }
        });
        let _ = check.unref(self);
        trim_state(self).trimmer = Some(Trimmer {
            opts,
            timer,
            check,
            iterations: 0,
            activity: Activity::Busy,
            last_trim_ms: None,
            free_seen: 0,
            trims: 0,
        });
    }

    /// Stops the memory trimmer, if it runs.
    pub fn disable_memory_trim(&mut self) {
        if let Some(t) = trim_state(self).trimmer.take() {
            let _ = self.close_handle(t.timer.id(), Timer::KIND, None);
            let _ = self.close_handle(t.check.id(), Check::KIND, None);
        }
    }

    /// Gives back the spare capacity the loop keeps after a burst: free
    /// slots past the last live handle and work item, the timer heap's and
    /// the phases' scratch vectors. The memory trimmer does this before
    /// each trim; ids stay as stale as they were.
    pub fn shrink_to_fit(&mut self) {
        self.handles.shrink_to_fit();
        self.works.shrink_to_fit();
        self.timers.shrink_to_fit();
        self.due_timers.shrink_to_fit();
        self.phase_scratch.shrink_to_fit();
        self.closing_spare.shrink_to_fit();
        self.async_scratch.shrink_to_fit();
    }

    /// How many handle slots the loop has, live or free (what
    /// [`Loop::shrink_to_fit`] can bring down after a burst).
    pub fn handle_slots(&self) -> usize {
        self.handles.slot_count()
    }

    /// How many times the memory trimmer has trimmed (0 when disabled).
    pub fn memory_trims(&self) -> u64 {
        self.keyed_extension_ref(&TRIM)
            .and_then(|s| s.trimmer.as_ref())
            .map_or(0, |t| t.trims)
    }
}

/// What a tick decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Wait,
    Trim,
}

/// What a tick decided, and what to remember for the next one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Decision {
    verdict: Verdict,
    activity: Activity,
    /// Free heap bytes seen at this tick (or the last one that looked).
    free_seen: usize,
}

/// The trimmer's rule, as a pure function of what a tick sees: trim from
/// an idle period, at most once per interval, when the heap has enough
/// free and there is something new to give back: a busy period came
/// since the last look, or the free heap grew by `min_free_bytes` since
/// then (a burst can be freed in few iterations: many closes from one
/// callback). The heap is asked only on idle ticks (`mallinfo2` walks the
/// arenas). Pages a trim gave back still count as free, so a trim is not
/// repeated for the same memory.
fn decide(
    opts: &TrimOptions,
    iterations: u64,
    activity: Activity,
    since_last_trim_ms: Option<u64>,
    free_seen: usize,
    heap_free: impl FnOnce() -> Option<usize>,
) -> Decision {
    let wait = |activity| Decision {
        verdict: Verdict::Wait,
        activity,
        free_seen,
    };
    if iterations > opts.idle_iterations {
        return wait(Activity::Busy);
    }
    if since_last_trim_ms.is_some_and(|ms| ms < opts.min_interval_ms) {
        return wait(activity);
    }
    let Some(free) = heap_free() else {
        return wait(Activity::Quiet);
    };
    let grew = free >= free_seen.saturating_add(opts.min_free_bytes);
    let new = activity == Activity::Busy || grew;
    let verdict = if new && free >= opts.min_free_bytes {
        Verdict::Trim
    } else {
        Verdict::Wait
    };
    Decision {
        verdict,
        activity: Activity::Quiet,
        free_seen: free,
    }
}

fn tick(lp: &mut Loop) {
    let now = lp.now();
    let Some(t) = trim_state(lp).trimmer.as_mut() else {
        return;
    };
    // The tick's own wake-up is one of the iterations counted.
    let since = t.last_trim_ms.map(|last| now.saturating_sub(last));
    let d = decide(
        &t.opts,
        t.iterations,
        t.activity,
        since,
        t.free_seen,
        || heap_stats().map(|h| h.free),
    );
    t.iterations = 0;
    t.activity = d.activity;
    t.free_seen = d.free_seen;
    if d.verdict == Verdict::Trim {
        lp.shrink_to_fit();
        let shrinkers = trim_state(lp).shrinkers.clone();
        for shrink in shrinkers {
            shrink(lp);
        }
        trim_heap();
        if let Some(t) = trim_state(lp).trimmer.as_mut() {
            t.last_trim_ms = Some(now);
            t.trims += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_per_idle_stretch_after_new_memory_came_free() {
        let opts = TrimOptions {
            idle_iterations: 4,
            min_interval_ms: 100,
            min_free_bytes: 10,
            ..TrimOptions::default()
        };
        let d = |iterations, activity, since, seen, free: Option<usize>| {
            let x = decide(&opts, iterations, activity, since, seen, || free);
            (x.verdict, x.activity, x.free_seen)
        };
        use Activity::{Busy, Quiet};
        use Verdict::{Trim, Wait};
        assert_eq!(
            d(50, Quiet, None, 7, Some(1000)),
            (Wait, Busy, 7),
            "busy: wait"
        );
        assert_eq!(
            d(2, Busy, None, 0, Some(1000)),
            (Trim, Quiet, 1000),
            "idle after busy"
        );
        assert_eq!(
            d(2, Quiet, Some(1000), 1000, Some(1005)),
            (Wait, Quiet, 1005),
            "idle after idle, nothing new: the trimmed pages still count as free"
        );
        assert_eq!(
            d(2, Quiet, Some(1000), 5, Some(1000)),
            (Trim, Quiet, 1000),
            "a burst freed within few iterations: the free heap grew"
        );
        assert_eq!(
            d(2, Busy, Some(50), 0, Some(1000)),
            (Wait, Busy, 0),
            "too soon: wait, remembering the burst"
        );
        assert_eq!(
            d(2, Busy, Some(100), 0, Some(5)),
            (Wait, Quiet, 5),
            "too little free: not worth it"
        );
        assert_eq!(
            d(2, Busy, None, 0, None),
            (Wait, Quiet, 0),
            "no allocator statistics"
        );
    }
}
