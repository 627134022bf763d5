//! One generational table for every layer: [`Table<T>`] holds values, an
//! [`Id<T>`] names one of them.
//!
//! An id is a slot index plus the generation the slot had when the value
//! went in. Removing a value bumps its slot's generation, so an old id
//! finds nothing (`None`) instead of reaching whatever moved into the slot
//! later. The loop's handles, eddy-net's streams and listeners, and
//! eddy-http's servers, connections, requests and Agents all live in
//! tables of this one type.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// The id of a value in a [`Table<T>`]: small, `Copy`, and typed, so an id
/// of one table cannot be used with another.
pub struct Id<T> {
    index: u32,
    gen: u32,
    _of: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    #[inline]
    const fn new(index: u32, gen: u32) -> Id<T> {
        Id {
            index,
            gen,
            _of: PhantomData,
        }
    }

    /// The slot index. Unique among the live values of one table; reused
    /// after a removal (with a new generation).
    #[inline]
    pub fn index(self) -> u32 {
        self.index
    }

    /// The slot's generation when this id was issued.
    #[inline]
    pub fn generation(self) -> u32 {
        self.gen
    }

    /// The id as 64 bits (generation and index), to keep where only plain
    /// data fits, such as a stream's user data.
    #[inline]
    pub fn to_bits(self) -> u64 {
        u64::from(self.gen) << 32 | u64::from(self.index)
    }

    /// The id that [`Id::to_bits`] gave these bits for. Like any id, it
    /// names nothing once its value is removed (the table refuses it as
    /// stale).
    #[inline]
    pub fn from_bits(bits: u64) -> Id<T> {
        Id::new(bits as u32, (bits >> 32) as u32)
    }
}

impl<T> Clone for Id<T> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.gen == other.gen
    }
}

impl<T> Eq for Id<T> {}

impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        self.gen.hash(state);
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({}v{})", self.index, self.gen)
    }
}

enum Slot<T> {
    Occupied {
        gen: u32,
        value: T,
    },
    /// Free; the next value here gets generation `gen`.
    Vacant {
        gen: u32,
    },
}

/// Values addressed by generational [`Id`]s. Insert, lookup and remove are
/// O(1); freed slots are reused last-freed first (the warmest memory).
pub struct Table<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    len: usize,
    /// The generation of slots made from now on: no lower than any
    /// generation a slot dropped by `shrink_to_fit` had, so an id of a
    /// dropped slot never matches a value put in its place later.
    fresh_gen: u32,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table::new()
    }
}

impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("len", &self.len).finish()
    }
}

