//! What a checkpoint holds of each operator instance, and how it is handed back on restore.
//!
//! A snapshot is untyped: named byte sections. Keyed state and timers are written per key group
//! (`keyed`), so a restore with another parallelism takes exactly the key groups a subtask now
//! owns from whichever subtasks wrote them. Operator (non-keyed) state is a set of named lists
//! whose elements are encoded one by one, so the lists can be redistributed over a new
//! parallelism without knowing their types. Values are encoded with bincode (serde).

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keygroup::KeyGroupRange;
use crate::operator::OperatorId;

/// Encodes `value` for a snapshot.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
}

/// Decodes a value written by [`encode`]; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, read) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| e.to_string())?;
    if read != bytes.len() {
        return Err(format!("{} unexpected trailing bytes", bytes.len() - read));
    }
    Ok(value)
}

/// One named section of keyed state (a state's entries, or timers) for one key group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedSection {
    /// The key group the entries belong to.
    pub key_group: u32,
    /// What the section holds (`state/<name>`, `timers/event`, `timers/processing`).
    pub name: String,
    /// The encoded entries.
    pub bytes: Vec<u8>,
}

/// A named list of operator state, each element encoded on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorList {
    /// The list's name.
    pub name: String,
    /// Its encoded elements.
    pub elements: Vec<Vec<u8>>,
}

/// A state backend's native snapshot made of files: RocksDB's incremental checkpoints.
///
/// Large files live once in the checkpoint storage's shared folder and are referenced by every
/// checkpoint that still needs them; small files are carried inline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSetSnapshot {
    /// The key groups its files hold (first, last).
    pub key_groups: (u32, u32),
    /// The files, by their name in the backend's folder.
    pub files: Vec<SnapshotFile>,
}

/// One file of a [`FileSetSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// Its name in the backend's folder.
    pub name: String,
    /// Where its bytes are.
    pub content: FileContent,
}

/// Where the bytes of a [`SnapshotFile`] are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileContent {
    /// In the shared folder of the checkpoint storage, under this relative path.
    Shared(String),
    /// Carried in the snapshot itself.
    Inline(Vec<u8>),
}

impl FileSetSnapshot {
    /// The shared files it references (relative paths).
    pub fn shared_paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().filter_map(|f| match &f.content {
            FileContent::Shared(path) => Some(path.as_str()),
            FileContent::Inline(_) => None,
        })
    }

    fn overlaps(&self, range: KeyGroupRange) -> bool {
        self.key_groups.0 <= range.end && range.start <= self.key_groups.1
    }
}

/// The state of one operator instance in a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSnapshot {
    /// Keyed state and timers, by key group.
    pub keyed: Vec<KeyedSection>,
    /// Operator (non-keyed) state.
    pub lists: Vec<OperatorList>,
    /// Native snapshots of keyed-state backends that write files.
    pub file_sets: Vec<FileSetSnapshot>,
}

impl OperatorSnapshot {
    /// Adds a keyed section.
    pub fn add_keyed(&mut self, key_group: u32, name: impl Into<String>, bytes: Vec<u8>) {
        self.keyed.push(KeyedSection { key_group, name: name.into(), bytes });
    }

    /// Adds an operator-state list.
    pub fn add_list(&mut self, name: impl Into<String>, elements: Vec<Vec<u8>>) {
        self.lists.push(OperatorList { name: name.into(), elements });
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty() && self.lists.is_empty() && self.file_sets.is_empty()
    }
}

/// The snapshots of the operators of one subtask, collected while the barrier passes its chain.
#[derive(Debug, Default)]
pub struct TaskSnapshot {
    operators: BTreeMap<OperatorId, OperatorSnapshot>,
}

impl TaskSnapshot {
    /// The snapshot of operator `id`, created empty on first use.
    pub fn of(&mut self, id: OperatorId) -> &mut OperatorSnapshot {
        self.operators.entry(id).or_default()
    }

    /// The non-empty operator snapshots, by operator.
    pub(crate) fn into_operators(self) -> impl Iterator<Item = (OperatorId, OperatorSnapshot)> {
        self.operators.into_iter().filter(|(_, s)| !s.is_empty())
    }
}

/// The snapshot of one subtask as stored: operator snapshots by operator uid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtaskState {
    /// Index of the subtask.
    pub subtask: u32,
    /// Parallelism of its vertex when the snapshot was taken.
    pub parallelism: u32,
    /// The key groups it owned.
    pub key_groups: (u32, u32),
    /// Operator uid and its state.
    pub operators: Vec<(String, OperatorSnapshot)>,
}

/// The state of a whole job, read back from a checkpoint or savepoint, ready to hand out to the
/// operators of a new run.
#[derive(Debug, Default)]
pub struct RestoredJob {
    /// The checkpoint it comes from.
    pub checkpoint_id: u64,
    by_uid: HashMap<String, RestoredOperatorParts>,
}

#[derive(Debug, Default)]
struct RestoredOperatorParts {
    keyed: Vec<KeyedSection>,
    file_sets: Vec<FileSetSnapshot>,
    /// `(subtask, parallelism, lists)` as written.
    lists: Vec<(u32, u32, Vec<OperatorList>)>,
}

