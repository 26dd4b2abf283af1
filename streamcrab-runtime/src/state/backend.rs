//! The heap keyed-state backend: hash tables per state and key group, one of `(key, namespace)`
//! entries or, for states whose namespaces follow one another in time, one per namespace
//! ([`Layout`]).
//!
//! Tables are created on first access, when the key type is known; registration in `open()`
//! only reserves a named, typed slot. Keeping key groups apart lets a snapshot, restore or
//! rescale take whole key groups without touching the others.

use std::any::{Any, TypeId};
use std::hash::Hash;

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

use std::collections::HashMap;

use super::keyed_backend::{KeyedBackend, KeyedStateBackend, ROCKSDB_SECTION, TableRef};
use super::{Namespace, StateValue};
use crate::checkpoint::snapshot::{KeyedSection, OperatorSnapshot, RestoredOperator, decode, encode};
use crate::data::Key;
use crate::element::CheckpointBarrier;
use crate::error::StateError;
use crate::keygroup::KeyGroupRange;

/// The states an operator declared, by name, in declaration order.
#[derive(Default)]
pub struct StateRegistry {
    slots: Vec<Slot>,
    /// Restored state no slot has claimed yet: name -> encoded entries per key group. It is kept
    /// (and written to the next snapshot) so a state the operator stops declaring is not lost.
    unclaimed: HashMap<String, Vec<(u32, Vec<u8>)>>,
}

struct Slot {
    name: String,
    kind: &'static str,
    type_id: TypeId,
    layout: Layout,
    table: Option<Box<dyn ErasedTable>>,
    /// Restored entries per key group, decoded when the table is created (its types are known
    /// only at the first access).
    restored: Vec<(u32, Vec<u8>)>,
}

/// The prefix of the heap backend's keyed-state sections in a snapshot.
pub(crate) const STATE_SECTION: &str = "state/";

impl StateRegistry {
    /// Reserves (or finds again) the slot `name` for a state of `kind` whose stored type is `T`.
    pub(crate) fn register<T: 'static>(&mut self, name: &str, kind: &'static str) -> Result<usize, StateError> {
        self.register_with_layout::<T>(name, kind, Layout::ByEntry)
    }

    /// [`Self::register`], with the heap table laid out as `layout` (other backends ignore it).
    pub(crate) fn register_with_layout<T: 'static>(
        &mut self,
        name: &str,
        kind: &'static str,
        layout: Layout,
    ) -> Result<usize, StateError> {
        let type_id = TypeId::of::<T>();
        if let Some(index) = self.slots.iter().position(|s| s.name == name) {
            let slot = &self.slots[index];
            return if slot.kind == kind && slot.type_id == type_id {
                Ok(index)
            } else {
                Err(StateError::TypeMismatch { name: name.to_string() })
            };
        }
        let restored = self.unclaimed.remove(name).unwrap_or_default();
        self.slots.push(Slot { name: name.to_string(), kind, type_id, layout, table: None, restored });
        Ok(self.slots.len() - 1)
    }

    /// The name of state `index`.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn name(&self, index: usize) -> Result<&str, StateError> {
        self.slots.get(index).map(|s| s.name.as_str()).ok_or(StateError::UnknownHandle { index })
    }

    /// Names of the registered states, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.name.as_str())
    }
}

/// What the backend needs of a table without knowing its types.
trait ErasedTable: Any + Send {
    fn entries_in_group(&self, offset: usize) -> usize;
    /// The encoded entries of the group at `offset`, `None` if it is empty.
    fn snapshot_group(&self, offset: usize) -> Result<Option<Vec<u8>>, String>;
}

/// How a table lays out the entries of a key group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One hash table of `(key, namespace) -> value` (Flink's `CopyOnWriteStateTable`): right
    /// for any number of namespaces, such as a session per key.
    ByEntry,
    /// Per namespace, a hash table of `key -> value` (Flink's former `NestedMapsStateTable`):
    /// for states whose namespaces follow one another, such as the windows of a tumbling
    /// assigner. The records of one window then probe a table of that window's keys alone,
    /// smaller than the table of every open (key, window) pair. A group's namespaces are a list
    /// searched newest first, so this layout does not suit many namespaces in use at once.
    ByNamespace,
}

