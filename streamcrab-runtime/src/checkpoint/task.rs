//! The task's side of checkpointing: barriers due at a source, acknowledgements, notifications,
//! and the final snapshot of a task whose input ended.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::CheckpointingMode;
use super::snapshot::{SubtaskState, TaskSnapshot};
use crate::element::{CheckpointBarrier, CheckpointKind};
use crate::error::TaskError;
use crate::operator::{Operator, TwoInputOperator};
use crate::task::{TaskContext, barrier_to_unused_side_outputs, end_unused_side_outputs};

/// The id of the snapshot a task takes when its input has ended.
pub const FINAL_CHECKPOINT_ID: u64 = u64::MAX;

/// How often a finished task waiting for notifications looks at the cancellation flag.
const LINGER_POLL: Duration = Duration::from_millis(20);

/// Triggers the coordinator posts for the sources (each source subtask keeps how far it got).
#[derive(Default)]
pub(crate) struct TriggerBoard {
    latest: AtomicU64,
    recent: Mutex<VecDeque<CheckpointBarrier>>,
}

/// Triggers kept for sources that have not looked yet.
const RECENT_TRIGGERS: usize = 16;

impl TriggerBoard {
    pub(crate) fn post(&self, barrier: CheckpointBarrier) {
        let mut recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == RECENT_TRIGGERS {
            recent.pop_front();
        }
        recent.push_back(barrier);
        self.latest.store(barrier.id, Ordering::Release);
    }

    /// Whether a trigger newer than `last` was posted: one atomic load.
    #[inline]
    fn has_newer(&self, last: u64) -> bool {
        self.latest.load(Ordering::Acquire) > last
    }

    pub(crate) fn newer_than(&self, last: u64) -> Vec<CheckpointBarrier> {
        let recent = self.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.iter().filter(|b| b.id > last).copied().collect()
    }
}

/// What a task tells the coordinator.
pub(crate) enum TaskReport {
    /// The task's snapshot for checkpoint `checkpoint`.
    Ack { task: usize, checkpoint: u64, state: SubtaskState },
    /// The task's input ended; `state` is its final snapshot, standing in for it from now on.
    Finished { task: usize, state: SubtaskState },
    /// The task has processed the completion of `checkpoint` (its sinks committed).
    Notified { task: usize, checkpoint: u64 },
}

/// What the coordinator tells a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notification {
    /// A checkpoint completed.
    Complete(u64),
    /// A checkpoint was given up.
    Aborted(u64),
    /// Every task has finished and the final checkpoint is complete: a finished task may exit.
    JobFinished,
}

/// A task's link to the coordinator.
pub(crate) struct TaskCheckpointing {
    pub(crate) mode: CheckpointingMode,
    pub(crate) task: usize,
    pub(crate) triggers: std::sync::Arc<TriggerBoard>,
    pub(crate) last_injected: u64,
    pub(crate) reports: Sender<TaskReport>,
    pub(crate) notifications: Receiver<Notification>,
}

impl TaskContext {
    /// The checkpointing mode, if the job checkpoints.
    pub(crate) fn checkpointing_mode(&self) -> Option<CheckpointingMode> {
        self.checkpointing.as_ref().map(|c| c.mode)
    }

    /// Whether a source has barriers to emit: one atomic load.
    #[inline]
    pub(crate) fn has_due_barriers(&self) -> bool {
        self.checkpointing.as_ref().is_some_and(|link| link.triggers.has_newer(link.last_injected))
    }

    /// Barriers a source must emit now, oldest first (cheap when there are none).
    #[inline]
    pub(crate) fn due_barriers(&mut self) -> Option<Vec<CheckpointBarrier>> {
        let link = self.checkpointing.as_mut()?;
        if !link.triggers.has_newer(link.last_injected) {
            return None;
        }
        let due = link.triggers.newer_than(link.last_injected);
        link.last_injected = due.last().map_or(link.last_injected, |b| b.id);
        Some(due)
    }

    fn subtask_state(&self, snapshot: TaskSnapshot) -> SubtaskState {
        let range = self.key_group_range();
        SubtaskState {
            subtask: self.subtask_index,
            parallelism: self.parallelism,
            key_groups: (range.start, range.end),
            operators: snapshot.into_operators().map(|(id, s)| (self.operator_uid(id), s)).collect(),
        }
    }

    fn report(&self, report: TaskReport) {
        if let Some(link) = &self.checkpointing {
            // A coordinator that is gone has given up on the job; the task is cancelled next.
            let _ = link.reports.send(report);
        }
    }
}

