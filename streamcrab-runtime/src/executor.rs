//! The embedded (local) executor: every subtask of every vertex on its own thread, channels in
//! memory, and a master thread that watches the tasks, coordinates checkpoints and restarts
//! the job after a failure.
//!
//! When a task fails, the run's cancellation flag is raised; sources stop, channels disconnect,
//! and every other task ends. The run's error is the first failure that is not merely a
//! consequence of another (a lost channel, the cancellation itself). If the restart strategy
//! allows, the master then starts a new run from the latest completed checkpoint that reads
//! back intact (an older one if the newest is damaged), with fresh channels and tasks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, never, select, unbounded};

use crate::checkpoint::coordinator::{COORDINATOR_TICK, CheckpointHistory, Coordinator, SavepointRequest};
use crate::checkpoint::storage::FileCheckpointStorage;
use crate::checkpoint::task::{TaskCheckpointing, TriggerBoard};
use crate::checkpoint::{CheckpointError, CheckpointStorage, MemoryCheckpointStorage, RestartStrategy, RestoredJob};
use crate::error::{ConfigErrors, JobError, TaskError};
use crate::graph::{EdgeId, EdgeSource, JobGraph, PlannedVertex};
use crate::metrics::JobMetrics;
use crate::task::{SideOutputTarget, TaskContext, run_task};

/// What a finished job reports (Flink's `JobExecutionResult`).
#[derive(Debug, Clone)]
pub struct JobExecutionResult {
    job_name: String,
    net_runtime: Duration,
    metrics: JobMetrics,
    restarts: u32,
    completed_checkpoints: u64,
    savepoint: Option<PathBuf>,
}

impl JobExecutionResult {
    /// The job's name.
    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// The counters operators reported in the last run (such as `numLateRecordsDropped`).
    pub fn metrics(&self) -> &JobMetrics {
        &self.metrics
    }

    /// Wall-clock time from the start of the first task to the end of the last.
    pub fn net_runtime(&self) -> Duration {
        self.net_runtime
    }

    /// How often the job was restarted after a failure.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Checkpoints completed over the job's life (the final one included).
    pub fn completed_checkpoints(&self) -> u64 {
        self.completed_checkpoints
    }

    /// The savepoint the job was stopped with, if it was stopped with one.
    pub fn savepoint(&self) -> Option<&Path> {
        self.savepoint.as_deref()
    }
}

/// A running job.
pub struct JobHandle {
    cancelled_by_user: Arc<AtomicBool>,
    requests: Sender<SavepointRequest>,
    master: JoinHandle<Result<JobExecutionResult, JobError>>,
}

impl JobHandle {
    /// Asks every task to stop; [`join`](Self::join) then returns [`JobError::Cancelled`].
    pub fn cancel(&self) {
        self.cancelled_by_user.store(true, Ordering::SeqCst);
    }

    /// Whether the job has ended.
    pub fn is_finished(&self) -> bool {
        self.master.is_finished()
    }

    /// Takes a savepoint into folder `target` and waits until it is complete; the job goes on.
    /// Needs checkpointing to be enabled.
    pub fn trigger_savepoint(&self, target: impl AsRef<Path>) -> Result<PathBuf, JobError> {
        self.savepoint(target.as_ref(), false)
    }

    /// Takes a savepoint into folder `target`, then stops the job; the result names the savepoint.
    pub fn stop_with_savepoint(self, target: impl AsRef<Path>) -> Result<JobExecutionResult, JobError> {
        self.savepoint(target.as_ref(), true)?;
        self.join()
    }

    fn savepoint(&self, target: &Path, stop: bool) -> Result<PathBuf, JobError> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let request = SavepointRequest { target: target.to_path_buf(), stop, reply };
        let gone = || CheckpointError::Failed { reason: "the job has already ended".into() };
        self.requests.send(request).map_err(|_| JobError::Restore(gone()))?;
        answer.recv().map_err(|_| JobError::Restore(gone()))?.map_err(JobError::Restore)
    }

    /// Waits for the job to end.
    pub fn join(self) -> Result<JobExecutionResult, JobError> {
        self.master.join().unwrap_or_else(|_| {
            Err(JobError::TaskFailed {
                task: "job master".into(),
                subtask: 0,
                parallelism: 1,
                source: TaskError::Wiring { what: "the job master thread panicked".into() },
            })
        })
    }
}

struct TaskOutcome {
    task: String,
    subtask: u32,
    parallelism: u32,
    result: Result<(), TaskError>,
}