/// The entries of one state, per key group, in hash tables probed with the borrowed key (one
/// lookup per access, the key cloned only on insert).
pub(crate) struct StateTable<K, N, S> {
    groups: Groups<K, N, S>,
    first_group: u32,
    hasher: DefaultHashBuilder,
}

enum Groups<K, N, S> {
    ByEntry(Vec<HashTable<((K, N), S)>>),
    /// The namespaces of a group, oldest first, each with its keys; a namespace leaves the list
    /// with its last entry.
    ByNamespace(Vec<Namespaces<K, N, S>>),
}

/// The namespaces of one key group, each with the table of its keys.
type Namespaces<K, N, S> = Vec<(N, HashTable<(K, S)>)>;

#[derive(Hash)]
struct EntryRef<'a, K, N>(&'a K, &'a N);

impl<K: Key, N: Namespace, S> StateTable<K, N, S> {
    fn new(range: KeyGroupRange, layout: Layout) -> Self {
        let groups = match layout {
            Layout::ByEntry => Groups::ByEntry((0..range.len()).map(|_| HashTable::new()).collect()),
            Layout::ByNamespace => Groups::ByNamespace((0..range.len()).map(|_| Vec::new()).collect()),
        };
        Self { groups, first_group: range.start, hasher: DefaultHashBuilder::default() }
    }

    #[inline]
    fn hash(hasher: &DefaultHashBuilder, key: &K, ns: &N) -> u64 {
        hasher.hash_one(EntryRef(key, ns))
    }

    #[inline]
    fn offset(&self, key_group: u32) -> usize {
        (key_group - self.first_group) as usize
    }

