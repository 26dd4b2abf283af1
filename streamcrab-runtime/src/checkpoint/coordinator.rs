//! The checkpoint coordinator (Flink's `CheckpointCoordinator`), run by the job's master thread:
//! it triggers checkpoints at the sources, collects the acknowledgements, stores a checkpoint
//! once every task acknowledged it, notifies the tasks, times checkpoints out, counts failures,
//! keeps the newest completed checkpoints and writes savepoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::CheckpointConfig;
use super::snapshot::SubtaskState;
use super::storage::{CheckpointError, CheckpointStorage, CompletedCheckpoint, FileCheckpointStorage, TaskStateEntry};
use super::task::{FINAL_CHECKPOINT_ID, Notification, TaskReport, TriggerBoard};
use crate::element::{CheckpointBarrier, CheckpointKind};

/// A request for a savepoint from a [`JobHandle`](crate::executor::JobHandle).
pub(crate) struct SavepointRequest {
    pub(crate) target: PathBuf,
    pub(crate) stop: bool,
    pub(crate) reply: Sender<Result<PathBuf, CheckpointError>>,
}

/// Why the coordinator gave up on the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooManyFailures {
    pub(crate) failures: u32,
    pub(crate) last: String,
}

struct Pending {
    barrier: CheckpointBarrier,
    started: Instant,
    acks: Vec<Option<SubtaskState>>,
    savepoint: Option<SavepointRequest>,
}

/// Checkpoint ids and completed checkpoints, kept over the restarts of a job.
#[derive(Default)]
pub(crate) struct CheckpointHistory {
    pub(crate) next_id: u64,
    pub(crate) completed: u64,
}

/// One run's coordinator.
pub(crate) struct Coordinator {
    config: CheckpointConfig,
    storage: Arc<dyn CheckpointStorage>,
    triggers: Arc<TriggerBoard>,
    notifiers: Vec<Sender<Notification>>,
    task_names: Vec<String>,
    pending: BTreeMap<u64, Pending>,
    finished: Vec<Option<SubtaskState>>,
    /// Per task, the newest checkpoint whose completion it has processed.
    notified: Vec<u64>,
    last_trigger: Instant,
    last_completion: Option<Instant>,
    consecutive_failures: u32,
    job_finished: bool,
    /// A stop-with-savepoint completed: the run may end.
    pub(crate) stopped_with: Option<PathBuf>,
}

impl Coordinator {
    pub(crate) fn new(
        config: CheckpointConfig,
        storage: Arc<dyn CheckpointStorage>,
        triggers: Arc<TriggerBoard>,
        notifiers: Vec<Sender<Notification>>,
        task_names: Vec<String>,
    ) -> Self {
        let tasks = notifiers.len();
        Self {
            config,
            storage,
            triggers,
            notifiers,
            task_names,
            pending: BTreeMap::new(),
            finished: vec![None; tasks],
            notified: vec![0; tasks],
            last_trigger: Instant::now(),
            last_completion: None,
            consecutive_failures: 0,
            job_finished: false,
            stopped_with: None,
        }
    }

    /// Whether every task has reported its final snapshot.
    pub(crate) fn all_finished(&self) -> bool {
        self.finished.iter().all(Option::is_some)
    }

    /// Triggers a periodic checkpoint when one is due, and times out old ones.
    pub(crate) fn tick(&mut self, history: &mut CheckpointHistory, now_ms: i64) -> Result<(), TooManyFailures> {
        let timed_out: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.started.elapsed() >= self.config.timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in timed_out {
            self.fail(id, format!("checkpoint {id} expired before completing"))?;
        }
        let paused = self.last_completion.is_some_and(|t| t.elapsed() < self.config.min_pause);
        let due = self.last_trigger.elapsed() >= self.config.interval;
        if due && !paused && !self.job_finished && (self.pending.len() as u32) < self.config.max_concurrent {
            self.trigger(history, now_ms, CheckpointKind::Checkpoint, None);
        }
        Ok(())
    }

