//! The embedded (local) executor: every subtask of every vertex on its own thread, channels in
//! memory.
//!
//! When a task fails, the job's cancellation flag is raised; sources stop, channels disconnect,
//! and every other task ends. The job's error is the first failure that is not merely a
//! consequence of another (a lost channel, the cancellation itself).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;

use crate::error::{ConfigErrors, JobError, TaskError};
use crate::graph::{EdgeId, EdgeSource, JobGraph};
use crate::metrics::JobMetrics;
use crate::task::{SideOutputTarget, TaskContext, end_unused_side_outputs, run_task};

/// What a finished job reports (Flink's `JobExecutionResult`).
#[derive(Debug, Clone)]
pub struct JobExecutionResult {
    job_name: String,
    net_runtime: Duration,
    metrics: JobMetrics,
}

impl JobExecutionResult {
    /// The job's name.
    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// The counters operators reported (such as `numLateRecordsDropped`).
    pub fn metrics(&self) -> &JobMetrics {
        &self.metrics
    }

    /// Wall-clock time from the start of the first task to the end of the last.
    pub fn net_runtime(&self) -> Duration {
        self.net_runtime
    }
}

/// A running job.
pub struct JobHandle {
    cancel: Arc<AtomicBool>,
    cancelled_by_user: Arc<AtomicBool>,
    monitor: JoinHandle<Result<JobExecutionResult, JobError>>,
}

impl JobHandle {
    /// Asks every task to stop; [`join`](Self::join) then returns [`JobError::Cancelled`].
    pub fn cancel(&self) {
        self.cancelled_by_user.store(true, Ordering::SeqCst);
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether every task has ended.
    pub fn is_finished(&self) -> bool {
        self.monitor.is_finished()
    }

    /// Waits for the job to end.
    pub fn join(self) -> Result<JobExecutionResult, JobError> {
        self.monitor.join().unwrap_or_else(|_| {
            Err(JobError::TaskFailed {
                task: "job monitor".into(),
                subtask: 0,
                parallelism: 1,
                source: TaskError::Wiring { what: "the job monitor thread panicked".into() },
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

/// Validates `graph` and starts all its tasks.
pub(crate) fn start(graph: JobGraph) -> Result<JobHandle, JobError> {
    let planned = graph.plan().map_err(|errors| JobError::InvalidJob(ConfigErrors(errors)))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let metrics = JobMetrics::default();
    let operator_names: Arc<[String]> = graph.operators.iter().map(|o| o.name.clone()).collect();

    let mut contexts: Vec<Vec<TaskContext>> = planned
        .iter()
        .map(|v| {
            (0..v.parallelism)
                .map(|i| TaskContext {
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
                })
                .collect()
        })
        .collect();

    for (index, edge) in graph.edges.iter().enumerate() {
        let id = EdgeId(index);
        let Some(source) = graph.source_vertex(edge) else {
            return Err(wiring(&graph.name, format!("edge {index} has no source vertex")));
        };
        let (up, down) = (&planned[source.0], &planned[edge.target.0]);
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

    let (done_tx, done_rx) = unbounded::<TaskOutcome>();
    let mut threads = Vec::new();
    let started = Instant::now();
    for (vertex, subtasks) in graph.vertices.iter().zip(contexts) {
        let Some(body) = vertex.body.clone() else {
            cancel.store(true, Ordering::SeqCst);
            return Err(wiring(&graph.name, "a vertex has no task body".into()));
        };
        for mut ctx in subtasks {
            let run = body();
            let done = done_tx.clone();
            let task_cancel = cancel.clone();
            let name = format!("{} ({}/{})", ctx.task_name, ctx.subtask_index + 1, ctx.parallelism);
            let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || {
                let result = run_task(&mut ctx, run).and_then(|()| end_unused_side_outputs(&mut ctx));
                if result.is_err() {
                    task_cancel.store(true, Ordering::SeqCst);
                }
                let outcome = TaskOutcome {
                    task: ctx.task_name.clone(),
                    subtask: ctx.subtask_index,
                    parallelism: ctx.parallelism,
                    result,
                };
                // The monitor outlives every task; a failed send means it is gone already.
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
    drop(done_tx);

    let cancelled_by_user = Arc::new(AtomicBool::new(false));
    let user_flag = cancelled_by_user.clone();
    let job_name = graph.name.clone();
    let monitor = std::thread::Builder::new()
        .name(format!("{job_name} monitor"))
        .spawn(move || {
            let mut root: Option<TaskOutcome> = None;
            let mut secondary: Option<TaskOutcome> = None;
            for outcome in done_rx {
                match &outcome.result {
                    Ok(()) => {}
                    Err(e) if e.is_secondary() => {
                        secondary.get_or_insert(outcome);
                    }
                    Err(_) => {
                        root.get_or_insert(outcome);
                    }
                }
            }
            for thread in threads {
                // A task's panic is caught inside it; join only waits.
                let _ = thread.join();
            }
            let net_runtime = started.elapsed();
            match root.or(if user_flag.load(Ordering::SeqCst) { None } else { secondary }) {
                Some(TaskOutcome { task, subtask, parallelism, result: Err(source) }) => {
                    Err(JobError::TaskFailed { task, subtask, parallelism, source })
                }
                _ if user_flag.load(Ordering::SeqCst) => Err(JobError::Cancelled),
                _ => Ok(JobExecutionResult { job_name, net_runtime, metrics }),
            }
        })
        .map_err(|source| JobError::Spawn { task: "job monitor".into(), source })?;
    Ok(JobHandle { cancel, cancelled_by_user, monitor })
}

fn wiring(job: &str, what: String) -> JobError {
    JobError::TaskFailed { task: job.to_string(), subtask: 0, parallelism: 1, source: TaskError::Wiring { what } }
}