    #[inline]
    pub(crate) fn get(&self, key_group: u32, key: &K, ns: &N) -> Option<&S> {
        let offset = self.offset(key_group);
        match &self.groups {
            Groups::ByEntry(groups) => groups[offset]
                .find(Self::hash(&self.hasher, key, ns), |((k, n), _)| k == key && n == ns)
                .map(|(_, s)| s),
            Groups::ByNamespace(groups) => {
                let (_, keys) = groups[offset].iter().rev().find(|(n, _)| n == ns)?;
                keys.find(self.hasher.hash_one(key), |(k, _)| k == key).map(|(_, s)| s)
            }
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key_group: u32, key: &K, ns: &N) -> Option<&mut S> {
        let offset = self.offset(key_group);
        match &mut self.groups {
            Groups::ByEntry(groups) => groups[offset]
                .find_mut(Self::hash(&self.hasher, key, ns), |((k, n), _)| k == key && n == ns)
                .map(|(_, s)| s),
            Groups::ByNamespace(groups) => {
                let (_, keys) = groups[offset].iter_mut().rev().find(|(n, _)| n == ns)?;
                keys.find_mut(self.hasher.hash_one(key), |(k, _)| k == key).map(|(_, s)| s)
            }
        }
    }

    /// The entry for `(key, ns)`, created with `init` (and the key and namespace cloned) if
    /// absent.
    #[inline]
    pub(crate) fn get_or_insert_with(&mut self, key_group: u32, key: &K, ns: &N, init: impl FnOnce() -> S) -> &mut S {
        let offset = self.offset(key_group);
        let hasher = &self.hasher;
        match &mut self.groups {
            Groups::ByEntry(groups) => {
                let hash = Self::hash(hasher, key, ns);
                let eq = |((k, n), _): &((K, N), S)| k == key && n == ns;
                match groups[offset].entry(hash, eq, |((k, n), _)| Self::hash(hasher, k, n)) {
                    Entry::Occupied(e) => &mut e.into_mut().1,
                    Entry::Vacant(v) => &mut v.insert(((key.clone(), ns.clone()), init())).into_mut().1,
                }
            }
            Groups::ByNamespace(groups) => {
                let keys = namespace_keys(&mut groups[offset], ns);
                match keys.entry(hasher.hash_one(key), |(k, _)| k == key, |(k, _)| hasher.hash_one(k)) {
                    Entry::Occupied(e) => &mut e.into_mut().1,
                    Entry::Vacant(v) => &mut v.insert((key.clone(), init())).into_mut().1,
                }
            }
        }
    }

    /// Sets the value of `(key, ns)` (the key and namespace cloned only if absent).
    #[inline]
    pub(crate) fn put(&mut self, key_group: u32, key: &K, ns: &N, value: S) {
        match self.get_mut(key_group, key, ns) {
            Some(slot) => *slot = value,
            None => {
                self.get_or_insert_with(key_group, key, ns, || value);
            }
        }
    }

    #[inline]
    pub(crate) fn remove(&mut self, key_group: u32, key: &K, ns: &N) -> Option<S> {
        let offset = self.offset(key_group);
        match &mut self.groups {
            Groups::ByEntry(groups) => {
                let hash = Self::hash(&self.hasher, key, ns);
                let entry = groups[offset].find_entry(hash, |((k, n), _)| k == key && n == ns).ok()?;
                Some(entry.remove().0.1)
            }
            Groups::ByNamespace(groups) => {
                let namespaces = &mut groups[offset];
                let position = namespaces.iter().position(|(n, _)| n == ns)?;
                let keys = &mut namespaces[position].1;
                let value = keys.find_entry(self.hasher.hash_one(key), |(k, _)| k == key).ok()?.remove().0.1;
                if keys.is_empty() {
                    namespaces.remove(position);
                }
                Some(value)
            }
        }
    }
}

/// The keys of namespace `ns` in a group laid out by namespace, added if absent.
fn namespace_keys<'a, K, N: Namespace, S>(
    namespaces: &'a mut Namespaces<K, N, S>,
    ns: &N,
) -> &'a mut HashTable<(K, S)> {
    let position = match namespaces.iter().rposition(|(n, _)| n == ns) {
        Some(position) => position,
        None => {
            namespaces.push((ns.clone(), HashTable::new()));
            namespaces.len() - 1
        }
    };
    &mut namespaces[position].1
}

impl<K: Key, N: Namespace, S: StateValue> StateTable<K, N, S> {
    /// Adds the entries of `key_group` encoded by [`ErasedTable::snapshot_group`].
    fn restore_group(&mut self, key_group: u32, bytes: &[u8]) -> Result<(), String> {
        let groups = match &self.groups {
            Groups::ByEntry(groups) => groups.len(),
            Groups::ByNamespace(groups) => groups.len(),
        };
        if !(self.first_group..self.first_group + groups as u32).contains(&key_group) {
            return Err(format!("key group {key_group} is not owned by this subtask"));
        }
        let entries: Vec<((K, N), S)> = decode(bytes)?;
        for ((key, ns), value) in entries {
            self.put(key_group, &key, &ns, value);
        }
        Ok(())
    }
}

impl<K: Key, N: Namespace, S: StateValue> ErasedTable for StateTable<K, N, S> {
    fn entries_in_group(&self, offset: usize) -> usize {
        match &self.groups {
            Groups::ByEntry(groups) => groups.get(offset).map_or(0, HashTable::len),
            Groups::ByNamespace(groups) => groups.get(offset).map_or(0, |g| g.iter().map(|(_, keys)| keys.len()).sum()),
        }
    }

    /// Both layouts write the same `((key, namespace), value)` entries, so a snapshot restores
    /// into either.
    fn snapshot_group(&self, offset: usize) -> Result<Option<Vec<u8>>, String> {
        let entries: Vec<((&K, &N), &S)> = match &self.groups {
            Groups::ByEntry(groups) => {
                groups.get(offset).into_iter().flat_map(|g| g.iter()).map(|((k, n), s)| ((k, n), s)).collect()
            }
            Groups::ByNamespace(groups) => groups
                .get(offset)
                .into_iter()
                .flatten()
                .flat_map(|(n, keys)| keys.iter().map(move |(k, s)| ((k, n), s)))
                .collect(),
        };
        if entries.is_empty() { Ok(None) } else { encode(&entries).map(Some) }
    }
}