impl<T> Table<T> {
    /// An empty table.
    pub const fn new() -> Table<T> {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            fresh_gen: 0,
        }
    }

    /// Stores `value` and returns its id.
    #[inline]
    pub fn insert(&mut self, value: T) -> Id<T> {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from its own id (for state that must
    /// know its id, such as a callback that names its handle).
    pub fn insert_with(&mut self, make: impl FnOnce(Id<T>) -> T) -> Id<T> {
        let (index, gen) = match self.free.pop() {
            Some(index) => match self.slots[index as usize] {
                Slot::Vacant { gen } => (index, gen),
                Slot::Occupied { .. } => unreachable!("free list names an occupied slot"),
            },
            None => {
                let index = u32::try_from(self.slots.len()).expect("more than 2^32 table slots");
                self.slots.push(Slot::Vacant {
                    gen: self.fresh_gen,
                });
                (index, self.fresh_gen)
            }
        };
        let id = Id::new(index, gen);
        self.slots[index as usize] = Slot::Occupied {
            gen,
            value: make(id),
        };
        self.len += 1;
        id
    }

    /// The value `id` names, unless it was removed.
    #[inline]
    pub fn get(&self, id: Id<T>) -> Option<&T> {
        match self.slots.get(id.index as usize) {
            Some(Slot::Occupied { gen, value }) if *gen == id.gen => Some(value),
            _ => None,
        }
    }

    /// The value `id` names, mutably, unless it was removed.
    #[inline]
    pub fn get_mut(&mut self, id: Id<T>) -> Option<&mut T> {
        match self.slots.get_mut(id.index as usize) {
            Some(Slot::Occupied { gen, value }) if *gen == id.gen => Some(value),
            _ => None,
        }
    }

    /// Whether `id` names a value still in the table.
    #[inline]
    pub fn contains(&self, id: Id<T>) -> bool {
        self.get(id).is_some()
    }

    /// The id of the value now at slot `index`, if any (for tokens that
    /// carry only an index, such as epoll's).
    #[inline]
    pub fn id_at(&self, index: u32) -> Option<Id<T>> {
        match self.slots.get(index as usize) {
            Some(Slot::Occupied { gen, .. }) => Some(Id::new(index, *gen)),
            _ => None,
        }
    }

    /// Takes the value out; `id` and every copy of it go stale.
    pub fn remove(&mut self, id: Id<T>) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        match slot {
            Slot::Occupied { gen, .. } if *gen == id.gen => {
                let next = Slot::Vacant {
                    gen: gen.wrapping_add(1),
                };
                let Slot::Occupied { value, .. } = std::mem::replace(slot, next) else {
                    unreachable!("matched as occupied")
                };
                self.free.push(id.index);
                self.len -= 1;
                Some(value)
            }
            _ => None,
        }
    }

    /// Gives back the memory of free slots after the last live value (a
    /// table grown by a burst keeps its peak size otherwise). Ids of the
    /// dropped slots stay stale: a slot made again later starts above the
    /// generation it had.
    pub fn shrink_to_fit(&mut self) {
        while let Some(Slot::Vacant { gen }) = self.slots.last() {
            self.fresh_gen = self.fresh_gen.max(*gen);
            self.slots.pop();
        }
        let kept = self.slots.len();
        self.free.retain(|&i| (i as usize) < kept);
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// How many slots the table has, live or free: its memory is this
    /// many values' worth.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// How many values the table holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no value.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The values with their ids, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Id<T>, &T)> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Occupied { gen, value } => Some((Id::new(i as u32, *gen), value)),
            Slot::Vacant { .. } => None,
        })
    }

    /// The values with their ids, mutably, in slot order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Id<T>, &mut T)> + '_ {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Occupied { gen, value } => Some((Id::new(i as u32, *gen), value)),
                Slot::Vacant { .. } => None,
            })
    }

    /// The ids of every value, in slot order (a copy, so the table can
    /// change while they are visited).
    pub fn ids(&self) -> Vec<Id<T>> {
        self.iter().map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_find_nothing() {
        let mut t = Table::new();
        let a = t.insert("a");
        let b = t.insert("b");
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(a), Some("a"));
        assert_eq!(t.get(a), None);
        assert_eq!(t.remove(a), None);
        let c = t.insert("c");
        assert_eq!(c.index(), a.index(), "the freed slot is reused");
        assert_ne!(c, a);
        assert_eq!(t.get(a), None, "an old id never reaches the newcomer");
        assert_eq!(t.get(c), Some(&"c"));
        assert_eq!(t.id_at(b.index()), Some(b));
        assert_eq!(t.iter().map(|(_, v)| *v).collect::<Vec<_>>(), ["c", "b"]);
        let mut own = Table::new();
        let d = own.insert_with(|id| id.index());
        assert_eq!(own.get(d), Some(&d.index()));
    }

    #[test]
    fn ids_round_trip_through_bits_and_stay_stale() {
        let mut t = Table::new();
        let a = t.insert("a");
        assert_eq!(Id::from_bits(a.to_bits()), a);
        t.remove(a);
        let b = t.insert("b");
        assert_eq!(b.index(), a.index());
        assert_eq!(
            t.get(Id::from_bits(a.to_bits())),
            None,
            "the old bits name nothing"
        );
        assert_eq!(t.get(Id::from_bits(b.to_bits())), Some(&"b"));
    }

    #[test]
    fn shrinking_drops_free_slots_past_the_last_value_and_keeps_ids_stale() {
        let mut t = Table::new();
        let ids: Vec<_> = (0..100).map(|i| t.insert(i)).collect();
        for &id in &ids[10..] {
            t.remove(id);
        }
        t.remove(ids[3]);
        assert_eq!(t.slot_count(), 100);
        t.shrink_to_fit();
        assert_eq!(t.slot_count(), 10, "slot 3 is free but before a live one");
        assert_eq!(t.len(), 9);
        // Slot 3 is reused first, then new slots are made again.
        let again: Vec<_> = (0..20).map(|i| t.insert(1000 + i)).collect();
        assert_eq!(again[0].index(), 3);
        for old in &ids[10..] {
            assert_eq!(t.get(*old), None, "{old:?} stays stale");
        }
        assert!(again.iter().all(|&id| t.get(id).is_some()));
        assert_eq!(t.get(ids[3]), None);
        assert_eq!(t.get(ids[0]), Some(&0));
    }
}
