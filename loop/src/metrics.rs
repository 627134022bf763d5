//! Loop metrics: iterations, events, time blocked in `epoll_wait`, time per
//! phase, utilization, and delay histograms, taken from the clock reads
//! the loop makes anyway.
//!
//! The loop reads the clock at the top of every iteration and after every
//! `epoll_wait`. Phase times need one more read at a boundary between two
//! phases that both had work (a phase with nothing to run is skipped and
//! costs nothing); the time since the last read is attributed lazily to
//! the phase that was running, at whichever read comes next. So an
//! iteration that only waits and dispatches events makes no extra read,
//! and no iteration makes an extra syscall (`clock_gettime` is a vDSO call).
//!
//! Recording is on by default; [`Loop::set_metrics_enabled`] switches it
//! off (each hook is then one branch) or back on, from zero.

use std::time::Duration;

use crate::phase::Phase;
use crate::sys;
use crate::Loop;

/// The phases of one iteration, in the order they run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoopPhase {
    /// Due timers.
    Timers = 0,
    /// Callbacks queued with `queue_pending`.
    Pending = 1,
    /// Idle handles.
    Idle = 2,
    /// Prepare handles.
    Prepare = 3,
    /// Dispatching the events `epoll_wait` returned (not the wait itself).
    Poll = 4,
    /// Check handles.
    Check = 5,
    /// Close callbacks.
    Closing = 6,
}

impl LoopPhase {
    /// Every phase, in order.
    pub const ALL: [LoopPhase; 7] = [
        LoopPhase::Timers,
        LoopPhase::Pending,
        LoopPhase::Idle,
        LoopPhase::Prepare,
        LoopPhase::Poll,
        LoopPhase::Check,
        LoopPhase::Closing,
    ];

    /// A lower-case name (`"timers"`, `"poll"`, ...), for labels.
    pub fn name(self) -> &'static str {
        match self {
            LoopPhase::Timers => "timers",
            LoopPhase::Pending => "pending",
            LoopPhase::Idle => "idle",
            LoopPhase::Prepare => "prepare",
            LoopPhase::Poll => "poll",
            LoopPhase::Check => "check",
            LoopPhase::Closing => "closing",
        }
    }
}

/// Sub-buckets per power of two: values are kept within 2^-3 (12.5%).
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for any u64 nanosecond value.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of nanosecond values: eight buckets per power of
/// two, so a quantile is reported within 12.5% (the maximum exactly).
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((shift as usize + 1) << SUB_BITS) + sub
}

/// The largest value that falls in bucket `b`.
fn bucket_high(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let shift = (b >> SUB_BITS) as u32 - 1;
    let sub = (b & (SUB - 1)) as u64;
    let low = (SUB as u64 + sub) << shift;
    low + ((1u64 << shift) - 1)
}

impl Histogram {
    /// Records one value, in nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[bucket_of(ns)] += 1;
        self.count += 1;
        self.sum = self.sum.saturating_add(ns);
        self.max = self.max.max(ns);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum)
    }

    /// The largest value recorded (zero if none).
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The value at quantile `q` (0.0 ..= 1.0): the upper bound of the
    /// bucket holding it, never above the maximum. Zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_nanos(bucket_high(b).min(self.max));
            }
        }
        Duration::from_nanos(self.max)
    }

    /// The median.
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("p50", &self.p50())
            .field("p99", &self.p99())
            .field("max", &self.max())
            .finish()
    }
}

/// Time spent in each phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes([Duration; 7]);

impl PhaseTimes {
    /// The time spent in `phase`.
    pub fn get(&self, phase: LoopPhase) -> Duration {
        self.0[phase as usize]
    }

