//! The RocksDB keyed-state backend (Flink's `EmbeddedRocksDBStateBackend`), behind the
//! `rocksdb` feature.
//!
//! Each keyed operator instance has its own RocksDB in a folder under the local working
//! directory ([`RocksDbOptions::local_dir`]), removed when the instance ends; each declared
//! state is one column family. The byte layout of keys and values is in `layout`. Writes skip
//! RocksDB's write-ahead log, as Flink's do: durability comes from checkpoints.
//!
//! Snapshots (see `files`): a checkpoint into a storage with a shared folder (file storage) is
//! incremental: RocksDB's own checkpoint of the instance, whose SST files are uploaded once and
//! referenced by later checkpoints; a savepoint, or a checkpoint kept in memory, is a full
//! snapshot of the entries by key group.
//!
//! Value-shaped state reaches RocksDB through an in-memory tier of recent writes
//! (`write_cache`, [`RocksDbOptions::write_cache_bytes`]); snapshots flush it first.
//!
//! Departures from Flink: the in-memory tier (Flink reads and writes RocksDB on every access);
//! timers stay on the heap (Flink's
//! `state.backend.rocksdb.timer-service.factory: HEAP`) and are snapshotted by key group like
//! the heap backend's; uploads happen in the task while it snapshots (Flink uploads
//! asynchronously).

mod files;
mod layout;
mod write_cache;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use rocksdb::{BlockBasedOptions, Cache, ColumnFamily, DB, Options, WriteBatch, WriteBufferManager, WriteOptions};

use super::backend::StateRegistry;
use super::keyed_backend::{KeyedStateBackend, MapKey, ROCKSDB_SECTION, TableRef};
use super::{Namespace, StateValue};
use crate::checkpoint::snapshot::{OperatorSnapshot, RestoredOperator, decode, encode};
use crate::checkpoint::storage::sanitize;
use crate::data::Key;
use crate::element::{CheckpointBarrier, CheckpointKind};
use crate::error::StateError;
use crate::keygroup::KeyGroupRange;
use write_cache::WriteCache;

/// How RocksDB compresses its SST files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4 (fast; the default here).
    #[default]
    Lz4,
    /// Zstandard (smaller files, more CPU).
    Zstd,
}

/// Settings of the RocksDB backend, named after Flink's `state.backend.rocksdb.*` options.
#[derive(Clone, Debug)]
pub struct RocksDbOptions {
    /// Where instances keep their files (`state.backend.rocksdb.localdir`); the system temp
    /// folder if unset.
    pub local_dir: Option<PathBuf>,
    /// Block cache size in bytes (`state.backend.rocksdb.block.cache-size`).
    pub block_cache_bytes: usize,
    /// Memtable size in bytes (`state.backend.rocksdb.writebuffer.size`).
    pub write_buffer_bytes: usize,
    /// One memory budget per operator instance (slot) for block cache and memtables together
    /// (Flink's managed memory); when set, it replaces `block_cache_bytes`, and memtables may
    /// take `write_buffer_ratio` of it.
    pub memory_budget_per_slot: Option<usize>,
    /// Share of the budget memtables may use (`state.backend.rocksdb.memory.write-buffer-ratio`).
    pub write_buffer_ratio: f64,
    /// SST compression.
    pub compression: Compression,
    /// Whether checkpoints upload only new SST files (`execution.checkpointing.incremental`;
    /// on by default here, off in Flink).
    pub incremental: bool,
    /// Bytes of recent value-state writes each state of an operator instance keeps in memory
    /// before they go to RocksDB in one batch (`state.backend.rocksdb.write-cache.size`,
    /// StreamCrab's own: Flink has no such tier); 0 sends every write to RocksDB at once. It
    /// is not part of `memory_budget_per_slot`, which bounds RocksDB's own memory.
    pub write_cache_bytes: usize,
}

impl Default for RocksDbOptions {
    fn default() -> Self {
        Self {
            local_dir: None,
            block_cache_bytes: 64 << 20,
            write_buffer_bytes: 64 << 20,
            memory_budget_per_slot: None,
            write_buffer_ratio: 0.5,
            compression: Compression::default(),
            incremental: true,
            write_cache_bytes: 128 << 20,
        }
    }
}

