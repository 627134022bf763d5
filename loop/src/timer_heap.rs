//! The timer store: a 4-ary min-heap keyed by (deadline, start sequence).
//!
//! Why this shape: equal deadlines must fire in start order, so the key
//! carries the sequence number; cancel must be cheap with 100 000 timers
//! armed, so a position table (indexed by the timer's handle slot) finds any
//! entry in O(1) and removal costs one sift. A 4-ary heap halves the depth of
//! a binary one and keeps siblings in one cache line. The common pattern, an
//! idle timer re-armed with `now + timeout` on every read, inserts at the
//! bottom with no swaps, and removes an entry near the bottom with few.

const ARITY: usize = 4;
const ABSENT: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
pub(crate) struct HeapEntry {
    pub deadline: u64,
    pub seq: u64,
    pub slot: u32,
}

impl HeapEntry {
    #[inline]
    fn before(&self, other: &HeapEntry) -> bool {
        (self.deadline, self.seq) < (other.deadline, other.seq)
    }
}

#[derive(Default)]
pub(crate) struct TimerHeap {
    entries: Vec<HeapEntry>,
    /// `positions[slot]` is the entry's index in `entries`, or ABSENT.
    positions: Vec<u32>,
}

impl TimerHeap {
    /// Gives back the capacity a burst of timers left behind.
    pub fn shrink_to_fit(&mut self) {
        while self.positions.last() == Some(&ABSENT) {
            self.positions.pop();
        }
        self.positions.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn peek(&self) -> Option<&HeapEntry> {
        self.entries.first()
    }

    #[cfg(test)]
    pub fn contains(&self, slot: u32) -> bool {
        self.positions
            .get(slot as usize)
            .is_some_and(|&p| p != ABSENT)
    }

    /// Inserts the timer in `slot`, replacing any earlier entry for it.
    pub fn insert(&mut self, slot: u32, deadline: u64, seq: u64) {
        self.remove(slot);
        let s = slot as usize;
        if s >= self.positions.len() {
            self.positions.resize(s + 1, ABSENT);
        }
        let pos = self.entries.len();
        self.entries.push(HeapEntry {
            deadline,
            seq,
            slot,
        });
        self.positions[s] = pos as u32;
        self.sift_up(pos);
    }

    /// Removes the timer in `slot`; false if it was not armed.
    pub fn remove(&mut self, slot: u32) -> bool {
        let pos = match self.positions.get(slot as usize) {
            Some(&p) if p != ABSENT => p as usize,
            _ => return false,
        };
        self.remove_at(pos);
        true
    }

    pub fn pop(&mut self) -> Option<HeapEntry> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.remove_at(0))
        }
    }

    fn remove_at(&mut self, pos: usize) -> HeapEntry {
        let removed = self.entries.swap_remove(pos);
        self.positions[removed.slot as usize] = ABSENT;
        if pos < self.entries.len() {
            self.positions[self.entries[pos].slot as usize] = pos as u32;
            // The moved entry came from the bottom: it may belong above or below.
            if pos > 0 && self.entries[pos].before(&self.entries[(pos - 1) / ARITY]) {
                self.sift_up(pos);
            } else {
                self.sift_down(pos);
            }
        }
        removed
    }

    fn sift_up(&mut self, mut pos: usize) {
        let moving = self.entries[pos];
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if !moving.before(&self.entries[parent]) {
                break;
            }
            self.place(pos, self.entries[parent]);
            pos = parent;
        }
        self.place(pos, moving);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let moving = self.entries[pos];
        let len = self.entries.len();
        loop {
            let first = pos * ARITY + 1;
            if first >= len {
                break;
            }
            let last = (first + ARITY).min(len);
            let mut best = first;
            for c in first + 1..last {
                if self.entries[c].before(&self.entries[best]) {
                    best = c;
                }
            }
            if !self.entries[best].before(&moving) {
                break;
            }
            self.place(pos, self.entries[best]);
            pos = best;
        }
        self.place(pos, moving);
    }

    #[inline]
    fn place(&mut self, pos: usize, entry: HeapEntry) {
        self.entries[pos] = entry;
        self.positions[entry.slot as usize] = pos as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the test needs no dependency.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn pops_in_deadline_then_sequence_order() {
        let mut heap = TimerHeap::default();
        heap.insert(0, 10, 3);
        heap.insert(1, 5, 4);
        heap.insert(2, 10, 1);
        heap.insert(3, 10, 2);
        let order: Vec<u32> = std::iter::from_fn(|| heap.pop().map(|e| e.slot)).collect();
        assert_eq!(order, vec![1, 2, 3, 0]);
    }

    #[test]
    fn random_inserts_and_removes_keep_heap_order() {
        let mut heap = TimerHeap::default();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut armed = vec![None; 2000];
        for seq in 0..20_000u64 {
            let slot = (xorshift(&mut rng) % 2000) as u32;
            if xorshift(&mut rng).is_multiple_of(3) {
                assert_eq!(heap.remove(slot), armed[slot as usize].is_some());
                armed[slot as usize] = None;
            } else {
                let deadline = xorshift(&mut rng) % 500;
                heap.insert(slot, deadline, seq);
                armed[slot as usize] = Some((deadline, seq));
            }
        }
        let mut expected: Vec<(u64, u64, u32)> = armed
            .iter()
            .enumerate()
            .filter_map(|(s, a)| a.map(|(d, q)| (d, q, s as u32)))
            .collect();
        expected.sort();
        assert_eq!(heap.len(), expected.len());
        let got: Vec<(u64, u64, u32)> =
            std::iter::from_fn(|| heap.pop().map(|e| (e.deadline, e.seq, e.slot))).collect();
        assert_eq!(got, expected);
        assert!(!heap.contains(0));
    }
}
