//! Where completed checkpoints live: behind [`CheckpointStorage`], in memory (the default, as
//! Flink's `JobManagerCheckpointStorage`) or on the local filesystem.
//!
//! On disk a checkpoint is one folder `chk-<id>` holding one state file per subtask (named by
//! task and subtask; the metadata records the key-group range each file covers, so a rescaled
//! restore can read only the files it needs) and the `_metadata` file, written last. Every file
//! is written to a temporary name, synced and renamed, and starts with a header carrying its
//! length and CRC-32: a truncated or corrupt file is detected and refused with its path.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::snapshot::{RestoredJob, SubtaskState, decode, encode};
use crate::element::CheckpointKind;

/// A checkpoint that could not be stored or read back.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file could not be read or written.
    #[error("checkpoint file '{path}': {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file is truncated or does not match its checksum.
    #[error("checkpoint file '{path}' is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoint does not exist.
    #[error("checkpoint {id} not found in {location}")]
    NotFound {
        /// The checkpoint's id.
        id: u64,
        /// Where it was looked for.
        location: String,
    },
    /// The checkpoint or savepoint did not complete.
    #[error("{reason}")]
    Failed {
        /// Why.
        reason: String,
    },
    /// A savepoint holds state of an operator the job does not have.
    #[error(
        "the savepoint holds state of operator uid '{uid}', which this job does not have; allow non-restored state to skip it"
    )]
    UnknownOperator {
        /// The uid in the savepoint.
        uid: String,
    },
}

/// The state of one subtask in a completed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStateEntry {
    /// The task (chain) name.
    pub task: String,
    /// The subtask's state.
    pub state: SubtaskState,
}

/// A checkpoint every task acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedCheckpoint {
    /// The checkpoint's id.
    pub id: u64,
    /// When it was triggered (job clock, ms).
    pub timestamp: i64,
    /// Checkpoint or savepoint.
    pub kind: CheckpointKind,
    /// Every subtask's state.
    pub tasks: Vec<TaskStateEntry>,
}

impl CompletedCheckpoint {
    /// The shared files (relative to the storage's shared folder) its state references.
    pub fn shared_paths(&self) -> impl Iterator<Item = &str> {
        self.tasks
            .iter()
            .flat_map(|t| &t.state.operators)
            .flat_map(|(_, op)| &op.file_sets)
            .flat_map(|set| set.shared_paths())
    }

    /// The state, gathered by operator uid for a new run.
    pub fn into_restored(self) -> RestoredJob {
        RestoredJob::new(self.id, self.tasks.into_iter().map(|t| t.state))
    }
}

/// Where completed checkpoints are kept.
pub trait CheckpointStorage: Send + Sync + 'static {
    /// Stores a completed checkpoint; it is complete only once this returns.
    fn store(&self, checkpoint: &CompletedCheckpoint) -> Result<(), CheckpointError>;
    /// The ids of the stored checkpoints, oldest first.
    fn list(&self) -> Result<Vec<u64>, CheckpointError>;
    /// Reads checkpoint `id` back, verifying every file.
    fn load(&self, id: u64) -> Result<CompletedCheckpoint, CheckpointError>;
    /// Deletes checkpoint `id`.
    fn discard(&self, id: u64) -> Result<(), CheckpointError>;
    /// Where it keeps checkpoints (for messages).
    fn location(&self) -> String;
    /// The folder where state backends put files that several checkpoints share (RocksDB's
    /// SST files), if this storage has one; without it backends write full snapshots.
    fn shared_dir(&self) -> Option<PathBuf> {
        None
    }
}

/// Checkpoints kept in memory: they survive task failures, not the process.
#[derive(Default)]
pub struct MemoryCheckpointStorage {
    checkpoints: Mutex<BTreeMap<u64, CompletedCheckpoint>>,
}