    /// The sum over all phases: the time callbacks (and the loop's own
    /// bookkeeping around them) ran.
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

/// A snapshot of a loop's figures since recording started.
#[derive(Clone, Debug)]
pub struct LoopMetrics {
    /// Whether the loop is recording.
    pub enabled: bool,
    /// Since recording started, up to this snapshot.
    pub elapsed: Duration,
    /// Iterations run.
    pub iterations: u64,
    /// Events `epoll_wait` returned (each dispatched to its watcher, or
    /// dropped when the watcher stopped earlier in the batch).
    pub events: u64,
    /// Time blocked in `epoll_wait` (libuv's idle time).
    pub idle: Duration,
    /// Time in each phase.
    pub phases: PhaseTimes,
    /// The share of the last complete window (one second by default, see
    /// [`Loop::set_metrics_window`]) the loop was not blocked in
    /// `epoll_wait`: Node's event loop utilization. `None` before the
    /// first window ends.
    pub utilization: Option<f64>,
    /// How late each timer fired: loop time when it was found due minus
    /// its (millisecond) deadline.
    pub timer_delay: Histogram,
    /// How long each iteration ran, waiting aside: the delay an event that
    /// arrives meanwhile waits before the loop can look at it.
    pub iteration_busy: Histogram,
}

impl LoopMetrics {
    /// The share of the time between `earlier` and this snapshot that the
    /// loop was not blocked in `epoll_wait` (0.0 ..= 1.0); both snapshots
    /// must come from one recording.
    pub fn utilization_since(&self, earlier: &LoopMetrics) -> f64 {
        let span = self.elapsed.saturating_sub(earlier.elapsed).as_nanos() as f64;
        if span <= 0.0 {
            return 0.0;
        }
        let idle = self.idle.saturating_sub(earlier.idle).as_nanos() as f64;
        (1.0 - idle / span).clamp(0.0, 1.0)
    }
}

const DEFAULT_WINDOW_NS: u64 = 1_000_000_000;

/// What the loop records, updated by the hooks below.
pub(crate) struct Recorder {
    enabled: bool,
    started_ns: u64,
    /// The last clock read the recorder knows of.
    mark_ns: u64,
    /// The phase whose time runs since `mark_ns`, if one had work.
    open: Option<LoopPhase>,
    /// Top of the iteration in progress (None between runs).
    iter_top_ns: Option<u64>,
    iter_idle_ns: u64,
    iterations: u64,
    events: u64,
    idle_ns: u64,
    phase_ns: [u64; 7],
    timer_delay: Histogram,
    iteration_busy: Histogram,
    window_ns: u64,
    window_start_ns: u64,
    window_idle_ns: u64,
    utilization: Option<f64>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        let now = sys::monotonic_ns();
        Recorder {
            enabled: true,
            started_ns: now,
            mark_ns: now,
            open: None,
            iter_top_ns: None,
            iter_idle_ns: 0,
            iterations: 0,
            events: 0,
            idle_ns: 0,
            phase_ns: [0; 7],
            timer_delay: Histogram::default(),
            iteration_busy: Histogram::default(),
            window_ns: DEFAULT_WINDOW_NS,
            window_start_ns: now,
            window_idle_ns: 0,
            utilization: None,
        }
    }

    /// A clock read at `ns`: the open phase's time ends here.
    #[inline]
    fn read(&mut self, ns: u64) {
        if let Some(p) = self.open.take() {
            self.phase_ns[p as usize] += ns.saturating_sub(self.mark_ns);
        }
        self.mark_ns = ns;
    }

    fn end_iteration(&mut self) {
        if let Some(top) = self.iter_top_ns.take() {
            let busy = self
                .mark_ns
                .saturating_sub(top)
                .saturating_sub(self.iter_idle_ns);
            self.iteration_busy.record(busy);
        }
    }
}

impl Loop {
    /// A snapshot of this loop's figures (see [`LoopMetrics`]). Reads the
    /// clock once.
    pub fn metrics(&self) -> LoopMetrics {
        let m = &self.metrics;
        let now = if m.enabled {
            sys::monotonic_ns()
        } else {
            m.mark_ns
        };
        let mut phase_ns = m.phase_ns;
        // The phase running now (this snapshot is taken from a callback)
        // has run since the last read.
        if let Some(p) = m.open {
            phase_ns[p as usize] += now.saturating_sub(m.mark_ns);
        }
        LoopMetrics {
            enabled: m.enabled,
            elapsed: Duration::from_nanos(now.saturating_sub(m.started_ns)),
            iterations: m.iterations,
            events: m.events,
            idle: Duration::from_nanos(m.idle_ns),
            phases: PhaseTimes(phase_ns.map(Duration::from_nanos)),
            utilization: m.utilization,
            timer_delay: m.timer_delay.clone(),
            iteration_busy: m.iteration_busy.clone(),
        }
    }

    /// Switches recording on (from zero) or off.
    pub fn set_metrics_enabled(&mut self, enabled: bool) {
        if enabled == self.metrics.enabled {
            return;
        }
        let window = self.metrics.window_ns;
        *self.metrics = Recorder::new();
        self.metrics.window_ns = window;
        self.metrics.enabled = enabled;
    }

    /// The window [`LoopMetrics::utilization`] is computed over (default
    /// one second; at least one millisecond).
    pub fn set_metrics_window(&mut self, window: Duration) {
        self.metrics.window_ns = (window.as_nanos() as u64).max(1_000_000);
    }
    /// Hook: the top of an iteration. The clock is read only when a phase
    /// with work is still open (its time ends here); otherwise the read
    /// that ran the last timers opens the iteration.
    #[inline]
    pub(crate) fn metrics_top(&mut self) {
        if !self.metrics.enabled {
            return;
        }
        let ns = if self.metrics.open.is_some() {
            sys::monotonic_ns()
        } else {
            self.now_ns
        };
        self.metrics_iteration(ns);
    }

