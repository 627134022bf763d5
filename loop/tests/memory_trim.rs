//! Giving memory back after a burst: `trim_heap` and the loop's trimmer.
//! One test in this binary, so no other test allocates meanwhile.

use std::cell::Cell;
use std::rc::Rc;

use eddy_loop::memory::{self, TrimOptions};
use eddy_loop::{Loop, RunMode};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Allocates ~64 MiB in small blocks, keeps one block allocated after them
/// (so the heap's top cannot shrink by itself), and frees the rest.
fn burst() -> Vec<u8> {
    let blocks: Vec<Box<[u8; 512]>> = (0..128 * 1024).map(|i| Box::new([i as u8; 512])).collect();
    let pin = vec![1u8; 64];
    drop(blocks);
    pin
}

#[test]
fn the_trimmer_gives_a_burst_back_from_an_idle_moment() {
    if memory::heap_stats().is_none() {
        eprintln!("SKIPPING: no glibc allocator statistics here");
        return;
    }
    let mut lp = Loop::new().unwrap();
    lp.enable_memory_trim(TrimOptions {
        check_every_ms: 5,
        idle_iterations: 3,
        min_interval_ms: 0,
        min_free_bytes: 1 << 20,
    });
    assert_eq!(lp.memory_trims(), 0);
    let shrunk = Rc::new(Cell::new(0u64));
    thread_local! { static SHRINKS: Cell<u32> = const { Cell::new(0) }; }
    fn shrink(_: &mut Loop) {
        SHRINKS.with(|s| s.set(s.get() + 1));
    }
    memory::add_shrinker(&mut lp, shrink);
    memory::add_shrinker(&mut lp, shrink);

    // A busy stretch: 2000 iterations, then a burst of memory freed at its
    // end. Trimmed or not before, the trimmer must trim after it.
    let pins = Rc::new(Cell::new(Vec::new()));
    let peak = Rc::new(Cell::new((0, 0)));
    fn chain(lp: &mut Loop, left: u32, pins: Rc<Cell<Vec<u8>>>, peak: Rc<Cell<(usize, u64)>>) {
        if left > 0 {
            lp.set_timeout(0, move |lp, _| chain(lp, left - 1, pins, peak));
            return;
        }
        pins.set(burst());
        let free = memory::heap_stats().unwrap().free;
        assert!(
            free >= 32 << 20,
            "the burst left {free} bytes free in the heap"
        );
        peak.set((rss_bytes(), lp.memory_trims()));
    }
    chain(&mut lp, 2000, pins.clone(), peak.clone());
    // Then idle: wait (bounded) for the trimmer's verdict.
    let s = shrunk.clone();
    let p = peak.clone();
    let guard = lp.set_timeout(20_000, |_, _| {});
    lp.set_interval(5, move |lp, id| {
        let (at_peak, trims_before) = p.get();
        let trimmed = at_peak > 0 && lp.memory_trims() > trims_before;
        if trimmed || !guard.is_pending(lp) {
            s.set(lp.memory_trims() - trims_before);
            lp.clear_timer(id);
            lp.clear_timer(guard);
        }
    });
    lp.run(RunMode::Default);
    assert_eq!(
        shrunk.get(),
        1,
        "the trimmer trimmed within 20 s of idleness"
    );
    let trims = lp.memory_trims();
    assert_eq!(
        SHRINKS.with(|s| s.get()) as u64,
        trims,
        "one shrinker (registered twice), run before each trim"
    );
    let (peak, _) = peak.get();
    let after = rss_bytes();
    eprintln!(
        "RSS: {} MiB at the peak, {} MiB after the trim",
        peak >> 20,
        after >> 20
    );
    assert!(
        after + (32 << 20) <= peak,
        "RSS went from {peak} to only {after}"
    );

    // Idle again with nothing new: no second trim however long it idles.
    let ticks = Rc::new(Cell::new(0));
    let t = ticks.clone();
    lp.set_interval(5, move |lp, id| {
        t.set(t.get() + 1);
        if t.get() == 10 {
            lp.clear_timer(id);
        }
    });
    lp.run(RunMode::Default);
    assert_eq!(lp.memory_trims(), trims, "no busy period, no new trim");
    lp.disable_memory_trim();
    assert!(!lp.run(RunMode::NoWait));
    drop(pins);
}
