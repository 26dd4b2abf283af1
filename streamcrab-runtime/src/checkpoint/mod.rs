//! Exactly-once checkpoints (Flink's asynchronous barrier snapshots).
//!
//! * The coordinator triggers checkpoint `n` at every source subtask. A source emits
//!   `Barrier(n)` between two records, after snapshotting its read position.
//! * A task with several input channels aligns: after `Barrier(n)` on one channel it reads no
//!   more from that channel until `Barrier(n)` arrived on all of them (alignment). In
//!   at-least-once mode it keeps reading and snapshots when the last barrier arrives.
//! * Then the task calls `prepare_snapshot_pre_barrier` and `snapshot_state` down its chain:
//!   every operator writes its keyed state, timers and operator state into a [`TaskSnapshot`],
//!   and the chain's end forwards the barrier. The task hands the snapshot to the coordinator
//!   and goes on; encoding happened on the task, writing files happens on the coordinator's
//!   thread, so processing does not wait for I/O.
//! * When every task acknowledged `n`, the coordinator writes the [`storage`] metadata (last,
//!   atomically) and notifies every task: `notify_checkpoint_complete(n)` reaches every
//!   operator; two-phase-commit sinks commit there.
//! * After a failure, the executor restarts the job from the latest completed checkpoint that
//!   reads back intact (a [`RestartStrategy`] decides whether and when).
//!
//! A task that finished (its input ended) takes a final snapshot and stays available for
//! notifications until the whole job has finished; its final snapshot stands for it in every
//! later checkpoint. When every task has finished, their final snapshots are stored as the final
//! checkpoint and its completion commits the last transactions (Flink 2's final checkpoint).
//!
//! Departures from Flink, on purpose: the barrier leaves a chain at its end, after every
//! operator of the chain snapshotted (Flink sends it downstream first, then snapshots; since
//! nothing is emitted while snapshotting, the cut is the same). Unaligned checkpoints are not
//! built. A stream's element type needs no serde: in-process channels move values; only keys
//! and state values are serialized.

pub(crate) mod barrier;
pub mod config;
pub(crate) mod coordinator;
pub(crate) mod keyed_state;
pub mod snapshot;
pub mod storage;
pub(crate) mod task;

pub use config::{CheckpointConfig, CheckpointingMode, RestartStrategy};
pub use snapshot::{OperatorSnapshot, RestoredJob, RestoredOperator, TaskSnapshot};
pub use storage::{
    CheckpointError, CheckpointStorage, CompletedCheckpoint, FileCheckpointStorage, MemoryCheckpointStorage,
};
