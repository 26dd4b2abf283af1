//! Incremental snapshots of a RocksDB instance, and restoring instances from them.
//!
//! A snapshot is RocksDB's own checkpoint of the instance (hard links to its immutable SST
//! files plus a fresh MANIFEST, CURRENT and OPTIONS). SST files go to the storage's shared
//! folder once, under the instance's name, and every later checkpoint that still has them
//! references the same path; the storage deletes a shared file once no retained checkpoint
//! references it. The small metadata files travel inline.
//!
//! Restore: a single snapshot is opened as the new instance, and what lies outside the owned
//! key groups is range-deleted; several snapshots (after a rescale) are each opened aside and
//! their owned key-group range copied in.

use std::fs;
use std::path::Path;

use rocksdb::checkpoint::Checkpoint;
use rocksdb::{DB, ReadOptions, WriteBatch};

use super::RocksDbKeyedStateBackend;
use super::layout::key_group_prefix;
use crate::checkpoint::snapshot::{FileContent, FileSetSnapshot, SnapshotFile};
use crate::data::Key;
use crate::error::StateError;
use crate::keygroup::KeyGroupRange;

/// Takes checkpoint `checkpoint_id` of `backend`, uploading new SST files to `shared`.
pub(super) fn incremental_snapshot<K: Key>(
    backend: &mut RocksDbKeyedStateBackend<K>,
    checkpoint_id: u64,
    shared: &Path,
) -> Result<FileSetSnapshot, StateError> {
    let local = backend.dir.0.join(format!("chk-{checkpoint_id}"));
    let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    let _ = fs::remove_dir_all(&local);
    Checkpoint::new(&backend.db).and_then(|c| c.create_checkpoint(&local)).map_err(|e| backend.error(e))?;
    let instance = backend.dir.0.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let target_dir = shared.join(instance);
    fs::create_dir_all(&target_dir).map_err(|e| backend.error(io(&target_dir, e)))?;
    let mut files = Vec::new();
    for entry in fs::read_dir(&local).map_err(|e| backend.error(io(&local, e)))? {
        let entry = entry.map_err(|e| backend.error(io(&local, e)))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let content = if name.ends_with(".sst") {
            let path = match backend.uploaded.get(&name) {
                Some(path) => path.clone(),
                None => {
                    let target = target_dir.join(&name);
                    link_or_copy(&entry.path(), &target).map_err(|e| backend.error(io(&target, e)))?;
                    let path = target.to_string_lossy().into_owned();
                    backend.uploaded.insert(name.clone(), path.clone());
                    path
                }
            };
            FileContent::Shared(path)
        } else {
            FileContent::Inline(fs::read(entry.path()).map_err(|e| backend.error(io(&entry.path(), e)))?)
        };
        files.push(SnapshotFile { name, content });
    }
    let _ = fs::remove_dir_all(&local);
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let range = backend.key_groups;
    Ok(FileSetSnapshot { key_groups: (range.start, range.end), files })
}

/// Opens the instance state of `sets` (the snapshots that hold any owned key group).
pub(super) fn restore_file_sets<K: Key>(
    backend: &mut RocksDbKeyedStateBackend<K>,
    sets: &[FileSetSnapshot],
) -> Result<(), StateError> {
    match sets {
        [] => Ok(()),
        [only] => open_as_instance(backend, only),
        many => many.iter().try_for_each(|set| copy_owned_range(backend, set)),
    }
}