impl RocksDbOptions {
    /// The RocksDB options of a database and of its column families.
    fn rocksdb_options(&self) -> Options {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_write_buffer_size(self.write_buffer_bytes);
        // A bloom filter over the memtable answers the many reads of keys not written yet (a new
        // key, a new window) without searching its skip list.
        options.set_memtable_whole_key_filtering(true);
        options.set_memtable_prefix_bloom_ratio(0.1);
        let compression = match self.compression {
            Compression::None => rocksdb::DBCompressionType::None,
            Compression::Lz4 => rocksdb::DBCompressionType::Lz4,
            Compression::Zstd => rocksdb::DBCompressionType::Zstd,
        };
        // The young levels are read and rewritten most: left uncompressed (a common tuning).
        use rocksdb::DBCompressionType::None as Plain;
        options.set_compression_per_level(&[
            Plain,
            Plain,
            compression,
            compression,
            compression,
            compression,
            compression,
        ]);
        let cache = Cache::new_lru_cache(self.memory_budget_per_slot.unwrap_or(self.block_cache_bytes));
        if let Some(budget) = self.memory_budget_per_slot {
            let memtables = (budget as f64 * self.write_buffer_ratio.clamp(0.0, 1.0)) as usize;
            let manager = WriteBufferManager::new_write_buffer_manager_with_cache(memtables, false, cache.clone());
            options.set_write_buffer_manager(&manager);
        }
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        // Most reads of window state miss (a new key or window): a bloom filter answers those
        // without reading SST blocks.
        table.set_bloom_filter(10.0, false);
        options.set_block_based_table_factory(&table);
        options.set_merge_operator_associative("streamcrab-list-append", layout::append_merge);
        options
    }
}

/// A stored entry of a full snapshot: the key without its key-group prefix, and the value.
type Entry = (Vec<u8>, Vec<u8>);

/// A folder removed when dropped (declared after the database, so it is closed first).
struct InstanceDir(PathBuf);

impl Drop for InstanceDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keyed state of one operator instance in its own RocksDB.
pub struct RocksDbKeyedStateBackend<K> {
    registry: StateRegistry,
    db: DB,
    options: Options,
    settings: RocksDbOptions,
    write: WriteOptions,
    key_groups: KeyGroupRange,
    max_parallelism: u32,
    operator_uid: String,
    /// Serialized-key scratch buffer, reused across accesses.
    scratch: Vec<u8>,
    /// Per state index: whether its column family is known to exist in the open database.
    column_family_ready: Vec<bool>,
    /// Per state index: its in-memory tier of recent writes.
    write_caches: Vec<WriteCache>,
    /// The storage's shared folder for incremental checkpoints, if it has one.
    shared_dir: Option<PathBuf>,
    /// SST files already in the shared folder: local name -> shared path.
    uploaded: HashMap<String, String>,
    /// Databases opened so far (each restore opens a new one beside the first).
    generation: u32,
    dir: InstanceDir,
    _key: PhantomData<fn() -> K>,
}

impl<K: Key> RocksDbKeyedStateBackend<K> {
    /// Opens an empty instance for `key_groups` of operator `operator_uid`; incremental
    /// checkpoints put their files under `shared_dir` if given.
    pub fn open(
        settings: &RocksDbOptions,
        key_groups: KeyGroupRange,
        max_parallelism: u32,
        operator_uid: &str,
        shared_dir: Option<PathBuf>,
    ) -> Result<Self, StateError> {
        let backend_error = |reason: String| StateError::Backend { operator_uid: operator_uid.to_string(), reason };
        if max_parallelism > layout::MAX_KEY_GROUPS {
            return Err(backend_error(format!(
                "max parallelism {max_parallelism} exceeds {} key groups",
                layout::MAX_KEY_GROUPS
            )));
        }
        let root = settings.local_dir.clone().unwrap_or_else(|| std::env::temp_dir().join("streamcrab-rocksdb"));
        // Random, so instances of other runs never write the same shared file names.
        let name = format!("{}-kg{}-{:016x}", sanitize(operator_uid), key_groups.start, fastrand::u64(..));
        let dir = InstanceDir(root.join(name));
        std::fs::create_dir_all(&dir.0).map_err(|e| backend_error(format!("{}: {e}", dir.0.display())))?;
        let options = settings.rocksdb_options();
        let db = DB::open(&options, dir.0.join("db-0")).map_err(|e| backend_error(e.to_string()))?;
        let mut write = WriteOptions::default();
        write.disable_wal(true);
        Ok(Self {
            registry: StateRegistry::default(),
            db,
            options,
            settings: settings.clone(),
            write,
            key_groups,
            max_parallelism,
            operator_uid: operator_uid.to_string(),
            scratch: Vec::with_capacity(64),
            column_family_ready: Vec::new(),
            write_caches: Vec::new(),
            shared_dir,
            uploaded: HashMap::new(),
            generation: 0,
            dir,
            _key: PhantomData,
        })
    }