/// The restored state of one operator instance: its key groups and its share of operator state.
#[derive(Debug, Default, Clone)]
pub struct RestoredOperator {
    /// Keyed sections of the key groups this instance owns.
    pub keyed: Vec<KeyedSection>,
    /// Operator-state lists of this instance.
    pub lists: Vec<OperatorList>,
    /// Native backend snapshots that hold any of the key groups this instance owns.
    pub file_sets: Vec<FileSetSnapshot>,
}

impl RestoredJob {
    /// Gathers the subtask states of a checkpoint.
    pub fn new(checkpoint_id: u64, subtasks: impl IntoIterator<Item = SubtaskState>) -> Self {
        let mut by_uid: HashMap<String, RestoredOperatorParts> = HashMap::new();
        for subtask in subtasks {
            for (uid, snapshot) in subtask.operators {
                let parts = by_uid.entry(uid).or_default();
                parts.keyed.extend(snapshot.keyed);
                parts.file_sets.extend(snapshot.file_sets);
                parts.lists.push((subtask.subtask, subtask.parallelism, snapshot.lists));
            }
        }
        Self { checkpoint_id, by_uid }
    }

    /// The uids of the operators with state.
    pub fn uids(&self) -> impl Iterator<Item = &str> {
        self.by_uid.keys().map(String::as_str)
    }

    /// The state of operator `uid` for subtask `subtask` of `parallelism` owning `key_groups`.
    ///
    /// Keyed sections are those of the owned key groups. Operator-state lists go back to the
    /// same subtask when the parallelism is unchanged; otherwise the elements of each list are
    /// split evenly over the new subtasks (Flink's split redistribution).
    pub fn operator(
        &self,
        uid: &str,
        subtask: u32,
        parallelism: u32,
        key_groups: KeyGroupRange,
    ) -> Option<RestoredOperator> {
        let parts = self.by_uid.get(uid)?;
        let keyed = parts.keyed.iter().filter(|s| key_groups.contains(s.key_group)).cloned().collect();
        let same_parallelism = parts.lists.iter().all(|(_, p, _)| *p == parallelism);
        let lists = if same_parallelism {
            parts.lists.iter().filter(|(s, _, _)| *s == subtask).flat_map(|(_, _, l)| l.clone()).collect()
        } else {
            let mut merged: BTreeMap<&str, Vec<&Vec<u8>>> = BTreeMap::new();
            for (_, _, lists) in &parts.lists {
                for list in lists {
                    merged.entry(&list.name).or_default().extend(&list.elements);
                }
            }
            merged
                .into_iter()
                .map(|(name, elements)| OperatorList {
                    name: name.to_string(),
                    elements: elements
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| *i as u32 % parallelism == subtask)
                        .map(|(_, e)| e.clone())
                        .collect(),
                })
                .collect()
        };
        let file_sets = parts.file_sets.iter().filter(|f| f.overlaps(key_groups)).cloned().collect();
        Some(RestoredOperator { keyed, lists, file_sets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subtask(index: u32, parallelism: u32, groups: (u32, u32), list: Vec<u8>) -> SubtaskState {
        let mut snapshot = OperatorSnapshot::default();
        for kg in groups.0..=groups.1 {
            snapshot.add_keyed(kg, "state/count", vec![kg as u8]);
        }
        snapshot.add_list("offsets", list.into_iter().map(|b| vec![b]).collect());
        SubtaskState { subtask: index, parallelism, key_groups: groups, operators: vec![("op".into(), snapshot)] }
    }

    #[test]
    fn encoding_round_trips_and_refuses_trailing_bytes() {
        let bytes = encode(&("key".to_string(), 7_i64)).unwrap();
        assert_eq!(decode::<(String, i64)>(&bytes).unwrap(), ("key".to_string(), 7));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode::<(String, i64)>(&longer).is_err());
        assert!(decode::<(String, i64)>(&bytes[..2]).is_err());
    }

    #[test]
    fn same_parallelism_gives_each_subtask_its_own_state() {
        let job = RestoredJob::new(3, vec![subtask(0, 2, (0, 1), vec![1]), subtask(1, 2, (2, 3), vec![2])]);
        let second = job.operator("op", 1, 2, KeyGroupRange::new(2, 3)).unwrap();
        assert_eq!(second.keyed.iter().map(|s| s.key_group).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(second.lists[0].elements, vec![vec![2]]);
        assert!(job.operator("other", 0, 2, KeyGroupRange::new(0, 1)).is_none());
    }

    #[test]
    fn rescaling_takes_key_groups_from_every_old_subtask_and_splits_lists() {
        let job = RestoredJob::new(3, vec![subtask(0, 2, (0, 1), vec![1, 2]), subtask(1, 2, (2, 3), vec![3])]);
        let only = job.operator("op", 0, 1, KeyGroupRange::new(0, 3)).unwrap();
        assert_eq!(only.keyed.len(), 4);
        assert_eq!(only.lists[0].elements, vec![vec![1], vec![2], vec![3]]);
        let middle = job.operator("op", 1, 3, KeyGroupRange::new(1, 2)).unwrap();
        assert_eq!(middle.keyed.iter().map(|s| s.key_group).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(middle.lists[0].elements, vec![vec![2]]);
    }
}