    /// Triggers a savepoint (it does not count against the concurrent checkpoints).
    pub(crate) fn request_savepoint(
        &mut self,
        history: &mut CheckpointHistory,
        now_ms: i64,
        request: SavepointRequest,
    ) {
        if self.job_finished {
            let finished = CheckpointError::Failed { reason: "the job has already finished".into() };
            let _ = request.reply.send(Err(finished));
            return;
        }
        self.trigger(history, now_ms, CheckpointKind::Savepoint, Some(request));
    }

    fn trigger(
        &mut self,
        history: &mut CheckpointHistory,
        now_ms: i64,
        kind: CheckpointKind,
        savepoint: Option<SavepointRequest>,
    ) {
        history.next_id += 1;
        let barrier = CheckpointBarrier { id: history.next_id, timestamp: now_ms, kind };
        self.last_trigger = Instant::now();
        let acks = self.finished.clone();
        self.pending.insert(barrier.id, Pending { barrier, started: Instant::now(), acks, savepoint });
        self.triggers.post(barrier);
    }

    /// Handles a task's report; completes the checkpoints it makes complete.
    pub(crate) fn on_report(
        &mut self,
        history: &mut CheckpointHistory,
        report: TaskReport,
    ) -> Result<(), TooManyFailures> {
        match report {
            TaskReport::Ack { task, checkpoint, state } => {
                if let Some(pending) = self.pending.get_mut(&checkpoint) {
                    pending.acks[task] = Some(state);
                }
            }
            TaskReport::Finished { task, state } => {
                for pending in self.pending.values_mut() {
                    pending.acks[task].get_or_insert_with(|| state.clone());
                }
                self.finished[task] = Some(state);
            }
            TaskReport::Notified { task, checkpoint } => {
                self.notified[task] = self.notified[task].max(checkpoint);
                return Ok(());
            }
        }
        let complete: Vec<u64> =
            self.pending.iter().filter(|(_, p)| p.acks.iter().all(Option::is_some)).map(|(id, _)| *id).collect();
        for id in complete {
            self.complete(history, id)?;
        }
        Ok(())
    }

    fn entries(&self, acks: Vec<Option<SubtaskState>>) -> Vec<TaskStateEntry> {
        acks.into_iter()
            .zip(&self.task_names)
            .filter_map(|(state, task)| Some(TaskStateEntry { task: task.clone(), state: state? }))
            .collect()
    }

    fn complete(&mut self, history: &mut CheckpointHistory, id: u64) -> Result<(), TooManyFailures> {
        let Some(pending) = self.pending.remove(&id) else { return Ok(()) };
        let checkpoint = CompletedCheckpoint {
            id,
            timestamp: pending.barrier.timestamp,
            kind: pending.barrier.kind,
            tasks: self.entries(pending.acks),
        };
        let stored = match &pending.savepoint {
            Some(request) => FileCheckpointStorage::write_to(&request.target, &checkpoint),
            None => self.storage.store(&checkpoint),
        };
        if let Err(e) = stored {
            if let Some(request) = pending.savepoint {
                let _ = request.reply.send(Err(e));
                return Ok(());
            }
            return self.fail(id, format!("checkpoint {id} could not be stored: {e}"));
        }
        // Older checkpoints still in flight are subsumed by this one.
        let older: Vec<u64> =
            self.pending.range(..id).filter(|(_, p)| p.savepoint.is_none()).map(|(i, _)| *i).collect();
        for old in older {
            self.pending.remove(&old);
            self.broadcast(Notification::Aborted(old));
        }
        self.consecutive_failures = 0;
        self.last_completion = Some(Instant::now());
        self.broadcast(Notification::Complete(id));
        match pending.savepoint {
            Some(request) => {
                if request.stop {
                    self.stopped_with = Some(request.target.clone());
                }
                let _ = request.reply.send(Ok(request.target));
            }
            None => {
                history.completed += 1;
                self.retain();
            }
        }
        Ok(())
    }