    /// The folder this instance keeps its files in.
    pub fn path(&self) -> &Path {
        &self.dir.0
    }

    fn error(&self, reason: impl ToString) -> StateError {
        StateError::Backend { operator_uid: self.operator_uid.clone(), reason: reason.to_string() }
    }

    /// The column family of state `name`, created on first use.
    fn ensure_column_family(&mut self, name: &str) -> Result<(), StateError> {
        if self.db.cf_handle(name).is_none() {
            self.db.create_cf(name, &self.options).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// The names of the column families holding state (all but RocksDB's `default`).
    fn state_column_families(&self, db_path: &Path) -> Result<Vec<String>, StateError> {
        let names = DB::list_cf(&self.options, db_path).map_err(|e| self.error(e))?;
        Ok(names.into_iter().filter(|n| n != rocksdb::DEFAULT_COLUMN_FAMILY_NAME).collect())
    }

    /// Writes what the states' in-memory tiers hold to RocksDB, in one batch.
    fn flush_write_caches(&mut self) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        for (index, cache) in self.write_caches.iter_mut().enumerate() {
            if cache.is_empty() {
                continue;
            }
            let name = self.registry.name(index)?;
            let cf = self.db.cf_handle(name).ok_or(StateError::UnknownHandle { index })?;
            write_cache::batch_changes(&mut batch, cf, cache);
        }
        self.db.write_opt(batch, &self.write).map_err(|e| self.error(e))
    }

    fn db_path(&self, generation: u32) -> PathBuf {
        self.dir.0.join(format!("db-{generation}"))
    }

    /// Writes every entry, grouped by key group, into `out` as keyed sections.
    fn full_snapshot(&self, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        for name in self.state_column_families(&self.db_path(self.generation))? {
            let Some(cf) = self.db.cf_handle(&name) else { continue };
            let section = format!("{ROCKSDB_SECTION}{name}");
            let mut group: Option<(u32, Vec<Entry>)> = None;
            for item in self.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
                let (key, value) = item.map_err(|e| self.error(e))?;
                let key_group =
                    layout::key_group_of(&key).ok_or_else(|| self.error("a stored key has no key group"))?;
                if group.as_ref().is_some_and(|(kg, _)| *kg != key_group) {
                    let (kg, entries) = group.take().unwrap_or_default();
                    out.add_keyed(kg, section.clone(), encode(&entries).map_err(|e| self.error(e))?);
                }
                group.get_or_insert_with(|| (key_group, Vec::new())).1.push((key[2..].to_vec(), value.to_vec()));
            }
            if let Some((kg, entries)) = group {
                out.add_keyed(kg, section.clone(), encode(&entries).map_err(|e| self.error(e))?);
            }
        }
        Ok(())
    }

