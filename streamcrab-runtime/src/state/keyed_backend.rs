//! The keyed-state backend of an operator instance: on the heap (the default) or in RocksDB,
//! chosen per job with [`StateBackend`] (Flink's `state.backend.type`).
//!
//! Operators hold a [`KeyedBackend`] and reach a state's entries through [`TableRef`], which
//! dispatches to the heap's hash tables or to RocksDB's column families. Both give the same
//! answers; where Flink's two backends differ (MapState iteration order), so do these.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::backend::{HeapKeyedStateBackend, StateRegistry, StateTable};
#[cfg(feature = "rocksdb")]
use super::rocksdb::{RocksDbKeyedStateBackend, RocksDbOptions, RocksTable};
use super::{Namespace, StateValue};
use crate::checkpoint::snapshot::{OperatorSnapshot, RestoredOperator};
use crate::data::Key;
use crate::element::CheckpointBarrier;
use crate::error::StateError;
use crate::keygroup::KeyGroupRange;

/// The prefix of the RocksDB backend's keyed-state sections in a full snapshot.
pub(crate) const ROCKSDB_SECTION: &str = "rocksdb/";

/// Where a job keeps its keyed state.
#[derive(Clone, Debug, Default)]
pub enum StateBackend {
    /// In hash tables on the heap (Flink's `HashMapStateBackend`): fastest, bounded by memory.
    #[default]
    Heap,
    /// In RocksDB on local disk (Flink's `EmbeddedRocksDBStateBackend`): state larger than
    /// memory, incremental checkpoints. Needs the `rocksdb` feature.
    #[cfg(feature = "rocksdb")]
    RocksDb(RocksDbOptions),
}

/// Keys of a `MapState`.
pub trait MapKey: Clone + Eq + Hash + Send + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Eq + Hash + Send + Serialize + DeserializeOwned + 'static> MapKey for T {}

/// What an operator needs of its keyed-state backend.
pub(crate) trait KeyedStateBackend<K: Key> {
    /// The max parallelism its key groups are computed with.
    fn max_parallelism(&self) -> u32;
    /// Where states are declared.
    fn registry(&mut self) -> &mut StateRegistry;
    /// The entries of state `index`.
    fn table<N: Namespace, S: StateValue>(&mut self, index: usize) -> Result<TableRef<'_, K, N, S>, StateError>;
    /// Writes its state into `out` for the checkpoint or savepoint `barrier`.
    fn snapshot(&mut self, barrier: &CheckpointBarrier, out: &mut OperatorSnapshot) -> Result<(), StateError>;
    /// Takes back the keyed state of a restored snapshot.
    fn restore(&mut self, restored: &RestoredOperator) -> Result<(), StateError>;
}

/// The keyed-state backend an operator instance holds.
pub enum KeyedBackend<K> {
    /// See [`StateBackend::Heap`].
    Heap(HeapKeyedStateBackend<K>),
    /// See `StateBackend::RocksDb`.
    #[cfg(feature = "rocksdb")]
    RocksDb(Box<RocksDbKeyedStateBackend<K>>),
}

impl<K: Key> KeyedBackend<K> {
    /// A backend of kind `kind` for `key_groups`; `operator_uid` names it in errors and files,
    /// and incremental snapshots put shared files under `shared_dir`.
    #[cfg_attr(not(feature = "rocksdb"), allow(unused_variables, reason = "only RocksDB writes files"))]
    pub(crate) fn create(
        kind: &StateBackend,
        key_groups: KeyGroupRange,
        max_parallelism: u32,
        operator_uid: &str,
        shared_dir: Option<&std::path::Path>,
    ) -> Result<Self, StateError> {
        Ok(match kind {
            StateBackend::Heap => {
                Self::Heap(HeapKeyedStateBackend::for_operator(key_groups, max_parallelism, operator_uid))
            }
            #[cfg(feature = "rocksdb")]
            StateBackend::RocksDb(options) => Self::RocksDb(Box::new(RocksDbKeyedStateBackend::open(
                options,
                key_groups,
                max_parallelism,
                operator_uid,
                shared_dir.map(std::path::Path::to_path_buf),
            )?)),
        })
    }

