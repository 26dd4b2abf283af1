//! A task: one subtask of a chain, running on its own thread.
//!
//! The [`TaskContext`] carries what a chain needs when it is built and opened: which subtask
//! it is, its channels, its side-output wiring and the job's cancellation flag. `run_task`
//! runs a chain and turns a panic in a user function into a [`TaskError::Panic`] naming the
//! operator whose function panicked. Fused stateless operators wrap their user calls in
//! [`call_user`], which costs nothing unless the call unwinds; the others record themselves
//! with [`enter_operator`] (one thread-local store per call).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::checkpoint::task::TaskCheckpointing;
use crate::checkpoint::{RestoredJob, RestoredOperator};
use crate::error::TaskError;
use crate::graph::EdgeId;
use crate::keygroup::KeyGroupRange;
use crate::operator::OperatorId;
use crate::operator::side_output::ErasedSideOutput;
use crate::state::StateBackend;

thread_local! {
    static CURRENT_OPERATOR: Cell<u32> = const { Cell::new(u32::MAX) };
    static PANICKED_IN: Cell<u32> = const { Cell::new(u32::MAX) };
    /// Writers of the side-output edges no operator of this thread's task wired. They live
    /// with the task's thread because operators (and so writers) are not `Send`.
    static UNUSED_SIDE_OUTPUTS: RefCell<Vec<Box<dyn ErasedSideOutput>>> = const { RefCell::new(Vec::new()) };
}

/// Records, while unwinding, the innermost operator a panic went through.
struct UnwindMarker(OperatorId);

impl Drop for UnwindMarker {
    fn drop(&mut self) {
        PANICKED_IN.with(|p| {
            if p.get() == u32::MAX {
                p.set(self.0.0);
            }
        });
    }
}

/// Calls user function `f` of operator `id`; if it panics, the panic is attributed to `id`.
/// Free on the normal path: the marker only acts while unwinding.
#[inline(always)]
pub fn call_user<R>(id: OperatorId, f: impl FnOnce() -> R) -> R {
    let marker = UnwindMarker(id);
    let result = f();
    std::mem::forget(marker);
    result
}

/// Records that the calling thread now runs a function of operator `id`.
#[inline(always)]
pub fn enter_operator(id: OperatorId) {
    CURRENT_OPERATOR.with(|c| c.set(id.0));
}

fn current_operator() -> Option<OperatorId> {
    let panicked = PANICKED_IN.with(Cell::get);
    let id = if panicked != u32::MAX { panicked } else { CURRENT_OPERATOR.with(Cell::get) };
    (id != u32::MAX).then_some(OperatorId(id))
}

/// Builds the typed writer of one side output (a `Box<dyn Operator<S>>`, boxed as `Any`) for
/// the edge it writes to.
pub(crate) type SideOutputFactory =
    Arc<dyn Fn(&mut TaskContext, Option<EdgeId>) -> Result<Box<dyn Any>, TaskError> + Send + Sync>;

/// A side output of an operator that something consumes.
#[derive(Clone)]
pub(crate) struct SideOutputTarget {
    pub(crate) operator: OperatorId,
    pub(crate) tag: String,
    pub(crate) make: SideOutputFactory,
    /// The edge it writes to (`None` in test harnesses).
    pub(crate) edge: Option<EdgeId>,
}

/// Everything a chain sees of the task it runs in.
pub struct TaskContext {
    pub(crate) task_name: String,
    pub(crate) subtask_index: u32,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
    pub(crate) operator_names: Arc<[String]>,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) inputs: HashMap<EdgeId, Box<dyn Any + Send>>,
    pub(crate) outputs: HashMap<EdgeId, Box<dyn Any + Send>>,
    pub(crate) side_outputs: Vec<SideOutputTarget>,
    pub(crate) metrics: crate::metrics::JobMetrics,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    pub(crate) operator_uids: Arc<[String]>,
    /// The state this run starts from, if it restores a checkpoint or savepoint.
    pub(crate) restored: Option<Arc<RestoredJob>>,
    /// The task's link to the checkpoint coordinator, if the job checkpoints.
    pub(crate) checkpointing: Option<TaskCheckpointing>,
    /// The kind of keyed-state backend the job's operators use.
    pub(crate) state_backend: Arc<StateBackend>,
    /// The checkpoint storage's folder for files shared between checkpoints, if it has one.
    pub(crate) shared_state_dir: Option<Arc<std::path::Path>>,
    /// Whether the process has a core for each task thread of the job (exchange senders then
    /// nap on a full channel before they park, see the `exchange` module).
    pub(crate) core_per_task: bool,
}

impl TaskContext {
    /// A context for running a chain outside a job (operator tests): subtask `subtask_index` of
    /// `parallelism`, with no channels.
    pub fn standalone(task_name: &str, subtask_index: u32, parallelism: u32, max_parallelism: u32) -> Self {
        Self {
            task_name: task_name.to_string(),
            subtask_index,
            parallelism,
            max_parallelism,
            operator_names: Arc::from(Vec::new()),
            cancel: Arc::new(AtomicBool::new(false)),
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            side_outputs: Vec::new(),
            metrics: crate::metrics::JobMetrics::default(),
            clock: Arc::new(crate::clock::SystemClock),
            operator_uids: Arc::from(Vec::new()),
            restored: None,
            checkpointing: None,
            state_backend: Arc::new(StateBackend::Heap),
            shared_state_dir: None,
            core_per_task: false,
        }
    }

    /// The kind of keyed-state backend of the job.
    pub fn state_backend(&self) -> &StateBackend {
        &self.state_backend
    }