    /// Writes the entries of full-snapshot sections of the owned key groups.
    fn restore_sections(&mut self, restored: &RestoredOperator) -> Result<(), StateError> {
        for section in &restored.keyed {
            let Some(name) = section.name.strip_prefix(ROCKSDB_SECTION) else { continue };
            if !self.key_groups.contains(section.key_group) {
                continue;
            }
            let entries: Vec<(Vec<u8>, Vec<u8>)> =
                decode(&section.bytes).map_err(|reason| StateError::Restore { name: name.to_string(), reason })?;
            self.ensure_column_family(name)?;
            let cf = self.db.cf_handle(name).ok_or_else(|| self.error(format!("no column family '{name}'")))?;
            let mut batch = WriteBatch::default();
            let prefix = layout::key_group_prefix(section.key_group);
            for (suffix, value) in entries {
                let mut key = Vec::with_capacity(2 + suffix.len());
                key.extend_from_slice(&prefix);
                key.extend_from_slice(&suffix);
                batch.put_cf(cf, key, value);
            }
            self.db.write_opt(batch, &self.write).map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

impl<K: Key> KeyedStateBackend<K> for RocksDbKeyedStateBackend<K> {
    fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }

    fn registry(&mut self) -> &mut StateRegistry {
        &mut self.registry
    }

    #[inline]
    fn table<N: Namespace, S: StateValue>(&mut self, index: usize) -> Result<TableRef<'_, K, N, S>, StateError> {
        if !self.column_family_ready.get(index).copied().unwrap_or(false) {
            let name = self.registry.name(index)?.to_string();
            self.ensure_column_family(&name)?;
            if self.column_family_ready.len() <= index {
                self.column_family_ready.resize(index + 1, false);
            }
            self.column_family_ready[index] = true;
            if self.write_caches.len() <= index {
                self.write_caches.resize_with(index + 1, WriteCache::default);
            }
        }
        let Self { db, write, scratch, operator_uid, registry, write_caches, settings, .. } = self;
        let name = registry.name(index)?;
        let cf = db.cf_handle(name).ok_or(StateError::UnknownHandle { index })?;
        let (cache, cache_budget) = (&mut write_caches[index], settings.write_cache_bytes);
        Ok(TableRef::RocksDb(RocksTable {
            db,
            cf,
            write,
            scratch,
            cache,
            cache_budget,
            name,
            operator_uid,
            _types: PhantomData,
        }))
    }

    fn snapshot(&mut self, barrier: &CheckpointBarrier, out: &mut OperatorSnapshot) -> Result<(), StateError> {
        self.flush_write_caches()?;
        match (&self.shared_dir, barrier.kind) {
            (Some(shared), CheckpointKind::Checkpoint) if self.settings.incremental => {
                let shared = shared.clone();
                let files = files::incremental_snapshot(self, barrier.id, &shared)?;
                out.file_sets.push(files);
                Ok(())
            }
            _ => self.full_snapshot(out),
        }
    }

    fn restore(&mut self, restored: &RestoredOperator) -> Result<(), StateError> {
        if restored.keyed.iter().any(|s| s.name.starts_with(super::backend::STATE_SECTION)) {
            return Err(StateError::BackendMismatch { expected: "RocksDB", found: "heap" });
        }
        // What the tiers held belongs to the state being replaced.
        self.write_caches.iter_mut().for_each(|cache| *cache = WriteCache::default());
        files::restore_file_sets(self, &restored.file_sets)?;
        self.restore_sections(restored)
    }
}

/// One state's column family, with what an access needs.
pub struct RocksTable<'a, K, N, S> {
    db: &'a DB,
    cf: &'a ColumnFamily,
    write: &'a WriteOptions,
    scratch: &'a mut Vec<u8>,
    cache: &'a mut WriteCache,
    cache_budget: usize,
    name: &'a str,
    operator_uid: &'a str,
    _types: PhantomData<Types<K, N, S>>,
}

/// The types a [`RocksTable`] is accessed with.
type Types<K, N, S> = fn() -> (K, N, S);