    /// An empty heap backend, the placeholder before `open`.
    pub(crate) fn placeholder() -> Self {
        Self::Heap(HeapKeyedStateBackend::new(KeyGroupRange::new(0, 0), 1))
    }
}

macro_rules! dispatch {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            KeyedBackend::Heap($b) => $e,
            #[cfg(feature = "rocksdb")]
            KeyedBackend::RocksDb($b) => $e,
        }
    };
}

impl<K: Key> KeyedStateBackend<K> for KeyedBackend<K> {
    fn max_parallelism(&self) -> u32 {
        dispatch!(self, b => b.max_parallelism())
    }
    fn registry(&mut self) -> &mut StateRegistry {
        dispatch!(self, b => b.registry())
    }
    #[inline]
    fn table<N: Namespace, S: StateValue>(&mut self, index: usize) -> Result<TableRef<'_, K, N, S>, StateError> {
        dispatch!(self, b => b.table::<N, S>(index))
    }
    fn snapshot(&mut self, barrier: &CheckpointBarrier, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        dispatch!(self, b => b.snapshot(barrier, out))
    }
    fn restore(&mut self, restored: &RestoredOperator) -> Result<(), StateError> {
        dispatch!(self, b => b.restore(restored))
    }
}

/// The entries of one state, borrowed from the backend, with the operations the state handles
/// and the window operator need.
pub(crate) enum TableRef<'a, K, N, S> {
    Heap(&'a mut StateTable<K, N, S>),
    #[cfg(feature = "rocksdb")]
    RocksDb(RocksTable<'a, K, N, S>),
}

impl<K: Key, N: Namespace, S: StateValue> TableRef<'_, K, N, S> {
    /// The value of `(key, ns)`, if any.
    #[inline]
    pub(crate) fn get(&mut self, kg: u32, key: &K, ns: &N) -> Result<Option<S>, StateError> {
        match self {
            Self::Heap(t) => Ok(t.get(kg, key, ns).cloned()),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.get(kg, key, ns),
        }
    }

    /// Sets the value of `(key, ns)`.
    #[inline]
    pub(crate) fn put(&mut self, kg: u32, key: &K, ns: &N, value: S) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                t.put(kg, key, ns, value);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.put(kg, key, ns, &value),
        }
    }

    /// Removes the value of `(key, ns)`, returning it.
    #[inline]
    pub(crate) fn remove(&mut self, kg: u32, key: &K, ns: &N) -> Result<Option<S>, StateError> {
        match self {
            Self::Heap(t) => Ok(t.remove(kg, key, ns)),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.remove(kg, key, ns),
        }
    }

    /// Replaces the value of `(key, ns)` by `f` of it (`None` if absent), moving it out: no clone
    /// on the heap.
    #[inline]
    pub(crate) fn fold(&mut self, kg: u32, key: &K, ns: &N, f: impl FnOnce(Option<S>) -> S) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                let next = f(t.remove(kg, key, ns));
                t.put(kg, key, ns, next);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => {
                let next = f(t.get(kg, key, ns)?);
                t.put(kg, key, ns, &next)
            }
        }
    }

    /// Removes the value of `(key, ns)` without reading it.
    #[inline]
    pub(crate) fn delete(&mut self, kg: u32, key: &K, ns: &N) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                t.remove(kg, key, ns);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.delete(kg, key, ns),
        }
    }

    /// Applies `f` to the value of `(key, ns)`, created with `init` if absent, and stores it.
    #[inline]
    pub(crate) fn update<R>(
        &mut self,
        kg: u32,
        key: &K,
        ns: &N,
        init: impl FnOnce() -> S,
        f: impl FnOnce(&mut S) -> R,
    ) -> Result<R, StateError> {
        match self {
            Self::Heap(t) => Ok(f(t.get_or_insert_with(kg, key, ns, init))),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => {
                let mut value = t.get(kg, key, ns)?.unwrap_or_else(init);
                let result = f(&mut value);
                t.put(kg, key, ns, &value)?;
                Ok(result)
            }
        }
    }
}