    /// Keeps the newest `retained` checkpoints. An older one is deleted only once every task has
    /// processed the completion of it or a newer one: then every sink transaction it holds is
    /// committed, and none still waits for it.
    fn retain(&mut self) {
        let Ok(ids) = self.storage.list() else { return };
        let keep_from = ids.len().saturating_sub(self.config.retained);
        let committed_everywhere = self.notified.iter().copied().min().unwrap_or(0);
        for id in ids[..keep_from].iter().filter(|id| **id <= committed_everywhere) {
            // One that cannot be deleted now is tried again after the next completion.
            let _ = self.storage.discard(*id);
        }
    }

    /// The job has finished and every task has ended (so every sink committed): applies the
    /// retention without waiting for confirmations.
    pub(crate) fn retain_after_end(&mut self) {
        self.notified.iter_mut().for_each(|n| *n = u64::MAX);
        self.retain();
    }

    fn fail(&mut self, id: u64, reason: String) -> Result<(), TooManyFailures> {
        if let Some(pending) = self.pending.remove(&id) {
            if let Some(request) = pending.savepoint {
                let _ = request.reply.send(Err(CheckpointError::Failed { reason }));
                return Ok(());
            }
            self.broadcast(Notification::Aborted(id));
        }
        self.consecutive_failures += 1;
        if self.consecutive_failures > self.config.tolerable_failures {
            return Err(TooManyFailures { failures: self.consecutive_failures, last: reason });
        }
        Ok(())
    }

    /// All tasks have finished: stores their final snapshots as the final checkpoint, lets every
    /// task commit, and releases them.
    pub(crate) fn finish_job(&mut self, history: &mut CheckpointHistory) -> Result<(), TooManyFailures> {
        if self.job_finished {
            return Ok(());
        }
        self.job_finished = true;
        let pending: Vec<u64> = self.pending.keys().copied().collect();
        for id in pending {
            self.complete(history, id)?;
        }
        history.next_id += 1;
        let final_checkpoint = CompletedCheckpoint {
            id: history.next_id,
            timestamp: 0,
            kind: CheckpointKind::Checkpoint,
            tasks: self.entries(self.finished.clone()),
        };
        if let Err(e) = self.storage.store(&final_checkpoint) {
            return Err(TooManyFailures {
                failures: 1,
                last: format!("the final checkpoint could not be stored: {e}"),
            });
        }
        history.completed += 1;
        self.broadcast(Notification::Complete(FINAL_CHECKPOINT_ID));
        self.broadcast(Notification::JobFinished);
        self.retain();
        Ok(())
    }

    fn broadcast(&self, notification: Notification) {
        for notifier in &self.notifiers {
            // A task that already ended does not need it.
            let _ = notifier.send(notification);
        }
    }
}