impl<K: Key, N: Namespace, S> RocksTable<'_, K, N, S> {
    fn backend_error(&self, reason: impl ToString) -> StateError {
        StateError::Backend { operator_uid: self.operator_uid.to_string(), reason: reason.to_string() }
    }

    fn deserialize_error(&self, reason: String) -> StateError {
        StateError::unreadable(self.name, self.operator_uid, reason)
    }

    /// Serializes `(key_group, key, ns)` into the scratch buffer.
    fn key(&mut self, kg: u32, key: &K, ns: &N) -> Result<(), StateError> {
        layout::entry_key(self.scratch, kg, key, ns).map_err(|e| self.backend_error(e))
    }

    fn read(&self) -> Result<Option<rocksdb::DBPinnableSlice<'_>>, StateError> {
        self.db.get_pinned_cf(self.cf, &self.scratch[..]).map_err(|e| self.backend_error(e))
    }

    fn write(&self, value: &[u8]) -> Result<(), StateError> {
        self.db.put_cf_opt(self.cf, &self.scratch[..], value, self.write).map_err(|e| self.backend_error(e))
    }

    fn delete_current(&mut self) -> Result<(), StateError> {
        if self.cache_budget > 0 && self.cache.delete(self.scratch) {
            return Ok(());
        }
        self.db.delete_cf_opt(self.cf, &self.scratch[..], self.write).map_err(|e| self.backend_error(e))
    }

    /// The stored value of the key in the scratch buffer, decoded where it lies: in the
    /// in-memory tier if it knows the key, else in RocksDB (and then remembered in the tier).
    fn read_through<V: StateValue>(&mut self) -> Result<Option<V>, StateError> {
        let tiered = self.cache_budget > 0;
        let known = if tiered { self.cache.lookup(self.scratch) } else { None };
        let decoded = match known {
            Some(known) => known.map(layout::decode_value).transpose(),
            None => {
                let stored = self.db.get_pinned_cf(self.cf, &self.scratch[..]).map_err(|e| self.backend_error(e))?;
                let decoded = stored.as_deref().map(layout::decode_value).transpose();
                if tiered {
                    self.cache.remember(self.scratch, stored.as_deref());
                }
                decoded
            }
        };
        decoded.map_err(|e| self.deserialize_error(e))
    }

    /// Stores `value` under the key in the scratch buffer, through the in-memory tier.
    fn write_through(&mut self, value: &[u8]) -> Result<(), StateError> {
        if self.cache_budget == 0 {
            return self.write(value);
        }
        self.cache.put(self.scratch, value);
        if self.cache.over(self.cache_budget) {
            self.flush_cache()?;
        }
        Ok(())
    }

    /// Writes the in-memory tier's changes to RocksDB. Lists and maps reach RocksDB directly,
    /// so their accesses first flush whatever value access left in the tier.
    fn flush_cache(&mut self) -> Result<(), StateError> {
        if self.cache.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        write_cache::batch_changes(&mut batch, self.cf, self.cache);
        self.db.write_opt(batch, self.write).map_err(|e| self.backend_error(e))
    }

    /// Removes the value of `(key, ns)` without reading it.
    pub(crate) fn delete(&mut self, kg: u32, key: &K, ns: &N) -> Result<(), StateError> {
        self.key(kg, key, ns)?;
        self.delete_current()
    }
}

impl<K: Key, N: Namespace, S: StateValue> RocksTable<'_, K, N, S> {
    pub(crate) fn get(&mut self, kg: u32, key: &K, ns: &N) -> Result<Option<S>, StateError> {
        self.key(kg, key, ns)?;
        self.read_through()
    }

    pub(crate) fn put(&mut self, kg: u32, key: &K, ns: &N, value: &S) -> Result<(), StateError> {
        self.key(kg, key, ns)?;
        let bytes = layout::encode_value(value).map_err(|e| self.backend_error(e))?;
        self.write_through(&bytes)
    }

    pub(crate) fn remove(&mut self, kg: u32, key: &K, ns: &N) -> Result<Option<S>, StateError> {
        let value = self.get(kg, key, ns)?;
        if value.is_some() {
            self.delete_current()?;
        }
        Ok(value)
    }
}

impl<K: Key, N: Namespace, V: StateValue> RocksTable<'_, K, N, Vec<V>> {
    pub(crate) fn list_get(&mut self, kg: u32, key: &K, ns: &N) -> Result<Vec<V>, StateError> {
        self.flush_cache()?;
        self.key(kg, key, ns)?;
        match self.read()? {
            Some(bytes) => layout::decode_list(&bytes).map_err(|e| self.deserialize_error(e)),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) fn list_add(&mut self, kg: u32, key: &K, ns: &N, value: &V) -> Result<(), StateError> {
        self.flush_cache()?;
        self.key(kg, key, ns)?;
        let bytes = layout::encode_value(value).map_err(|e| self.backend_error(e))?;
        self.db.merge_cf_opt(self.cf, &self.scratch[..], bytes, self.write).map_err(|e| self.backend_error(e))
    }

    pub(crate) fn list_put(&mut self, kg: u32, key: &K, ns: &N, values: &[V]) -> Result<(), StateError> {
        self.flush_cache()?;
        self.key(kg, key, ns)?;
        if values.is_empty() {
            return self.delete_current();
        }
        let mut bytes = Vec::new();
        for value in values {
            layout::append_value(&mut bytes, value).map_err(|e| self.backend_error(e))?;
        }
        self.write(&bytes)
    }
}