/// Keyed state of one operator instance, kept on the heap and organised by key group.
pub struct HeapKeyedStateBackend<K> {
    registry: StateRegistry,
    key_groups: KeyGroupRange,
    max_parallelism: u32,
    /// The owning operator's uid, for errors.
    operator_uid: String,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K: Key> HeapKeyedStateBackend<K> {
    /// An empty backend for the key groups `key_groups` of a job with `max_parallelism`.
    pub fn new(key_groups: KeyGroupRange, max_parallelism: u32) -> Self {
        Self::for_operator(key_groups, max_parallelism, "")
    }

    /// An empty backend of the operator with uid `operator_uid`.
    pub fn for_operator(key_groups: KeyGroupRange, max_parallelism: u32, operator_uid: &str) -> Self {
        Self {
            registry: StateRegistry::default(),
            key_groups,
            max_parallelism,
            operator_uid: operator_uid.to_string(),
            _key: std::marker::PhantomData,
        }
    }

    /// Number of entries, over all states, stored in `key_group`.
    pub fn entries_in_key_group(&self, key_group: u32) -> usize {
        if !self.key_groups.contains(key_group) {
            return 0;
        }
        let offset = (key_group - self.key_groups.start) as usize;
        self.registry.slots.iter().filter_map(|s| s.table.as_ref()).map(|t| t.entries_in_group(offset)).sum()
    }

    /// The table of state `index`, created on first use (with the restored entries, if any).
    pub(crate) fn state_table<N: Namespace, S: StateValue>(
        &mut self,
        index: usize,
    ) -> Result<&mut StateTable<K, N, S>, StateError> {
        let range = self.key_groups;
        let Some(slot) = self.registry.slots.get_mut(index) else { return Err(StateError::UnknownHandle { index }) };
        if slot.table.is_none() {
            let mut table = StateTable::<K, N, S>::new(range, slot.layout);
            for (key_group, bytes) in std::mem::take(&mut slot.restored) {
                table
                    .restore_group(key_group, &bytes)
                    .map_err(|reason| StateError::unreadable(&slot.name, &self.operator_uid, reason))?;
            }
            slot.table = Some(Box::new(table));
        }
        let name = &slot.name;
        slot.table
            .as_mut()
            .and_then(|t| (t.as_mut() as &mut dyn Any).downcast_mut::<StateTable<K, N, S>>())
            .ok_or_else(|| StateError::TypeMismatch { name: name.clone() })
    }

    /// Writes every state, per key group, into `out` (restored state not yet accessed included).
    pub fn snapshot_sections(&self, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        for slot in &self.registry.slots {
            let section = format!("{STATE_SECTION}{}", slot.name);
            match &slot.table {
                Some(table) => {
                    for offset in 0..self.key_groups.len() {
                        let bytes = table
                            .snapshot_group(offset)
                            .map_err(|reason| StateError::Snapshot { name: slot.name.clone(), reason })?;
                        if let Some(bytes) = bytes {
                            out.add_keyed(self.key_groups.start + offset as u32, section.clone(), bytes);
                        }
                    }
                }
                None => slot.restored.iter().for_each(|(kg, b)| out.add_keyed(*kg, section.clone(), b.clone())),
            }
        }
        for (name, groups) in &self.registry.unclaimed {
            groups.iter().for_each(|(kg, b)| out.add_keyed(*kg, format!("{STATE_SECTION}{name}"), b.clone()));
        }
        Ok(())
    }

    /// Takes the keyed-state sections of a restored snapshot; each state gets its entries when
    /// the operator declares it and first uses it.
    pub fn restore_sections(&mut self, sections: &[KeyedSection]) {
        for section in sections {
            if let Some(name) = section.name.strip_prefix(STATE_SECTION)
                && self.key_groups.contains(section.key_group)
            {
                let entry = (section.key_group, section.bytes.clone());
                match self.registry.slots.iter_mut().find(|s| s.name == name && s.table.is_none()) {
                    Some(slot) => slot.restored.push(entry),
                    None => self.registry.unclaimed.entry(name.to_string()).or_default().push(entry),
                }
            }
        }
    }
}

/// The state of the current key: what a handle needs for one access.
pub struct StateScope<'a, K> {
    pub(crate) backend: &'a mut KeyedBackend<K>,
    pub(crate) key: &'a K,
    pub(crate) key_group: u32,
    /// The job's processing-time clock (state time-to-live).
    pub(crate) clock: &'a dyn crate::clock::Clock,
}

