//! The work pool: run blocking work (name resolution, file I/O) on other
//! threads and its completion callback back on the loop thread.
//!
//! One pool serves every loop in the process, as libuv's does: `EDDY_THREADPOOL_SIZE`
//! threads (default 4), started on first use. A finished job posts its
//! result to its loop's queue and wakes the loop; the loop runs `after` in
//! its poll phase. A job not yet started can be cancelled: its `after` then
//! runs in the next pending phase with [`WorkError::Cancelled`]. Until
//! `after` has run, the job counts as an active request and keeps the loop
//! alive.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::table::Id;
use crate::wake::LoopShared;
use crate::Loop;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const CANCELLED: u8 = 2;

const DEFAULT_THREADS: usize = 4;

/// Why a work item produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// `cancel_work` took the item off the queue before a thread ran it.
    #[error("work cancelled before it started")]
    Cancelled,
    /// The work function panicked (the panic is caught on the worker).
    #[error("work panicked")]
    Panicked,
}

/// Identifies a queued work item (libuv's `uv_work_t`), for
/// [`Loop::cancel_work`]; stale once its `after` callback has run.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct WorkHandle(Id<WorkEntry>);

type Payload = std::result::Result<Box<dyn Any + Send>, WorkError>;
type AfterCb = Box<dyn FnOnce(&mut Loop, WorkHandle, Payload)>;

pub(crate) struct WorkEntry {
    state: Arc<AtomicU8>,
    after: AfterCb,
}

/// A finished job, on its way back to the loop.
pub(crate) struct WorkDone {
    id: Id<WorkEntry>,
    result: Payload,
}

struct Job {
    state: Arc<AtomicU8>,
    run: Box<dyn FnOnce() + Send>,
}

struct Pool {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

static POOL: OnceLock<Pool> = OnceLock::new();
static THREADS: OnceLock<std::result::Result<(), String>> = OnceLock::new();

fn threads_wanted() -> usize {
    std::env::var("EDDY_THREADPOOL_SIZE")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_THREADS, |n| n.min(1024))
}

/// The process's pool, its threads started on first use.
fn pool() -> Result<&'static Pool> {
    let pool = POOL.get_or_init(|| Pool {
        queue: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
    });
    let started = THREADS.get_or_init(|| {
        for i in 0..threads_wanted() {
            std::thread::Builder::new()
                .name(format!("eddy-worker-{i}"))
                .spawn(move || worker(pool))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    match started {
        Ok(()) => Ok(pool),
        Err(msg) => Err(Error::WorkPool(std::io::Error::other(msg.clone()))),
    }
}

fn worker(pool: &'static Pool) {
    loop {
        let job = {
            let mut queue = pool.queue.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                match queue.pop_front() {
                    Some(job) => break job,
                    None => queue = pool.ready.wait(queue).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        // A cancelled job stays queued until a worker passes over it.
        if job
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            (job.run)();
        }
    }
}

impl Loop {
    /// Runs `work` on the pool, then `after` with its value on this loop
    /// (`uv_queue_work`). `after` gets the item's handle, already stale by
    /// then (a `cancel_work` on it fails).
    pub fn queue_work<T, W, A>(&mut self, work: W, after: A) -> Result<WorkHandle>
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
        A: FnOnce(&mut Loop, WorkHandle, std::result::Result<T, WorkError>) + 'static,
    {
        let pool = pool()?;
        let state = Arc::new(AtomicU8::new(QUEUED));
        let id = self.works.insert(WorkEntry {
            state: state.clone(),
            after: Box::new(move |lp, me, payload| {
                let result = payload.and_then(|value| {
                    value
                        .downcast::<T>()
                        .map(|b| *b)
                        .map_err(|_| WorkError::Panicked)
                });
                after(lp, me, result)
            }),
        });
        self.active_reqs += 1;
        let shared: Arc<LoopShared> = self.shared.clone();
        let run = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(work))
                .map(|v| Box::new(v) as Box<dyn Any + Send>)
                .map_err(|_| WorkError::Panicked);
            let done = WorkDone { id, result };
            shared
                .work_done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(done);
            shared.wake();
        });
        pool.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Job { state, run });
        pool.ready.notify_one();
        Ok(WorkHandle(id))
    }

    /// Cancels a work item that has not started. Its `after` runs in the
    /// next pending phase with `Err(WorkError::Cancelled)`. Fails with
    /// [`Error::WorkBusy`] once the item has started or finished.
    pub fn cancel_work(&mut self, handle: WorkHandle) -> Result<()> {
        let entry = self.works.get(handle.0).ok_or(Error::WorkBusy)?;
        entry
            .state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| Error::WorkBusy)?;
        if let Some(entry) = self.works.remove(handle.0) {
            // The pending callback keeps the loop alive in place of the request.
            self.active_reqs -= 1;
            self.queue_pending(move |lp| (entry.after)(lp, handle, Err(WorkError::Cancelled)));
        }
        Ok(())
    }

    /// Runs `after` for every job that finished since the last wake-up.
    pub(crate) fn run_work_done(&mut self) {
        let done = std::mem::take(
            &mut *self
                .shared
                .work_done
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for d in done {
            let Some(entry) = self.works.remove(d.id) else {
                continue;
            };
            self.active_reqs -= 1;
            (entry.after)(self, WorkHandle(d.id), d.result);
        }
    }
}