impl<K: Key, N: Namespace, UK: MapKey, UV: StateValue> RocksTable<'_, K, N, HashMap<UK, UV>> {
    /// Serializes `(key_group, key, ns, user_key)` into the scratch buffer.
    fn map_key(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK) -> Result<(), StateError> {
        self.key(kg, key, ns)?;
        layout::append_key(self.scratch, user_key).map_err(|e| self.backend_error(e))
    }

    pub(crate) fn map_get(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK) -> Result<Option<UV>, StateError> {
        self.flush_cache()?;
        self.map_key(kg, key, ns, user_key)?;
        match self.read()? {
            Some(bytes) => layout::decode_value(&bytes).map(Some).map_err(|e| self.deserialize_error(e)),
            None => Ok(None),
        }
    }

    pub(crate) fn map_put(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK, value: &UV) -> Result<(), StateError> {
        self.flush_cache()?;
        self.map_key(kg, key, ns, user_key)?;
        let bytes = layout::encode_value(value).map_err(|e| self.backend_error(e))?;
        self.write(&bytes)
    }

    pub(crate) fn map_remove(&mut self, kg: u32, key: &K, ns: &N, user_key: &UK) -> Result<Option<UV>, StateError> {
        let value = self.map_get(kg, key, ns, user_key)?;
        if value.is_some() {
            self.delete_current()?;
        }
        Ok(value)
    }

    /// The entries of `(key, ns)` in the order of their serialized user keys.
    pub(crate) fn map_entries(&mut self, kg: u32, key: &K, ns: &N) -> Result<Vec<(UK, UV)>, StateError> {
        self.flush_cache()?;
        self.key(kg, key, ns)?;
        let prefix = self.scratch.clone();
        let mode = rocksdb::IteratorMode::From(&prefix, rocksdb::Direction::Forward);
        let mut entries = Vec::new();
        for item in self.db.iterator_cf(self.cf, mode) {
            let (stored_key, value) = item.map_err(|e| self.backend_error(e))?;
            let Some(user_key) = stored_key.strip_prefix(&prefix[..]) else { break };
            let user_key = layout::decode_key(user_key).map_err(|e| self.deserialize_error(e))?;
            let value = layout::decode_value(&value).map_err(|e| self.deserialize_error(e))?;
            entries.push((user_key, value));
        }
        Ok(entries)
    }

    pub(crate) fn map_clear(&mut self, kg: u32, key: &K, ns: &N) -> Result<(), StateError> {
        self.flush_cache()?;
        self.key(kg, key, ns)?;
        let Some(end) = layout::prefix_end(self.scratch) else {
            return Err(self.backend_error("a map prefix without successor"));
        };
        self.db.delete_range_cf_opt(self.cf, &self.scratch[..], &end[..], self.write).map_err(|e| self.backend_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::snapshot::FileContent;
    use crate::state::VoidNamespace;

    fn options(dir: &Path) -> RocksDbOptions {
        RocksDbOptions { local_dir: Some(dir.to_path_buf()), ..RocksDbOptions::default() }
    }

    fn backend(dir: &Path, groups: (u32, u32), shared: Option<&Path>) -> RocksDbKeyedStateBackend<String> {
        let range = KeyGroupRange::new(groups.0, groups.1);
        RocksDbKeyedStateBackend::open(&options(dir), range, 128, "op-uid", shared.map(Path::to_path_buf)).unwrap()
    }

    fn count_state(backend: &mut RocksDbKeyedStateBackend<String>) -> usize {
        backend.registry().register::<(VoidNamespace, u64)>("count", "value").unwrap()
    }

    fn put(backend: &mut RocksDbKeyedStateBackend<String>, state: usize, kg: u32, key: &str, value: u64) {
        backend.table::<VoidNamespace, u64>(state).unwrap().put(kg, &key.to_string(), &VoidNamespace, value).unwrap();
    }

    fn get(backend: &mut RocksDbKeyedStateBackend<String>, state: usize, kg: u32, key: &str) -> Option<u64> {
        backend.table::<VoidNamespace, u64>(state).unwrap().get(kg, &key.to_string(), &VoidNamespace).unwrap()
    }

    fn checkpoint(id: u64) -> CheckpointBarrier {
        CheckpointBarrier { id, timestamp: 0, kind: CheckpointKind::Checkpoint }
    }

    fn restored(file_sets: Vec<crate::checkpoint::snapshot::FileSetSnapshot>) -> RestoredOperator {
        RestoredOperator { file_sets, ..RestoredOperator::default() }
    }

    #[test]
    fn map_state_iterates_in_user_key_order_and_lists_append_by_merge() {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = backend(dir.path(), (0, 127), None);
        let map = backend.registry().register::<(VoidNamespace, HashMap<u64, String>)>("map", "map").unwrap();
        let key = "k".to_string();
        let mut table = backend.table::<VoidNamespace, HashMap<u64, String>>(map).unwrap();
        for user_key in [300u64, 2, 70_000, 1] {
            table.map_put(5, &key, &VoidNamespace, user_key, user_key.to_string()).unwrap();
        }
        let keys: Vec<u64> = table.map_entries(5, &key, &VoidNamespace).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![1, 2, 300, 70_000]);
        table.map_clear(5, &key, &VoidNamespace).unwrap();
        assert!(table.map_entries(5, &key, &VoidNamespace).unwrap().is_empty());

        let list = backend.registry().register::<(VoidNamespace, Vec<i32>)>("list", "list").unwrap();
        let mut table = backend.table::<VoidNamespace, Vec<i32>>(list).unwrap();
        for v in [3, -1, 7] {
            table.list_add(5, &key, &VoidNamespace, v).unwrap();
        }
        assert_eq!(table.list_get(5, &key, &VoidNamespace).unwrap(), vec![3, -1, 7]);
        table.list_put(5, &key, &VoidNamespace, vec![]).unwrap();
        assert_eq!(table.list_get(5, &key, &VoidNamespace).unwrap(), Vec::<i32>::new());
    }

    #[test]
    fn a_value_of_another_type_is_a_deserialize_error_naming_state_and_uid() {
        let dir = tempfile::tempdir().unwrap();
        let mut backend = backend(dir.path(), (0, 127), None);
        let state = count_state(&mut backend);
        put(&mut backend, state, 3, "a", 5);
        let mut other = RocksDbKeyedStateBackend::<String>::open(
            &options(dir.path()),
            KeyGroupRange::new(0, 127),
            128,
            "op-uid",
            None,
        )
        .unwrap();
        let mut out = OperatorSnapshot::default();
        KeyedStateBackend::snapshot(&mut backend, &checkpoint(1), &mut out).unwrap();
        other.restore(&RestoredOperator { keyed: out.keyed, ..RestoredOperator::default() }).unwrap();
        let index = other.registry().register::<(VoidNamespace, String)>("count", "value").unwrap();
        let err = other.table::<VoidNamespace, String>(index).unwrap().get(3, &"a".into(), &VoidNamespace).unwrap_err();
        assert!(
            matches!(&err, StateError::Deserialize(e) if e.name == "count" && e.operator_uid == "op-uid"),
            "{err:?}"
        );
    }

    #[test]
    fn incremental_checkpoints_upload_only_new_sst_files() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let mut backend = backend(dir.path(), (0, 127), Some(&shared));
        let state = count_state(&mut backend);
        put(&mut backend, state, 1, "a", 1);
        let mut first = OperatorSnapshot::default();
        KeyedStateBackend::snapshot(&mut backend, &checkpoint(1), &mut first).unwrap();
        put(&mut backend, state, 2, "b", 2);
        let mut second = OperatorSnapshot::default();
        KeyedStateBackend::snapshot(&mut backend, &checkpoint(2), &mut second).unwrap();
        let shared_of =
            |s: &OperatorSnapshot| -> Vec<String> { s.file_sets[0].shared_paths().map(str::to_string).collect() };
        let (old, new) = (shared_of(&first), shared_of(&second));
        assert!(!old.is_empty() && first.keyed.is_empty(), "an incremental snapshot is files, not entries");
        assert!(old.iter().all(|p| new.contains(p)), "the second checkpoint references the first one's files");
        assert!(new.len() > old.len(), "and adds the SST file of what was written since");
        assert!(new.iter().all(|p| Path::new(p).starts_with(&shared) && Path::new(p).exists()));
        let inline = second.file_sets[0].files.iter().filter(|f| matches!(f.content, FileContent::Inline(_)));
        assert!(inline.map(|f| f.name.as_str()).any(|n| n == "CURRENT"), "metadata travels inline");

        let mut restored_backend = self::backend(dir.path(), (0, 127), Some(&shared));
        restored_backend.restore(&restored(second.file_sets.clone())).unwrap();
        let state = count_state(&mut restored_backend);
        assert_eq!(
            (get(&mut restored_backend, state, 1, "a"), get(&mut restored_backend, state, 2, "b")),
            (Some(1), Some(2))
        );
        let mut third = OperatorSnapshot::default();
        KeyedStateBackend::snapshot(&mut restored_backend, &checkpoint(3), &mut third).unwrap();
        assert_eq!(shared_of(&third), new, "a restored instance references the files it was restored from");
    }

    #[test]
    fn restoring_a_key_group_subset_keeps_only_the_owned_groups() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let mut snapshots = Vec::new();
        for (range, keys) in [((0, 63), [(10, "x"), (60, "y")]), ((64, 127), [(70, "z"), (120, "w")])] {
            let mut old = backend(dir.path(), range, Some(&shared));
            let state = count_state(&mut old);
            for (kg, key) in keys {
                put(&mut old, state, kg, key, kg as u64);
            }
            let mut out = OperatorSnapshot::default();
            KeyedStateBackend::snapshot(&mut old, &checkpoint(1), &mut out).unwrap();
            snapshots.extend(out.file_sets);
        }
        // Scale in: one instance takes both halves (copied from each, range by range).
        let mut merged = backend(dir.path(), (0, 127), None);
        merged.restore(&restored(snapshots.clone())).unwrap();
        let state = count_state(&mut merged);
        let found: Vec<_> = [(10, "x"), (60, "y"), (70, "z"), (120, "w")]
            .into_iter()
            .map(|(kg, k)| get(&mut merged, state, kg, k))
            .collect();
        assert_eq!(found, vec![Some(10), Some(60), Some(70), Some(120)]);
        // Scale out: an instance owning 32..=63 opens the first half and range-deletes the rest.
        let mut part = backend(dir.path(), (32, 63), None);
        part.restore(&restored(vec![snapshots[0].clone()])).unwrap();
        let state = count_state(&mut part);
        assert_eq!(get(&mut part, state, 60, "y"), Some(60));
        let mut out = OperatorSnapshot::default();
        part.full_snapshot(&mut out).unwrap();
        let groups: Vec<u32> = out.keyed.iter().map(|s| s.key_group).collect();
        assert_eq!(groups, vec![60], "key group 10 lay outside the owned range and was deleted");
    }

    #[test]
    fn a_memory_budget_and_compression_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let settings = RocksDbOptions {
            local_dir: Some(dir.path().to_path_buf()),
            memory_budget_per_slot: Some(16 << 20),
            compression: Compression::Zstd,
            write_buffer_bytes: 1 << 20,
            ..RocksDbOptions::default()
        };
        let mut backend =
            RocksDbKeyedStateBackend::<String>::open(&settings, KeyGroupRange::new(0, 127), 128, "budget", None)
                .unwrap();
        let state = count_state(&mut backend);
        for i in 0..20_000u64 {
            put(&mut backend, state, (i % 128) as u32, &format!("key-{i}"), i);
        }
        assert_eq!(get(&mut backend, state, 7, "key-7"), Some(7));
        let path = backend.path().to_path_buf();
        assert!(path.starts_with(dir.path()));
        drop(backend);
        assert!(!path.exists(), "an instance removes its folder when it ends");
    }

    #[test]
    fn a_max_parallelism_beyond_the_prefix_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let range = KeyGroupRange::new(0, 0);
        let err =
            RocksDbKeyedStateBackend::<String>::open(&options(dir.path()), range, 1 << 16, "wide", None).err().unwrap();
        assert!(matches!(err, StateError::Backend { .. }), "{err:?}");
    }
}