/// Validates `graph`, reads the savepoint it starts from, and starts the job.
pub(crate) fn start(graph: JobGraph) -> Result<JobHandle, JobError> {
    let planned = graph.plan().map_err(|errors| JobError::InvalidJob(ConfigErrors(errors)))?;
    let initial = match &graph.recovery.restore_from {
        Some((path, allow_unknown)) => Some(read_savepoint(path, *allow_unknown, &graph.operator_uids())?),
        None => None,
    };
    let cancelled_by_user = Arc::new(AtomicBool::new(false));
    let (requests, request_rx) = unbounded();
    let user_flag = cancelled_by_user.clone();
    let master = std::thread::Builder::new()
        .name(format!("{} master", graph.name))
        .spawn(move || Master { graph, planned, user_flag }.run(initial, request_rx))
        .map_err(|source| JobError::Spawn { task: "job master".into(), source })?;
    Ok(JobHandle { cancelled_by_user, requests, master })
}

/// Reads a savepoint (or retained checkpoint) folder and checks its operators against the job.
fn read_savepoint(path: &Path, allow_unknown: bool, uids: &[String]) -> Result<RestoredJob, JobError> {
    let restored = FileCheckpointStorage::read_from(path)?.into_restored();
    if !allow_unknown && let Some(uid) = restored.uids().find(|uid| !uids.iter().any(|u| u == uid)) {
        return Err(CheckpointError::UnknownOperator { uid: uid.to_string() }.into());
    }
    Ok(restored)
}

/// The newest checkpoint with an id in `ids` that reads back intact, skipping damaged ones.
fn latest_intact(storage: &dyn CheckpointStorage, ids: &[u64]) -> Option<RestoredJob> {
    ids.iter().rev().find_map(|id| storage.load(*id).ok()).map(|c| c.into_restored())
}

/// How one run of the job ended.
enum RunEnd {
    Finished,
    Stopped(PathBuf),
}

struct Master {
    graph: JobGraph,
    planned: Vec<PlannedVertex>,
    user_flag: Arc<AtomicBool>,
}

impl Master {
    fn run(
        self,
        initial: Option<RestoredJob>,
        requests: Receiver<SavepointRequest>,
    ) -> Result<JobExecutionResult, JobError> {
        let recovery = &self.graph.recovery;
        let storage: Arc<dyn CheckpointStorage> =
            recovery.storage.clone().unwrap_or_else(|| Arc::new(MemoryCheckpointStorage::default()));
        let restart = recovery.restart.unwrap_or(if recovery.checkpointing.is_some() {
            RestartStrategy::CHECKPOINTING_DEFAULT
        } else {
            RestartStrategy::NoRestart
        });
        // Checkpoint ids go on from whatever the storage or the savepoint already holds; only
        // checkpoints of this job's own runs are restored after a failure.
        let stored_max = storage.list().ok().and_then(|ids| ids.last().copied()).unwrap_or(0);
        let first_own = stored_max.max(initial.as_ref().map_or(0, |r| r.checkpoint_id));
        let mut history = CheckpointHistory { next_id: first_own, completed: 0 };
        let initial = initial.map(Arc::new);
        let mut restored = initial.clone();
        let mut restarts = 0;
        let mut requests = requests;
        let started = Instant::now();
        loop {
            let metrics = JobMetrics::default();
            let end = self.run_once(restored.clone(), &storage, &mut history, &mut requests, &metrics);
            let failure = match end {
                Ok(end) => {
                    return Ok(JobExecutionResult {
                        job_name: self.graph.name.clone(),
                        net_runtime: started.elapsed(),
                        metrics,
                        restarts,
                        completed_checkpoints: history.completed,
                        savepoint: match end {
                            RunEnd::Finished => None,
                            RunEnd::Stopped(path) => Some(path),
                        },
                    });
                }
                Err(failure) => failure,
            };
            if self.user_flag.load(Ordering::SeqCst) {
                return Err(JobError::Cancelled);
            }
            restarts += 1;
            let Some(delay) = restart.delay_before(restarts) else { return Err(failure) };
            let until = Instant::now() + delay;
            while Instant::now() < until {
                if self.user_flag.load(Ordering::SeqCst) {
                    return Err(JobError::Cancelled);
                }
                std::thread::sleep(COORDINATOR_TICK.min(until.saturating_duration_since(Instant::now())));
            }
            let own: Vec<u64> = storage.list().unwrap_or_default().into_iter().filter(|id| *id > first_own).collect();
            restored = latest_intact(storage.as_ref(), &own).map(Arc::new).or_else(|| initial.clone());
        }
    }