impl MemoryCheckpointStorage {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, CompletedCheckpoint>> {
        self.checkpoints.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CheckpointStorage for MemoryCheckpointStorage {
    fn store(&self, checkpoint: &CompletedCheckpoint) -> Result<(), CheckpointError> {
        self.lock().insert(checkpoint.id, checkpoint.clone());
        Ok(())
    }
    fn list(&self) -> Result<Vec<u64>, CheckpointError> {
        Ok(self.lock().keys().copied().collect())
    }
    fn load(&self, id: u64) -> Result<CompletedCheckpoint, CheckpointError> {
        self.lock().get(&id).cloned().ok_or(CheckpointError::NotFound { id, location: self.location() })
    }
    fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        self.lock().remove(&id);
        Ok(())
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

/// Checkpoints as folders under a local directory.
#[derive(Clone, Debug)]
pub struct FileCheckpointStorage {
    root: PathBuf,
}

/// The folder (under the root) of files shared between checkpoints.
pub const SHARED_DIR: &str = "shared";
/// The name of the file a checkpoint folder is complete with.
pub const METADATA_FILE: &str = "_metadata";
const MAGIC: &[u8; 4] = b"SCRB";
const FORMAT_VERSION: u8 = 1;
/// magic, version, payload length, CRC-32.
const HEADER_LEN: usize = 4 + 1 + 8 + 4;

/// The metadata of a checkpoint folder: what it holds and the files it consists of.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Metadata {
    id: u64,
    timestamp: i64,
    kind: CheckpointKind,
    files: Vec<FileEntry>,
    /// The files of the shared folder this checkpoint references.
    shared: Vec<String>,
}

/// One state file and the part of the job's state it holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FileEntry {
    file: String,
    task: String,
    subtask: u32,
    key_groups: (u32, u32),
    length: u64,
    crc32: u32,
}

impl FileCheckpointStorage {
    /// Checkpoints under `root` (created on first store).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder of checkpoint `id`.
    pub fn checkpoint_dir(&self, id: u64) -> PathBuf {
        self.root.join(format!("chk-{id}"))
    }

    /// Writes `checkpoint` into folder `dir` (a checkpoint folder, or a savepoint's target).
    pub fn write_to(dir: &Path, checkpoint: &CompletedCheckpoint) -> Result<(), CheckpointError> {
        fs::create_dir_all(dir).map_err(|source| CheckpointError::Io { path: dir.to_path_buf(), source })?;
        let mut files = Vec::new();
        for (index, entry) in checkpoint.tasks.iter().enumerate() {
            let name = format!("{index:04}-{}-{}.state", sanitize(&entry.task), entry.state.subtask);
            let payload = encode(&entry.state).map_err(|reason| corrupt(dir.join(&name), reason))?;
            write_file(&dir.join(&name), &payload)?;
            files.push(FileEntry {
                file: name,
                task: entry.task.clone(),
                subtask: entry.state.subtask,
                key_groups: entry.state.key_groups,
                length: payload.len() as u64,
                crc32: crc32fast::hash(&payload),
            });
        }
        let shared = checkpoint.shared_paths().map(str::to_string).collect();
        let metadata =
            Metadata { id: checkpoint.id, timestamp: checkpoint.timestamp, kind: checkpoint.kind, files, shared };
        let payload = encode(&metadata).map_err(|reason| corrupt(dir.join(METADATA_FILE), reason))?;
        write_file(&dir.join(METADATA_FILE), &payload)
    }

    fn read_metadata(dir: &Path) -> Result<Metadata, CheckpointError> {
        let path = dir.join(METADATA_FILE);
        decode(&read_file(&path)?).map_err(|reason| corrupt(path, reason))
    }