/// Makes the snapshot `set` the instance's database, keeping only the owned key groups.
fn open_as_instance<K: Key>(
    backend: &mut RocksDbKeyedStateBackend<K>,
    set: &FileSetSnapshot,
) -> Result<(), StateError> {
    let previous = backend.db_path(backend.generation);
    let path = backend.db_path(backend.generation + 1);
    materialize(set, &path).map_err(|e| backend.error(e))?;
    let names = backend.state_column_families(&path)?;
    backend.db = DB::open_cf(&backend.options, &path, &names).map_err(|e| backend.error(e))?;
    backend.column_family_ready.clear();
    backend.generation += 1;
    let _ = fs::remove_dir_all(previous);
    let owned = backend.key_groups;
    for name in &names {
        let cf = backend.db.cf_handle(name).ok_or_else(|| backend.error(format!("no column family '{name}'")))?;
        for (from, to) in outside(owned, set.key_groups) {
            backend
                .db
                .delete_range_cf_opt(cf, &key_group_prefix(from)[..], &bound(to)[..], &backend.write)
                .map_err(|e| backend.error(e))?;
        }
    }
    // The restored SST files are in the shared folder already: later checkpoints reference them.
    for file in &set.files {
        if let FileContent::Shared(path) = &file.content {
            backend.uploaded.insert(file.name.clone(), path.clone());
        }
    }
    Ok(())
}

/// Opens the snapshot `set` aside and copies the owned key groups' entries into the instance.
fn copy_owned_range<K: Key>(
    backend: &mut RocksDbKeyedStateBackend<K>,
    set: &FileSetSnapshot,
) -> Result<(), StateError> {
    let path = backend.dir.0.join(format!("restore-{}-{}", set.key_groups.0, set.key_groups.1));
    materialize(set, &path).map_err(|e| backend.error(e))?;
    let names = backend.state_column_families(&path)?;
    let source = DB::open_cf(&backend.options, &path, &names).map_err(|e| backend.error(e))?;
    let owned = backend.key_groups;
    for name in &names {
        backend.ensure_column_family(name)?;
        let (Some(from), Some(into)) = (source.cf_handle(name), backend.db.cf_handle(name)) else { continue };
        let mut read = ReadOptions::default();
        read.set_iterate_upper_bound(bound(owned.end));
        let start = key_group_prefix(owned.start);
        let mode = rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward);
        let mut batch = WriteBatch::default();
        for item in source.iterator_cf_opt(from, read, mode) {
            let (key, value) = item.map_err(|e| backend.error(e))?;
            batch.put_cf(into, key, value);
            if batch.len() >= 10_000 {
                backend.db.write_opt(std::mem::take(&mut batch), &backend.write).map_err(|e| backend.error(e))?;
            }
        }
        backend.db.write_opt(batch, &backend.write).map_err(|e| backend.error(e))?;
    }
    drop(source);
    let _ = fs::remove_dir_all(&path);
    Ok(())
}

/// The exclusive upper bound of key group `last`'s keys.
fn bound(last: u32) -> Vec<u8> {
    key_group_prefix(last + 1).to_vec()
}

/// The key-group ranges (first, last) of `held` that `owned` does not cover.
fn outside(owned: KeyGroupRange, held: (u32, u32)) -> Vec<(u32, u32)> {
    let mut ranges = Vec::new();
    if held.0 < owned.start {
        ranges.push((held.0, owned.start - 1));
    }
    if held.1 > owned.end {
        ranges.push((owned.end + 1, held.1));
    }
    ranges
}

/// Writes the files of `set` into the folder `dir`.
fn materialize(set: &FileSetSnapshot, dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in &set.files {
        let target = dir.join(&file.name);
        let written = match &file.content {
            FileContent::Shared(path) => link_or_copy(Path::new(path), &target),
            FileContent::Inline(bytes) => fs::write(&target, bytes),
        };
        written.map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Hard-links `from` to `to` (SST files never change), or copies and syncs it if they are on
/// different filesystems.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let _ = fs::remove_file(to);
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to)?;
    fs::File::open(to)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_is_what_the_owned_range_does_not_cover() {
        assert_eq!(outside(KeyGroupRange::new(10, 19), (0, 31)), vec![(0, 9), (20, 31)]);
        assert_eq!(outside(KeyGroupRange::new(0, 31), (0, 31)), vec![]);
        assert_eq!(outside(KeyGroupRange::new(0, 15), (0, 31)), vec![(16, 31)]);
    }
}