    /// Runs every task once, from `restored` if given, until the job ends or a task fails.
    fn run_once(
        &self,
        restored: Option<Arc<RestoredJob>>,
        storage: &Arc<dyn CheckpointStorage>,
        history: &mut CheckpointHistory,
        requests: &mut Receiver<SavepointRequest>,
        metrics: &JobMetrics,
    ) -> Result<RunEnd, JobError> {
        let graph = &self.graph;
        let cancel = Arc::new(AtomicBool::new(false));
        let operator_names: Arc<[String]> = graph.operators.iter().map(|o| o.name.clone()).collect();
        let operator_uids: Arc<[String]> = graph.operator_uids().into();
        let checkpointing = graph.recovery.checkpointing.clone();
        let shared_state_dir: Option<Arc<std::path::Path>> = storage.shared_dir().map(Into::into);
        let triggers = Arc::new(TriggerBoard::default());
        let (report_tx, mut report_rx) = unbounded();
        let mut notifiers = Vec::new();
        let mut task_names = Vec::new();

        let task_threads: u32 = self.planned.iter().map(|v| v.parallelism).sum();
        let core_per_task =
            std::thread::available_parallelism().is_ok_and(|cores| task_threads as usize <= cores.get());
        let mut contexts: Vec<Vec<TaskContext>> = Vec::new();
        for v in &self.planned {
            let mut subtasks = Vec::new();
            for i in 0..v.parallelism {
                let link = checkpointing.as_ref().map(|config| {
                    let (notify, notifications) = unbounded();
                    notifiers.push(notify);
                    TaskCheckpointing {
                        mode: config.mode,
                        task: task_names.len(),
                        triggers: triggers.clone(),
                        last_injected: history.next_id,
                        reports: report_tx.clone(),
                        notifications,
                    }
                });
                task_names.push(v.name.clone());
                subtasks.push(TaskContext {
                    task_name: v.name.clone(),
                    subtask_index: i,
                    parallelism: v.parallelism,
                    max_parallelism: v.max_parallelism,
                    operator_names: operator_names.clone(),
                    cancel: cancel.clone(),
                    inputs: HashMap::new(),
                    outputs: HashMap::new(),
                    side_outputs: Vec::new(),
                    metrics: metrics.clone(),
                    clock: graph.clock.clone(),
                    operator_uids: operator_uids.clone(),
                    restored: restored.clone(),
                    checkpointing: link,
                    state_backend: graph.state_backend.clone(),
                    shared_state_dir: shared_state_dir.clone(),
                    core_per_task,
                });
            }
            contexts.push(subtasks);
        }
        drop(report_tx);
        self.wire(&mut contexts)?;

        let (done_tx, done_rx) = unbounded::<TaskOutcome>();
        let threads = self.spawn(contexts, &cancel, &done_tx)?;
        drop(done_tx);

        let mut coordinator =
            checkpointing.map(|config| Coordinator::new(config, storage.clone(), triggers, notifiers, task_names));
        let mut root: Option<TaskOutcome> = None;
        let mut secondary: Option<TaskOutcome> = None;
        let mut checkpoint_failure: Option<JobError> = None;
        loop {
            select! {
                recv(done_rx) -> outcome => match outcome {
                    Ok(outcome) => match &outcome.result {
                        Ok(()) => {}
                        Err(e) if e.is_secondary() => { secondary.get_or_insert(outcome); }
                        Err(_) => {
                            cancel.store(true, Ordering::SeqCst);
                            root.get_or_insert(outcome);
                        }
                    },
                    Err(_) => break,
                },
                recv(report_rx) -> report => match (report, coordinator.as_mut()) {
                    (Ok(report), Some(c)) => {
                        if let Err(e) = c.on_report(history, report) {
                            checkpoint_failure.get_or_insert(JobError::CheckpointFailures { failures: e.failures, last: e.last });
                            cancel.store(true, Ordering::SeqCst);
                        }
                    }
                    (Ok(_), None) => {}
                    // No task reports (the job does not checkpoint, or every task ended): a
                    // disconnected channel is always ready, so stop selecting it.
                    (Err(_), _) => report_rx = never(),
                },
                recv(*requests) -> request => match request {
                    Ok(request) => match coordinator.as_mut() {
                        Some(c) => c.request_savepoint(history, graph.clock.now_millis(), request),
                        None => {
                            let reason = "savepoints need checkpointing to be enabled".into();
                            let _ = request.reply.send(Err(CheckpointError::Failed { reason }));
                        }
                    },
                    // The handle is gone: no more requests can come.
                    Err(_) => *requests = never(),
                },
                default(COORDINATOR_TICK) => {}
            }
            if self.user_flag.load(Ordering::SeqCst) {
                cancel.store(true, Ordering::SeqCst);
            }
            if let Some(c) = coordinator.as_mut()
                && !cancel.load(Ordering::SeqCst)
            {
                let ticked = c.tick(history, graph.clock.now_millis());
                let finished = if c.all_finished() { c.finish_job(history) } else { Ok(()) };
                if let Err(e) = ticked.and(finished) {
                    checkpoint_failure
                        .get_or_insert(JobError::CheckpointFailures { failures: e.failures, last: e.last });
                    cancel.store(true, Ordering::SeqCst);
                }
                if c.stopped_with.is_some() {
                    cancel.store(true, Ordering::SeqCst);
                }
            }
        }
        for thread in threads {
            // A task's panic is caught inside it; join only waits.
            let _ = thread.join();
        }
        if let Some(path) = coordinator.as_mut().and_then(|c| c.stopped_with.take())
            && root.is_none()
        {
            return Ok(RunEnd::Stopped(path));
        }
        if let Some(TaskOutcome { task, subtask, parallelism, result: Err(source) }) = root {
            return Err(JobError::TaskFailed { task, subtask, parallelism, source });
        }
        if let Some(failure) = checkpoint_failure {
            return Err(failure);
        }
        if self.user_flag.load(Ordering::SeqCst) {
            return Err(JobError::Cancelled);
        }
        if let Some(TaskOutcome { task, subtask, parallelism, result: Err(source) }) = secondary {
            return Err(JobError::TaskFailed { task, subtask, parallelism, source });
        }
        if let Some(c) = coordinator.as_mut() {
            c.retain_after_end();
        }
        Ok(RunEnd::Finished)
    }

