//! A visible tour of the loop: a repeating timer prints ticks, a work item
//! runs on the pool, and SIGINT/SIGTERM stop everything cleanly.
//!
//!     cargo run --release --example ticker [-- TICKS]
//!
//! It exits by itself after TICKS ticks (default 10), or at Ctrl-C.

use eddy::event_loop::{Handle, Signal, Timer};
use eddy::{Loop, RunMode};

fn main() -> Result<(), eddy::event_loop::Error> {
    let ticks: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let mut lp = Loop::new()?;
    let started = lp.now();

    let ticker = Timer::new(&mut lp);
    let mut count = 0;
    ticker.start(&mut lp, 0, 250, move |lp, t| {
        count += 1;
        println!("tick {count} at +{} ms", lp.now() - started);
        if count == ticks {
            println!("done");
            t.close(lp, |_, _| {}).unwrap();
        }
    })?;

    lp.queue_work(
        || (1..=20u64).product::<u64>(),
        move |lp, _, result| {
            println!(
                "work pool: 20! = {} (+{} ms)",
                result.unwrap(),
                lp.now() - started
            )
        },
    )?;

    // Signal handles are unref'd: they should not keep the loop alive once
    // the ticker is done, but they still fire while it runs.
    for signum in [libc::SIGINT, libc::SIGTERM] {
        let s = Signal::new(&mut lp);
        s.start(&mut lp, signum, move |lp, _, signum| {
            println!("caught signal {signum}, stopping");
            ticker.close(lp, |_, _| {}).ok();
            lp.stop();
        })?;
        s.unref(&mut lp)?;
    }

    lp.run(RunMode::Default);
    Ok(())
}