    /// Deletes the shared files no stored checkpoint references any more. References are
    /// counted from the metadata of the checkpoints that remain, so the count survives restarts.
    fn delete_unreferenced_shared(&self, candidates: Vec<String>) -> Result<(), CheckpointError> {
        let mut referenced = std::collections::HashSet::new();
        for id in self.list()? {
            referenced.extend(Self::read_metadata(&self.checkpoint_dir(id))?.shared);
        }
        for file in candidates.into_iter().filter(|f| !referenced.contains(f)) {
            let path = self.root.join(SHARED_DIR).join(&file);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CheckpointError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Reads the checkpoint or savepoint in folder `dir`, verifying every file.
    pub fn read_from(dir: &Path) -> Result<CompletedCheckpoint, CheckpointError> {
        let metadata = Self::read_metadata(dir)?;
        let mut tasks = Vec::new();
        for entry in metadata.files {
            let path = dir.join(&entry.file);
            let payload = read_file(&path)?;
            if payload.len() as u64 != entry.length || crc32fast::hash(&payload) != entry.crc32 {
                return Err(corrupt(path, "it does not match the checksum recorded in the metadata".into()));
            }
            let state: SubtaskState = decode(&payload).map_err(|reason| corrupt(path.clone(), reason))?;
            tasks.push(TaskStateEntry { task: entry.task, state });
        }
        Ok(CompletedCheckpoint { id: metadata.id, timestamp: metadata.timestamp, kind: metadata.kind, tasks })
    }
}

impl CheckpointStorage for FileCheckpointStorage {
    fn store(&self, checkpoint: &CompletedCheckpoint) -> Result<(), CheckpointError> {
        Self::write_to(&self.checkpoint_dir(checkpoint.id), checkpoint)
    }

    fn list(&self) -> Result<Vec<u64>, CheckpointError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CheckpointError::Io { path: self.root.clone(), source }),
        };
        let mut ids: Vec<u64> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join(METADATA_FILE).exists())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("chk-")?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn load(&self, id: u64) -> Result<CompletedCheckpoint, CheckpointError> {
        let dir = self.checkpoint_dir(id);
        if !dir.join(METADATA_FILE).exists() {
            return Err(CheckpointError::NotFound { id, location: self.location() });
        }
        Self::read_from(&dir)
    }

