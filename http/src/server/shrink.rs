//! Giving back what the server layer kept after a burst: its pools of
//! request records, exchanges and queues (capped while busy, trimmed to a
//! few while idle) and the spare slots of its connection table. The
//! loop's memory trimmer (`Loop::enable_memory_trim`) runs it before each
//! trim; making a server registers it.

use eddy_loop::{memory, Loop};

use super::table::http;

/// Pooled records kept through an idle moment: enough for the next few
/// connections without allocating; the rest goes back to the allocator.
const KEEP_IDLE: usize = 64;

/// Trims the server layer's pools and tables (see the module docs).
pub(crate) fn shrink_to_fit(lp: &mut Loop) {
    let h = http(lp);
    h.pool.truncate(KEEP_IDLE);
    h.pool.shrink_to_fit();
    h.exchange_pool.truncate(KEEP_IDLE);
    h.exchange_pool.shrink_to_fit();
    h.queue_pool.truncate(KEEP_IDLE);
    h.queue_pool.shrink_to_fit();
    h.parser_pool.truncate(KEEP_IDLE);
    h.parser_pool.shrink_to_fit();
    h.conns.shrink_to_fit();
    h.scratch = Vec::new();
    h.batch_spare = Vec::new();
}

/// Registers [`shrink_to_fit`] with the loop's memory trimmer (once).
pub(crate) fn register(lp: &mut Loop) {
    memory::add_shrinker(lp, shrink_to_fit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::exchange::Exchange;
    use crate::server::{Server, ServerOptions};

    #[test]
    fn pools_filled_by_a_burst_are_trimmed_to_a_few() {
        let mut lp = Loop::new().unwrap();
        let _server = Server::new(&mut lp, ServerOptions::default(), |_, _, _| {});
        let h = http(&mut lp);
        for seq in 0..1000 {
            h.recycle_exchange(Box::new(Exchange::new(seq)));
            h.recycle(Box::default());
            h.queue_pool
                .push(std::collections::VecDeque::with_capacity(4));
        }
        assert_eq!(h.exchange_pool.len(), 1000);
        shrink_to_fit(&mut lp);
        let h = http(&mut lp);
        assert_eq!(h.exchange_pool.len(), KEEP_IDLE);
        assert_eq!(h.pool.len(), KEEP_IDLE);
        assert_eq!(h.queue_pool.len(), KEEP_IDLE);
        assert!(h.exchange_pool.capacity() < 1000);
    }
}
