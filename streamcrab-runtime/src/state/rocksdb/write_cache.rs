//! The in-memory tier in front of RocksDB for the values of one state: recent writes, and the
//! reads they follow, stay here serialized until the tier's byte budget is spent or a snapshot
//! is taken. Then every change goes to RocksDB in one write batch and the tier starts empty.
//!
//! Why: keyed state is mostly read-modify-write of few hot entries (a window's accumulator per
//! key), and an entry that is written and removed between two flushes (an accumulator whose
//! window fires before the next flush) never has to reach RocksDB at all, sparing its memtable
//! insert, its tombstone and their compaction. Departure from Flink, whose RocksDB backend reads
//! and writes RocksDB on every access; the budget (`RocksDbOptions::write_cache_bytes`, 0 turns
//! it off) bounds what it adds to memory.
//!
//! Only value-shaped access goes through it (get, put, remove); list and map state reach RocksDB
//! directly (`RocksTable` flushes this tier before such an access should a state mix both).

use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;

/// Bytes counted per entry beyond its key and value (table slot, two allocations).
const ENTRY_OVERHEAD: usize = 64;

/// What the tier knows of one key.
struct Cached {
    /// The current value; `None`: removed.
    value: Option<Box<[u8]>>,
    /// Whether it differs from what RocksDB holds.
    dirty: bool,
    /// Whether RocksDB may hold a value for the key (so a removal must reach it).
    stored: bool,
}

/// One state's tier.
#[derive(Default)]
pub(crate) struct WriteCache {
    entries: HashMap<Box<[u8]>, Cached>,
    bytes: usize,
}

/// A change to write to RocksDB: the key and its new value (`None`: delete).
pub(crate) type Change = (Box<[u8]>, Option<Box<[u8]>>);

impl WriteCache {
    /// What the tier knows of `key`: `Some(value)` (`Some(None)`: known absent), or `None`
    /// if RocksDB has to be asked.
    pub(crate) fn lookup(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.entries.get(key).map(|c| c.value.as_deref())
    }

    /// Records what RocksDB holds for `key` (after a read the tier could not answer).
    pub(crate) fn remember(&mut self, key: &[u8], stored: Option<&[u8]>) {
        self.count_new(key, stored);
        let value = stored.map(Box::from);
        self.entries.insert(key.into(), Cached { stored: value.is_some(), value, dirty: false });
    }

    /// Sets `key` to `value`.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) {
        match self.entries.entry_ref(key) {
            EntryRef::Occupied(mut entry) => {
                let cached = entry.get_mut();
                let old = cached.value.replace(value.into());
                cached.dirty = true;
                self.bytes = self.bytes + value.len() - old.map_or(0, |v| v.len());
            }
            EntryRef::Vacant(entry) => {
                // Not read first: RocksDB may hold an older value.
                entry.insert_with_key(key.into(), Cached { value: Some(value.into()), dirty: true, stored: true });
                self.count_new(key, Some(value));
            }
        }
    }

    /// Removes `key`; `false` if the tier does not know the key, so RocksDB has to delete it.
    pub(crate) fn delete(&mut self, key: &[u8]) -> bool {
        let EntryRef::Occupied(mut entry) = self.entries.entry_ref(key) else { return false };
        if entry.get().stored {
            let cached = entry.get_mut();
            let old = cached.value.take();
            cached.dirty = true;
            self.bytes -= old.map_or(0, |v| v.len());
        } else {
            // Never reached RocksDB: forgetting it is the removal.
            let (key, cached) = entry.remove_entry();
            self.bytes -= key.len() + ENTRY_OVERHEAD + cached.value.map_or(0, |v| v.len());
        }
        true
    }

    /// Whether the tier holds more than `budget` bytes.
    pub(crate) fn over(&self, budget: usize) -> bool {
        self.bytes > budget
    }

    /// Whether the tier holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the tier, returning the changes RocksDB has not seen yet. (A removal RocksDB
    /// need not see leaves no entry: `delete` forgets the key.)
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Change> + '_ {
        self.bytes = 0;
        self.entries.drain().filter(|(_, c)| c.dirty).map(|(key, c)| (key, c.value))
    }

    /// Counts a new entry for `key` holding `value`.
    fn count_new(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.bytes += key.len() + ENTRY_OVERHEAD + value.map_or(0, <[u8]>::len);
    }
}

/// Adds the changes `cache` holds for column family `cf` to `batch`, emptying it.
pub(crate) fn batch_changes(batch: &mut rocksdb::WriteBatch, cf: &rocksdb::ColumnFamily, cache: &mut WriteCache) {
    for (key, value) in cache.drain() {
        match value {
            Some(value) => batch.put_cf(cf, key, value),
            None => batch.delete_cf(cf, key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(cache: &mut WriteCache) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut all: Vec<_> = cache.drain().map(|(k, v)| (k.to_vec(), v.map(|v| v.to_vec()))).collect();
        all.sort();
        all
    }

    #[test]
    fn a_value_written_and_removed_before_a_flush_never_reaches_rocksdb() {
        let mut cache = WriteCache::default();
        assert_eq!(cache.lookup(b"a"), None);
        cache.remember(b"a", None);
        assert_eq!(cache.lookup(b"a"), Some(None));
        cache.put(b"a", b"1");
        cache.put(b"a", b"2");
        assert_eq!(cache.lookup(b"a"), Some(Some(&b"2"[..])));
        assert!(cache.delete(b"a"));
        assert_eq!(cache.lookup(b"a"), None);
        assert!(changes(&mut cache).is_empty());
        assert!(!cache.over(0));
    }

    #[test]
    fn changes_to_stored_values_are_flushed_and_clean_reads_are_not() {
        let mut cache = WriteCache::default();
        cache.remember(b"read", Some(b"r"));
        cache.remember(b"removed", Some(b"x"));
        assert!(cache.delete(b"removed"));
        assert_eq!(cache.lookup(b"removed"), Some(None));
        cache.put(b"blind", b"b");
        assert!(!cache.delete(b"unknown"), "an unknown key is RocksDB's to delete");
        assert!(cache.over(3 * ENTRY_OVERHEAD));
        assert_eq!(changes(&mut cache), vec![(b"blind".to_vec(), Some(b"b".to_vec())), (b"removed".to_vec(), None)]);
        assert!(cache.is_empty() && !cache.over(0));
    }

    #[test]
    fn the_byte_count_follows_the_entries() {
        let mut cache = WriteCache::default();
        cache.put(b"k", b"1234");
        assert!(cache.over(ENTRY_OVERHEAD + 4) && !cache.over(ENTRY_OVERHEAD + 5));
        cache.put(b"k", b"1");
        assert!(!cache.over(ENTRY_OVERHEAD + 2));
        cache.delete(b"k");
        assert!(!cache.over(ENTRY_OVERHEAD + 1) && cache.over(ENTRY_OVERHEAD));
    }
}