    fn discard(&self, id: u64) -> Result<(), CheckpointError> {
        let dir = self.checkpoint_dir(id);
        let shared = Self::read_metadata(&dir).map(|m| m.shared).unwrap_or_default();
        // The metadata goes first: a half-deleted folder is never taken for a checkpoint.
        match fs::remove_file(dir.join(METADATA_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CheckpointError::Io { path: dir, source }),
        }
        fs::remove_dir_all(&dir).map_err(|source| CheckpointError::Io { path: dir.clone(), source })?;
        self.delete_unreferenced_shared(shared)
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn shared_dir(&self) -> Option<PathBuf> {
        Some(self.root.join(SHARED_DIR))
    }
}

/// `name` as a short file-name part: ASCII letters and digits, the rest `_`.
pub(crate) fn sanitize(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    cleaned.chars().take(48).collect()
}

fn corrupt(path: PathBuf, reason: String) -> CheckpointError {
    CheckpointError::Corrupt { path, reason }
}

/// Writes `payload` with its header to a temporary file, syncs it and renames it to `path`.
fn write_file(path: &Path, payload: &[u8]) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io { path: path.to_path_buf(), source };
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary).map_err(io)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(FORMAT_VERSION);
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    file.write_all(&header).and_then(|()| file.write_all(payload)).and_then(|()| file.sync_all()).map_err(io)?;
    fs::rename(&temporary, path).map_err(io)?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = fs::File::open(parent)
    {
        // Makes the rename durable; not every filesystem supports syncing a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Reads a file written by [`write_file`], checking its header, length and checksum.
fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })?;
    if bytes.len() < HEADER_LEN || &bytes[..4] != MAGIC {
        return Err(corrupt(path.to_path_buf(), "it is truncated or not a StreamCrab checkpoint file".into()));
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(corrupt(path.to_path_buf(), format!("unknown format version {}", bytes[4])));
    }
    let length = u64::from_le_bytes(bytes[5..13].try_into().expect("8 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[13..17].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() != length {
        return Err(corrupt(path.to_path_buf(), format!("{} of {length} bytes present", payload.len())));
    }
    if crc32fast::hash(payload) != crc {
        return Err(corrupt(path.to_path_buf(), "checksum mismatch".into()));
    }
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::snapshot::{FileContent, FileSetSnapshot, OperatorSnapshot, SnapshotFile};

    fn checkpoint(id: u64) -> CompletedCheckpoint {
        let mut snapshot = OperatorSnapshot::default();
        snapshot.add_keyed(3, "state/count", vec![1, 2, 3]);
        let state =
            SubtaskState { subtask: 0, parallelism: 1, key_groups: (0, 127), operators: vec![("op".into(), snapshot)] };
        CompletedCheckpoint {
            id,
            timestamp: 10,
            kind: CheckpointKind::Checkpoint,
            tasks: vec![TaskStateEntry { task: "Map -> Sink".into(), state }],
        }
    }

    #[test]
    fn file_storage_round_trips_and_lists_complete_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileCheckpointStorage::new(dir.path());
        storage.store(&checkpoint(1)).unwrap();
        storage.store(&checkpoint(2)).unwrap();
        fs::create_dir_all(dir.path().join("chk-3")).unwrap();
        assert_eq!(storage.list().unwrap(), vec![1, 2], "a folder without metadata is not a checkpoint");
        assert_eq!(storage.load(2).unwrap(), checkpoint(2));
        storage.discard(1).unwrap();
        assert_eq!(storage.list().unwrap(), vec![2]);
        assert!(matches!(storage.load(1), Err(CheckpointError::NotFound { id: 1, .. })));
    }

    fn referencing(id: u64, shared: &[&str]) -> CompletedCheckpoint {
        let mut checkpoint = checkpoint(id);
        let files = shared
            .iter()
            .map(|p| SnapshotFile { name: p.to_string(), content: FileContent::Shared(p.to_string()) })
            .collect();
        checkpoint.tasks[0].state.operators[0].1.file_sets.push(FileSetSnapshot { key_groups: (0, 127), files });
        checkpoint
    }

    #[test]
    fn a_shared_file_is_deleted_when_no_stored_checkpoint_references_it() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileCheckpointStorage::new(dir.path());
        let shared = storage.shared_dir().unwrap();
        fs::create_dir_all(&shared).unwrap();
        for file in ["a.sst", "b.sst", "c.sst"] {
            fs::write(shared.join(file), file).unwrap();
        }
        storage.store(&referencing(1, &["a.sst", "b.sst"])).unwrap();
        storage.store(&referencing(2, &["b.sst", "c.sst"])).unwrap();
        assert_eq!(storage.load(2).unwrap(), referencing(2, &["b.sst", "c.sst"]));
        storage.discard(1).unwrap();
        assert!(!shared.join("a.sst").exists(), "a.sst was only referenced by checkpoint 1");
        assert!(shared.join("b.sst").exists(), "b.sst is still referenced by checkpoint 2");
        storage.discard(2).unwrap();
        assert!(!shared.join("b.sst").exists() && !shared.join("c.sst").exists());
    }

    #[test]
    fn a_corrupt_or_truncated_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let storage = FileCheckpointStorage::new(dir.path());
        storage.store(&checkpoint(1)).unwrap();
        let state_file = fs::read_dir(storage.checkpoint_dir(1))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "state"))
            .unwrap();
        let mut bytes = fs::read(&state_file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&state_file, &bytes).unwrap();
        match storage.load(1) {
            Err(CheckpointError::Corrupt { path, .. }) => assert_eq!(path, state_file),
            other => panic!("expected a corrupt file, got {other:?}"),
        }
        fs::write(&state_file, &bytes[..bytes.len() / 2]).unwrap();
        let err = storage.load(1).unwrap_err();
        assert!(err.to_string().contains(&state_file.display().to_string()), "{err}");
    }

    #[test]
    fn memory_storage_keeps_what_it_is_given() {
        let storage = MemoryCheckpointStorage::default();
        storage.store(&checkpoint(4)).unwrap();
        assert_eq!(storage.list().unwrap(), vec![4]);
        assert_eq!(storage.load(4).unwrap(), checkpoint(4));
        storage.discard(4).unwrap();
        assert!(storage.load(4).is_err());
    }
}