/// The checkpoint methods of a chain, whether it is headed by a one- or a two-input operator.
pub(crate) trait Checkpointed {
    fn prepare(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    fn snapshot(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError>;
    fn complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    fn aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    fn finish(&mut self) -> Result<(), TaskError>;
}

/// A one-input chain as [`Checkpointed`].
pub(crate) struct OneInput<'a, O: ?Sized, T>(pub(crate) &'a mut O, PhantomData<fn(T)>);

impl<'a, O: Operator<T> + ?Sized, T> OneInput<'a, O, T> {
    pub(crate) fn new(chain: &'a mut O) -> Self {
        Self(chain, PhantomData)
    }
}

/// Implements [`Checkpointed`] by calling the chain head's own methods.
macro_rules! checkpointed_by_delegation {
    () => {
        fn prepare(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
            self.0.prepare_snapshot_pre_barrier(checkpoint_id)
        }
        fn snapshot(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
            self.0.snapshot_state(barrier, snapshot)
        }
        fn complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
            self.0.notify_checkpoint_complete(checkpoint_id)
        }
        fn aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
            self.0.notify_checkpoint_aborted(checkpoint_id)
        }
        fn finish(&mut self) -> Result<(), TaskError> {
            self.0.finish()
        }
    };
}

impl<O: Operator<T> + ?Sized, T> Checkpointed for OneInput<'_, O, T> {
    checkpointed_by_delegation!();
}

/// A two-input chain as [`Checkpointed`].
pub(crate) struct TwoInput<'a, O, I1, I2>(pub(crate) &'a mut O, PhantomData<fn(I1, I2)>);

impl<'a, O: TwoInputOperator<I1, I2>, I1, I2> TwoInput<'a, O, I1, I2> {
    pub(crate) fn new(op: &'a mut O) -> Self {
        Self(op, PhantomData)
    }
}

impl<O: TwoInputOperator<I1, I2>, I1, I2> Checkpointed for TwoInput<'_, O, I1, I2> {
    checkpointed_by_delegation!();
}

/// Takes checkpoint `barrier` of this task: the chain prepares, snapshots (`head` adds the
/// state of a source head) and forwards the barrier; the snapshot goes to the coordinator.
pub(crate) fn take_checkpoint(
    ctx: &mut TaskContext,
    chain: &mut impl Checkpointed,
    barrier: CheckpointBarrier,
    head: impl FnOnce(&mut TaskSnapshot) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    chain.prepare(barrier.id)?;
    let mut snapshot = TaskSnapshot::default();
    head(&mut snapshot)?;
    chain.snapshot(barrier, &mut snapshot)?;
    barrier_to_unused_side_outputs(ctx, barrier)?;
    let state = ctx.subtask_state(snapshot);
    if let Some(link) = &ctx.checkpointing {
        ctx.report(TaskReport::Ack { task: link.task, checkpoint: barrier.id, state });
    }
    Ok(())
}

/// Hands the coordinator's pending notifications to the chain.
pub(crate) fn deliver_notifications(ctx: &TaskContext, chain: &mut impl Checkpointed) -> Result<(), TaskError> {
    let Some(link) = &ctx.checkpointing else { return Ok(()) };
    while let Ok(notification) = link.notifications.try_recv() {
        match notification {
            Notification::Complete(id) => {
                chain.complete(id)?;
                ctx.report(TaskReport::Notified { task: link.task, checkpoint: id });
            }
            Notification::Aborted(id) => chain.aborted(id)?,
            Notification::JobFinished => {}
        }
    }
    Ok(())
}

/// Ends the chain (and the side-output edges no operator wired) after its input ended. When the
/// job checkpoints, the task then takes its
/// final snapshot, reports it, and keeps delivering notifications until the whole job has
/// finished (so a two-phase-commit sink commits its last transaction), or the job is cancelled.
pub(crate) fn finish_task(
    ctx: &mut TaskContext,
    chain: &mut impl Checkpointed,
    head: impl FnOnce(&mut TaskSnapshot) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    chain.finish()?;
    end_unused_side_outputs(ctx)?;
    let Some(link) = &ctx.checkpointing else { return Ok(()) };
    let barrier = CheckpointBarrier { id: FINAL_CHECKPOINT_ID, timestamp: 0, kind: CheckpointKind::Checkpoint };
    chain.prepare(barrier.id)?;
    let mut snapshot = TaskSnapshot::default();
    head(&mut snapshot)?;
    chain.snapshot(barrier, &mut snapshot)?;
    let state = ctx.subtask_state(snapshot);
    ctx.report(TaskReport::Finished { task: link.task, state });
    loop {
        match link.notifications.recv_timeout(LINGER_POLL) {
            Ok(Notification::Complete(id)) => {
                chain.complete(id)?;
                ctx.report(TaskReport::Notified { task: link.task, checkpoint: id });
            }
            Ok(Notification::Aborted(id)) => chain.aborted(id)?,
            Ok(Notification::JobFinished) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            // Another task failed: this one ends quietly, the restart restores it.
            Err(RecvTimeoutError::Timeout) if ctx.is_cancelled() => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}