    /// Creates the channels of every edge and hands them to the subtasks at both ends.
    fn wire(&self, contexts: &mut [Vec<TaskContext>]) -> Result<(), JobError> {
        let graph = &self.graph;
        for (index, edge) in graph.edges.iter().enumerate() {
            let id = EdgeId(index);
            let Some(source) = graph.source_vertex(edge) else {
                return Err(wiring(&graph.name, format!("edge {index} has no source vertex")));
            };
            let (up, down) = (&self.planned[source.0], &self.planned[edge.target.0]);
            let pointwise = match edge.partitioning {
                crate::graph::Partitioning::Forward => true,
                crate::graph::Partitioning::Default => up.parallelism == down.parallelism,
                _ => false,
            };
            let channels = (edge.channels)(up.parallelism, down.parallelism, pointwise, down.max_parallelism);
            for (ctx, output) in contexts[source.0].iter_mut().zip(channels.outputs) {
                ctx.outputs.insert(id, output);
                if let EdgeSource::Side { operator, tag, writer } = &edge.source {
                    ctx.side_outputs.push(SideOutputTarget {
                        operator: *operator,
                        tag: tag.clone(),
                        make: writer.clone(),
                        edge: Some(id),
                    });
                }
            }
            for (ctx, input) in contexts[edge.target.0].iter_mut().zip(channels.inputs) {
                ctx.inputs.insert(id, input);
            }
        }
        Ok(())
    }

    /// Starts one thread per subtask.
    fn spawn(
        &self,
        contexts: Vec<Vec<TaskContext>>,
        cancel: &Arc<AtomicBool>,
        done_tx: &Sender<TaskOutcome>,
    ) -> Result<Vec<JoinHandle<()>>, JobError> {
        let mut threads = Vec::new();
        for (vertex, subtasks) in self.graph.vertices.iter().zip(contexts) {
            let Some(body) = vertex.body.as_ref() else {
                cancel.store(true, Ordering::SeqCst);
                return Err(wiring(&self.graph.name, "a vertex has no task body".into()));
            };
            for mut ctx in subtasks {
                let run = body();
                let done = done_tx.clone();
                let task_cancel = cancel.clone();
                let name = format!("{} ({}/{})", ctx.task_name, ctx.subtask_index + 1, ctx.parallelism);
                let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
                    let result = run_task(&mut ctx, run);
                    if result.as_ref().is_err_and(|e| !e.is_secondary()) {
                        task_cancel.store(true, Ordering::SeqCst);
                    }
                    let outcome = TaskOutcome {
                        task: ctx.task_name.clone(),
                        subtask: ctx.subtask_index,
                        parallelism: ctx.parallelism,
                        result,
                    };
                    // The master outlives every task; a failed send means it is gone already.
                    let _ = done.send(outcome);
                });
                match spawned {
                    Ok(handle) => threads.push(handle),
                    Err(source) => {
                        cancel.store(true, Ordering::SeqCst);
                        return Err(JobError::Spawn { task: name, source });
                    }
                }
            }
        }
        Ok(threads)
    }
}

fn wiring(job: &str, what: String) -> JobError {
    JobError::TaskFailed { task: job.to_string(), subtask: 0, parallelism: 1, source: TaskError::Wiring { what } }
}