    /// Hook: the top of an iteration, whose clock read was `ns`.
    #[inline]
    pub(crate) fn metrics_iteration(&mut self, ns: u64) {
        let m = &mut *self.metrics;
        if !m.enabled {
            return;
        }
        m.read(ns);
        m.end_iteration();
        m.iterations += 1;
        m.iter_top_ns = Some(ns);
        m.iter_idle_ns = 0;
        if ns.saturating_sub(m.window_start_ns) >= m.window_ns {
            let span = (ns - m.window_start_ns) as f64;
            let idle = m.idle_ns.saturating_sub(m.window_idle_ns) as f64;
            m.utilization = Some((1.0 - idle / span).clamp(0.0, 1.0));
            m.window_start_ns = ns;
            m.window_idle_ns = m.idle_ns;
        }
    }

    /// Hook: `phase` is about to run. Reads the clock only if it has work
    /// and another phase with work ran since the last read.
    #[inline]
    pub(crate) fn metrics_phase(&mut self, phase: LoopPhase) {
        if !self.metrics.enabled || !self.phase_has_work(phase) {
            return;
        }
        if self.metrics.open.is_some() {
            self.metrics.read(sys::monotonic_ns());
        }
        self.metrics.open = Some(phase);
    }

    fn phase_has_work(&self, phase: LoopPhase) -> bool {
        match phase {
            LoopPhase::Timers => self
                .timers
                .peek()
                .is_some_and(|t| t.deadline <= self.now_ms),
            LoopPhase::Pending => !self.pending.is_empty(),
            LoopPhase::Idle => !self.phases[Phase::Idle as usize].is_empty(),
            LoopPhase::Prepare => !self.phases[Phase::Prepare as usize].is_empty(),
            LoopPhase::Check => !self.phases[Phase::Check as usize].is_empty(),
            LoopPhase::Closing => !self.closing.is_empty(),
            // Known only after the wait; see `metrics_woke`.
            LoopPhase::Poll => false,
        }
    }

    /// Hook: `epoll_wait` is about to be called.
    #[inline]
    pub(crate) fn metrics_poll_start(&mut self) {
        if self.metrics.enabled && self.metrics.open.is_some() {
            self.metrics.read(sys::monotonic_ns());
        }
    }

    /// Hook: `epoll_wait` returned `events` events; the clock read right
    /// after it was `ns`. The wait began at the last read.
    #[inline]
    pub(crate) fn metrics_woke(&mut self, ns: u64, events: usize) {
        let m = &mut *self.metrics;
        if !m.enabled {
            return;
        }
        let waited = ns.saturating_sub(m.mark_ns);
        m.idle_ns += waited;
        m.iter_idle_ns += waited;
        m.mark_ns = ns;
        m.events += events as u64;
        m.open = (events > 0).then_some(LoopPhase::Poll);
    }

    /// Hook: a timer with this deadline (ms) was found due.
    #[inline]
    pub(crate) fn metrics_timer_due(&mut self, deadline_ms: u64) {
        let m = &mut *self.metrics;
        if m.enabled {
            let late = m
                .mark_ns
                .saturating_sub(deadline_ms.saturating_mul(1_000_000));
            m.timer_delay.record(late);
        }
    }

    /// Hook: a clock read at `ns` made elsewhere in the iteration.
    #[inline]
    pub(crate) fn metrics_read(&mut self, ns: u64) {
        if self.metrics.enabled {
            self.metrics.read(ns);
        }
    }

    /// Hook: `run` returns; closes the iteration in progress (one read if
    /// a phase with work ran last).
    pub(crate) fn metrics_run_end(&mut self) {
        let m = &mut *self.metrics;
        if !m.enabled || m.iter_top_ns.is_none() {
            return;
        }
        if m.open.is_some() {
            m.read(sys::monotonic_ns());
        }
        m.end_iteration();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in (0..5000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b < BUCKETS);
            assert!(b >= last, "bucket order at {v}");
            assert!(bucket_high(b) >= v, "bucket {b} holds {v}");
            last = b;
        }
        for v in [9u64, 100, 1_000, 123_456, 1 << 40] {
            let high = bucket_high(bucket_of(v));
            assert!((high - v) as f64 <= v as f64 / 8.0, "{v} -> {high}");
        }
    }

    #[test]
    fn quantiles_are_within_an_eighth() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.p50().as_nanos() as f64;
        let p99 = h.p99().as_nanos() as f64;
        assert!((500_000.0..=500_000.0 * 1.125).contains(&p50), "{p50}");
        assert!((990_000.0..=990_000.0 * 1.125).contains(&p99), "{p99}");
        assert_eq!(h.max(), Duration::from_micros(1000));
        assert_eq!(h.count(), 1000);
        assert_eq!(Histogram::default().p99(), Duration::ZERO);
    }
}