    /// The checkpoint storage's folder for files shared between checkpoints, if it has one.
    pub fn shared_state_dir(&self) -> Option<&std::path::Path> {
        self.shared_state_dir.as_deref()
    }

    /// The restored state of operator `id` for this subtask (its key groups, its share of
    /// operator state), if the run restores a checkpoint holding state of that operator.
    pub fn restored_state(&self, id: OperatorId) -> Option<RestoredOperator> {
        let uid = self.operator_uids.get(id.0 as usize)?;
        self.restored.as_ref()?.operator(uid, self.subtask_index, self.parallelism, self.key_group_range())
    }

    /// The uid of operator `id` (given with `.uid(..)`, or derived from its position and name).
    pub fn operator_uid(&self, id: OperatorId) -> String {
        self.operator_uids.get(id.0 as usize).cloned().unwrap_or_else(|| format!("{}", id.0))
    }

    /// Name of the task (its chained operators).
    pub fn task_name(&self) -> &str {
        &self.task_name
    }

    /// Index of this subtask, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.subtask_index
    }

    /// Number of subtasks of this task.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// Max parallelism (number of key groups) of this task.
    pub fn max_parallelism(&self) -> u32 {
        self.max_parallelism
    }

    /// The key groups this subtask owns.
    pub fn key_group_range(&self) -> KeyGroupRange {
        KeyGroupRange::for_operator_index(self.max_parallelism, self.parallelism, self.subtask_index)
    }

    /// The name of operator `id`.
    pub fn operator_name(&self, id: OperatorId) -> String {
        self.operator_names.get(id.0 as usize).cloned().unwrap_or_else(|| format!("operator #{}", id.0))
    }

    /// The job's processing time in ms.
    #[inline]
    pub fn current_processing_time(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The job's clock.
    pub fn clock(&self) -> Arc<dyn crate::clock::Clock> {
        self.clock.clone()
    }

    /// The job's counters.
    pub fn metrics(&self) -> &crate::metrics::JobMetrics {
        &self.metrics
    }

    /// Whether the job is being cancelled.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub(crate) fn take_input<R: Send + 'static>(&mut self, edge: EdgeId) -> Option<R> {
        self.inputs.remove(&edge).and_then(|b| b.downcast::<R>().ok()).map(|b| *b)
    }

    pub(crate) fn take_output<S: Send + 'static>(&mut self, edge: EdgeId) -> Option<S> {
        self.outputs.remove(&edge).and_then(|b| b.downcast::<S>().ok()).map(|b| *b)
    }

    /// Registers a consumer of side output `tag` of operator `operator` (used by test harnesses).
    pub(crate) fn add_side_output(&mut self, operator: OperatorId, tag: &str, make: SideOutputFactory) {
        self.side_outputs.push(SideOutputTarget { operator, tag: tag.to_string(), make, edge: None });
    }
}

/// Opens writers for the side-output edges whose operator never wired them (it emits no side
/// outputs), so that barriers and the end of input still reach their consumers.
fn wire_unused_side_outputs(ctx: &mut TaskContext) -> Result<(), TaskError> {
    let unused: Vec<SideOutputTarget> =
        ctx.side_outputs.iter().filter(|t| t.edge.is_some_and(|e| ctx.outputs.contains_key(&e))).cloned().collect();
    for target in unused {
        let mut writer = (target.make)(ctx, target.edge)?;
        if let Some(writer) = writer.downcast_mut::<Option<Box<dyn ErasedSideOutput>>>().and_then(Option::take) {
            UNUSED_SIDE_OUTPUTS.with(|unused| unused.borrow_mut().push(writer));
        }
    }
    Ok(())
}

/// Forwards a checkpoint barrier to the side-output edges nobody writes to.
pub(crate) fn barrier_to_unused_side_outputs(
    ctx: &mut TaskContext,
    barrier: crate::element::CheckpointBarrier,
) -> Result<(), TaskError> {
    wire_unused_side_outputs(ctx)?;
    UNUSED_SIDE_OUTPUTS.with(|unused| unused.borrow_mut().iter_mut().try_for_each(|w| w.barrier(barrier)))
}

/// Ends the side-output edges nobody writes to, so their consumers see an orderly end instead
/// of a vanished upstream.
pub(crate) fn end_unused_side_outputs(ctx: &mut TaskContext) -> Result<(), TaskError> {
    wire_unused_side_outputs(ctx)?;
    for mut writer in UNUSED_SIDE_OUTPUTS.with(|unused| std::mem::take(&mut *unused.borrow_mut())) {
        writer.watermark(crate::element::Watermark::MAX)?;
        writer.finish()?;
    }
    Ok(())
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs `body` on `ctx`, turning a panic into [`TaskError::Panic`] with the operator's name.
pub(crate) fn run_task(
    ctx: &mut TaskContext,
    body: impl FnOnce(&mut TaskContext) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    CURRENT_OPERATOR.with(|c| c.set(u32::MAX));
    PANICKED_IN.with(|c| c.set(u32::MAX));
    UNUSED_SIDE_OUTPUTS.with(|unused| unused.borrow_mut().clear());
    let names = ctx.operator_names.clone();
    let task_name = ctx.task_name.clone();
    match catch_unwind(AssertUnwindSafe(|| body(ctx))) {
        Ok(result) => result,
        Err(payload) => {
            let operator = current_operator().and_then(|id| names.get(id.0 as usize).cloned()).unwrap_or(task_name);
            Err(TaskError::Panic { operator, message: panic_message(payload.as_ref()) })
        }
    }
}