/// How long the master waits for task messages between two looks at timers.
pub(crate) const COORDINATOR_TICK: Duration = Duration::from_millis(5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::MemoryCheckpointStorage;
    use crossbeam_channel::{Receiver, unbounded};

    type Parts = (Coordinator, Vec<Receiver<Notification>>, Arc<TriggerBoard>);

    fn coordinator(config: CheckpointConfig, tasks: usize) -> Parts {
        coordinator_on(config, tasks, Arc::new(MemoryCheckpointStorage::default()))
    }

    fn coordinator_on(config: CheckpointConfig, tasks: usize, storage: Arc<dyn CheckpointStorage>) -> Parts {
        let triggers = Arc::new(TriggerBoard::default());
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..tasks).map(|_| unbounded()).unzip();
        let names = (0..tasks).map(|i| format!("task {i}")).collect();
        let c = Coordinator::new(config, storage, triggers.clone(), senders, names);
        (c, receivers, triggers)
    }

    fn ack(task: usize, checkpoint: u64) -> TaskReport {
        let state = SubtaskState { subtask: task as u32, parallelism: 2, key_groups: (0, 0), operators: Vec::new() };
        TaskReport::Ack { task, checkpoint, state }
    }

    fn fast(interval_ms: u64) -> CheckpointConfig {
        CheckpointConfig::new(Duration::from_millis(interval_ms))
    }

    #[test]
    fn a_checkpoint_completes_when_every_task_acknowledged_and_everyone_hears_it() {
        let (mut c, notifications, triggers) = coordinator(fast(1), 2);
        let mut history = CheckpointHistory::default();
        std::thread::sleep(Duration::from_millis(2));
        c.tick(&mut history, 0).unwrap();
        assert_eq!(triggers.newer_than(0).len(), 1);
        c.on_report(&mut history, ack(0, 1)).unwrap();
        assert_eq!(history.completed, 0, "one task has not acknowledged yet");
        c.on_report(&mut history, ack(1, 1)).unwrap();
        assert_eq!(history.completed, 1);
        for n in &notifications {
            assert_eq!(n.try_recv(), Ok(Notification::Complete(1)));
        }
    }

    #[test]
    fn no_more_than_max_concurrent_and_a_pause_after_completion() {
        let mut config = fast(1);
        config.min_pause = Duration::from_secs(3600);
        let (mut c, _, triggers) = coordinator(config, 1);
        let mut history = CheckpointHistory::default();
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(2));
            c.tick(&mut history, 0).unwrap();
        }
        assert_eq!(triggers.newer_than(0).len(), 1, "one checkpoint in flight at a time");
        c.on_report(&mut history, ack(0, 1)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        c.tick(&mut history, 0).unwrap();
        assert_eq!(triggers.newer_than(1).len(), 0, "the minimum pause holds the next trigger back");
    }

    /// An older checkpoint is deleted only once every task has processed the completion of a
    /// newer one (its sinks committed what the older one's transactions hold).
    #[test]
    fn retention_keeps_a_checkpoint_until_a_newer_completion_was_processed_everywhere() {
        let storage = Arc::new(MemoryCheckpointStorage::default());
        let (mut c, _, _) = coordinator_on(fast(1), 2, storage.clone());
        let mut history = CheckpointHistory::default();
        let checkpoint = |c: &mut Coordinator, history: &mut CheckpointHistory| {
            std::thread::sleep(Duration::from_millis(2));
            c.tick(history, 0).unwrap();
            let id = history.next_id;
            c.on_report(history, ack(0, id)).unwrap();
            c.on_report(history, ack(1, id)).unwrap();
            id
        };
        let first = checkpoint(&mut c, &mut history);
        let second = checkpoint(&mut c, &mut history);
        assert_eq!(storage.list().unwrap(), vec![first, second], "no task has processed a completion yet");
        c.on_report(&mut history, TaskReport::Notified { task: 0, checkpoint: second }).unwrap();
        let third = checkpoint(&mut c, &mut history);
        assert_eq!(storage.list().unwrap(), vec![first, second, third], "task 1 has not confirmed");
        c.on_report(&mut history, TaskReport::Notified { task: 1, checkpoint: second }).unwrap();
        let fourth = checkpoint(&mut c, &mut history);
        assert_eq!(storage.list().unwrap(), vec![third, fourth], "everything up to the confirmed one may go");
        c.retain_after_end();
        assert_eq!(storage.list().unwrap(), vec![fourth]);
    }

    #[test]
    fn expired_checkpoints_are_aborted_and_counted_against_the_tolerance() {
        let mut config = fast(1);
        config.timeout = Duration::from_millis(1);
        config.tolerable_failures = 1;
        let (mut c, notifications, _) = coordinator(config, 1);
        let mut history = CheckpointHistory::default();
        std::thread::sleep(Duration::from_millis(2));
        c.tick(&mut history, 0).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        c.tick(&mut history, 0).expect("the first failure is tolerated");
        assert_eq!(notifications[0].try_recv(), Ok(Notification::Aborted(1)));
        std::thread::sleep(Duration::from_millis(2));
        let failure = c.tick(&mut history, 0).unwrap_err();
        assert_eq!(failure.failures, 2);
        assert!(failure.last.contains("expired"), "{}", failure.last);
    }
}