/// List state: the heap keeps a `Vec`, RocksDB appends with its merge operator.
impl<K: Key, N: Namespace, V: StateValue> TableRef<'_, K, N, Vec<V>> {
    /// The list of `(key, ns)` (empty if never added to).
    pub(crate) fn list_get(&mut self, kg: u32, key: &K, ns: &N) -> Result<Vec<V>, StateError> {
        match self {
            Self::Heap(t) => Ok(t.get(kg, key, ns).cloned().unwrap_or_default()),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.list_get(kg, key, ns),
        }
    }

    /// Appends `value` to the list of `(key, ns)`.
    pub(crate) fn list_add(&mut self, kg: u32, key: &K, ns: &N, value: V) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                t.get_or_insert_with(kg, key, ns, Vec::new).push(value);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.list_add(kg, key, ns, &value),
        }
    }

    /// Replaces the list of `(key, ns)`; an empty list removes it.
    pub(crate) fn list_put(&mut self, kg: u32, key: &K, ns: &N, values: Vec<V>) -> Result<(), StateError> {
        match self {
            Self::Heap(t) if values.is_empty() => {
                t.remove(kg, key, ns);
                Ok(())
            }
            Self::Heap(t) => {
                t.put(kg, key, ns, values);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.list_put(kg, key, ns, &values),
        }
    }
}

/// Map state: the heap keeps a `HashMap` per key, RocksDB one entry per user key.
impl<K: Key, N: Namespace, UK: MapKey, UV: StateValue> TableRef<'_, K, N, HashMap<UK, UV>> {
    /// The value under `user_key`.
    pub(crate) fn map_get(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK) -> Result<Option<UV>, StateError> {
        match self {
            Self::Heap(t) => Ok(t.get(kg, key, ns).and_then(|m| m.get(user_key)).cloned()),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.map_get(kg, key, ns, user_key),
        }
    }

    /// Puts `value` under `user_key`.
    pub(crate) fn map_put(&mut self, kg: u32, key: &K, ns: &N, user_key: UK, value: UV) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                t.get_or_insert_with(kg, key, ns, HashMap::new).insert(user_key, value);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.map_put(kg, key, ns, &user_key, &value),
        }
    }

    /// Removes `user_key`, returning its value.
    pub(crate) fn map_remove(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK) -> Result<Option<UV>, StateError> {
        match self {
            Self::Heap(t) => {
                let Some(map) = t.get_mut(kg, key, ns) else { return Ok(None) };
                let removed = map.remove(user_key);
                if map.is_empty() {
                    t.remove(kg, key, ns);
                }
                Ok(removed)
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.map_remove(kg, key, ns, user_key),
        }
    }

    /// All entries: unordered on the heap, in the order of the serialized user keys in RocksDB.
    pub(crate) fn map_entries(&mut self, kg: u32, key: &K, ns: &N) -> Result<Vec<(UK, UV)>, StateError> {
        match self {
            Self::Heap(t) => Ok(t
                .get(kg, key, ns)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.map_entries(kg, key, ns),
        }
    }

    /// Removes the whole map.
    pub(crate) fn map_clear(&mut self, kg: u32, key: &K, ns: &N) -> Result<(), StateError> {
        match self {
            Self::Heap(t) => {
                t.remove(kg, key, ns);
                Ok(())
            }
            #[cfg(feature = "rocksdb")]
            Self::RocksDb(t) => t.map_clear(kg, key, ns),
        }
    }
}