impl<'a, K: Key> StateScope<'a, K> {
    /// A scope on `backend` for `key` in `key_group`, with the job's `clock`.
    pub(crate) fn new(
        backend: &'a mut KeyedBackend<K>,
        key: &'a K,
        key_group: u32,
        clock: &'a dyn crate::clock::Clock,
    ) -> Self {
        Self { backend, key, key_group, clock }
    }
}

/// A context that gives access to the keyed state of its current key.
///
/// Implemented by the contexts of keyed functions (`KeyedProcessFunction`, keyed co-functions).
pub trait KeyedStateAccess {
    /// The key type of the stream.
    type Key: Key;
    /// The backend, scoped to the current key.
    fn state_scope(&mut self) -> StateScope<'_, Self::Key>;
}

impl<K: Key> KeyedStateAccess for StateScope<'_, K> {
    type Key = K;
    fn state_scope(&mut self) -> StateScope<'_, K> {
        StateScope { backend: self.backend, key: self.key, key_group: self.key_group, clock: self.clock }
    }
}

impl<K: Key> KeyedStateBackend<K> for HeapKeyedStateBackend<K> {
    fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }
    fn registry(&mut self) -> &mut StateRegistry {
        &mut self.registry
    }
    #[inline]
    fn table<N: Namespace, S: StateValue>(&mut self, index: usize) -> Result<TableRef<'_, K, N, S>, StateError> {
        self.state_table(index).map(TableRef::Heap)
    }
    fn snapshot(&mut self, _barrier: &CheckpointBarrier, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        self.snapshot_sections(out)
    }
    fn restore(&mut self, restored: &RestoredOperator) -> Result<(), StateError> {
        if !restored.file_sets.is_empty() || restored.keyed.iter().any(|s| s.name.starts_with(ROCKSDB_SECTION)) {
            return Err(StateError::BackendMismatch { expected: "heap", found: "RocksDB" });
        }
        self.restore_sections(&restored.keyed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::VoidNamespace;
    use std::hash::BuildHasher;

    #[test]
    fn entry_ref_hashes_like_the_owned_pair() {
        let builder = hashbrown::DefaultHashBuilder::default();
        let owned = ("key".to_string(), VoidNamespace);
        assert_eq!(builder.hash_one(&owned), builder.hash_one(EntryRef(&owned.0, &owned.1)));
    }

    #[test]
    fn tables_are_split_by_key_group() {
        let mut backend = HeapKeyedStateBackend::<String>::new(KeyGroupRange::new(10, 19), 128);
        let index = backend.registry().register::<(VoidNamespace, i64)>("count", "value").unwrap();
        let table = backend.state_table::<VoidNamespace, i64>(index).unwrap();
        table.put(12, &"a".to_string(), &VoidNamespace, 1);
        table.put(12, &"b".to_string(), &VoidNamespace, 2);
        table.put(15, &"a".to_string(), &VoidNamespace, 3);
        assert_eq!(backend.entries_in_key_group(12), 2);
        assert_eq!(backend.entries_in_key_group(15), 1);
        assert_eq!(backend.entries_in_key_group(11), 0);
        assert_eq!(backend.entries_in_key_group(99), 0);
    }

    fn tables_of_both_layouts() -> [StateTable<String, i64, u32>; 2] {
        let range = KeyGroupRange::new(0, 3);
        [StateTable::new(range, Layout::ByEntry), StateTable::new(range, Layout::ByNamespace)]
    }

    #[test]
    fn both_layouts_keep_each_key_and_namespace_apart() {
        for mut table in tables_of_both_layouts() {
            let (a, b) = ("a".to_string(), "b".to_string());
            table.put(1, &a, &10, 1);
            table.put(1, &b, &10, 2);
            table.put(1, &a, &20, 3);
            table.put(2, &a, &10, 4);
            *table.get_or_insert_with(1, &a, &10, || 0) += 10;
            *table.get_or_insert_with(1, &b, &30, || 7) += 1;
            assert_eq!(table.get(1, &a, &10), Some(&11));
            assert_eq!(table.get(1, &b, &10), Some(&2));
            assert_eq!(table.get(1, &a, &20), Some(&3));
            assert_eq!(table.get(1, &b, &30), Some(&8));
            assert_eq!(table.get(2, &a, &10), Some(&4));
            assert_eq!(table.get(2, &b, &10), None);
            assert_eq!(table.get(1, &b, &20), None);
            assert_eq!(table.entries_in_group(1), 4);
            assert_eq!(table.remove(1, &a, &20), Some(3));
            assert_eq!(table.remove(1, &a, &20), None);
            assert_eq!(table.get_mut(1, &b, &30).map(|v| std::mem::replace(v, 9)), Some(8));
            assert_eq!(table.get(1, &b, &30), Some(&9));
            assert_eq!(table.entries_in_group(1), 3);
        }
    }

    #[test]
    fn a_namespace_leaves_its_group_with_its_last_entry() {
        let [_, mut table] = tables_of_both_layouts();
        let key = "k".to_string();
        for window in [10, 20, 30] {
            table.put(0, &key, &window, 1);
        }
        table.remove(0, &key, &10);
        table.remove(0, &key, &30);
        let Groups::ByNamespace(groups) = &table.groups else { panic!("laid out by namespace") };
        assert_eq!(groups[0].iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![20]);
    }

    #[test]
    fn a_snapshot_of_either_layout_restores_into_the_other() {
        let [mut by_entry, mut by_namespace] = tables_of_both_layouts();
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            by_entry.put(2, &key.to_string(), &(i as i64 % 2), i as u32);
            by_namespace.put(2, &key.to_string(), &(i as i64 % 2), i as u32 + 10);
        }
        let [mut into_namespace, mut into_entry] = [
            StateTable::<String, i64, u32>::new(KeyGroupRange::new(0, 3), Layout::ByNamespace),
            StateTable::<String, i64, u32>::new(KeyGroupRange::new(0, 3), Layout::ByEntry),
        ];
        into_namespace.restore_group(2, &by_entry.snapshot_group(2).unwrap().unwrap()).unwrap();
        into_entry.restore_group(2, &by_namespace.snapshot_group(2).unwrap().unwrap()).unwrap();
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(into_namespace.get(2, &key.to_string(), &(i as i64 % 2)), Some(&(i as u32)));
            assert_eq!(into_entry.get(2, &key.to_string(), &(i as i64 % 2)), Some(&(i as u32 + 10)));
        }
        assert_eq!(by_namespace.snapshot_group(1).unwrap(), None, "an empty group writes nothing");
        assert!(into_entry.restore_group(9, &[]).is_err(), "a key group outside the range is refused");
    }

    #[test]
    fn same_name_with_other_type_is_an_error() {
        let mut registry = StateRegistry::default();
        registry.register::<i64>("s", "value").unwrap();
        assert_eq!(registry.register::<i64>("s", "value").unwrap(), 0);
        assert_eq!(registry.register::<String>("s", "value"), Err(StateError::TypeMismatch { name: "s".into() }));
        assert!(registry.register::<i64>("s", "list").is_err());
    }
}
