//! Sinks: the tails of chains that hand records to the outside world.
//!
//! `print` (stdout, `Debug` format, prefixed with `N> ` when the sink runs with parallelism
//! above 1, as Flink), a collecting sink that hands the results back after the job, a text-file
//! sink (`Display` format), a discarding tail, and the [`SinkFunction`] trait for connectors.

use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::checkpoint::TaskSnapshot;
use crate::context::RuntimeContext;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::{TaskError, UserResult};
use crate::operator::{Operator, OperatorId, Tail};
use crate::state::{OperatorStateAccess, OperatorStateStore};
use crate::task::{TaskContext, call_user, enter_operator};
use crate::two_phase::{TwoPhaseCommitOperator, TwoPhaseCommitSink};

/// What a [`SinkFunction`] knows about the record it is given.
pub struct SinkContext<'a> {
    timestamp: Option<i64>,
    current_watermark: i64,
    operator_state: &'a mut OperatorStateStore,
}

impl SinkContext<'_> {
    /// Event timestamp of the record, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The latest watermark the sink has seen.
    pub fn current_watermark(&self) -> i64 {
        self.current_watermark
    }
}

impl OperatorStateAccess for SinkContext<'_> {
    fn operator_state(&mut self) -> &mut OperatorStateStore {
        self.operator_state
    }
}

/// A user-defined sink (Flink's `SinkFunction`).
pub trait SinkFunction<T>: Clone + Send + 'static {
    /// Called once per subtask before the first record.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Called for every record.
    fn invoke(&mut self, value: T, ctx: &mut SinkContext<'_>) -> UserResult;
    /// Called when the task's input is idle: push out anything buffered.
    fn flush(&mut self) -> UserResult {
        Ok(())
    }
    /// Called once at the end of a bounded input.
    fn finish(&mut self) -> UserResult {
        Ok(())
    }
    /// Called when a checkpoint completed (Flink's `CheckpointListener`). For output that
    /// becomes visible exactly once, implement [`TwoPhaseCommitSink`].
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> UserResult {
        Ok(())
    }
}

/// Ends a chain with a [`SinkFunction`].
#[derive(Clone)]
pub struct SinkTail<S> {
    function: S,
    id: OperatorId,
}

impl<S> SinkTail<S> {
    pub(crate) fn new(function: S, id: OperatorId) -> Self {
        Self { function, id }
    }
}

/// Runs a [`SinkFunction`].
pub struct SinkOperator<S> {
    function: S,
    id: OperatorId,
    name: String,
    current_watermark: i64,
    operator_state: OperatorStateStore,
}

impl<T, S: SinkFunction<T>> Tail<T> for SinkTail<S> {
    type Built = SinkOperator<S>;
    fn build(self, _ctx: &mut TaskContext) -> Result<Self::Built, TaskError> {
        Ok(SinkOperator {
            function: self.function,
            id: self.id,
            name: String::new(),
            current_watermark: i64::MIN,
            operator_state: OperatorStateStore::default(),
        })
    }
}

impl<S> SinkOperator<S> {
    fn settle(&self, result: UserResult) -> Result<(), TaskError> {
        result.map_err(|source| TaskError::User { operator: self.name.clone(), source })
    }
}

impl<T, S: SinkFunction<T>> Operator<T> for SinkOperator<S> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.name = ctx.operator_name(self.id);
        if let Some(restored) = ctx.restored_state(self.id) {
            self.operator_state.restore(restored.lists);
        }
        enter_operator(self.id);
        let result = self.function.open(&mut RuntimeContext::new(ctx, self.id, None, &mut self.operator_state));
        self.settle(result)
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        let mut ctx = SinkContext {
            timestamp: record.timestamp,
            current_watermark: self.current_watermark,
            operator_state: &mut self.operator_state,
        };
        let function = &mut self.function;
        let result = call_user(self.id, || function.invoke(record.value, &mut ctx));
        self.settle(result)
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.current_watermark = watermark.0;
        Ok(())
    }

    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<(), TaskError> {
        Ok(())
    }

    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        enter_operator(self.id);
        let result = self.function.flush();
        self.settle(result)
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        enter_operator(self.id);
        let result = self.function.finish();
        self.settle(result)
    }

    fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }

    fn snapshot_state(&mut self, _barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        let state = self.operator_state.snapshot(snapshot.of(self.id));
        state.map_err(|source| TaskError::State { operator: self.name.clone(), source })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        enter_operator(self.id);
        let result = self.function.notify_checkpoint_complete(checkpoint_id);
        self.settle(result)
    }

    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
}

/// `print()`: every record's `Debug` form on its own line of stdout.
#[derive(Clone, Default)]
pub struct PrintSink {
    prefix: String,
    buffer: Vec<u8>,
}

impl<T: Debug> SinkFunction<T> for PrintSink {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        if ctx.parallelism() > 1 {
            self.prefix = format!("{}> ", ctx.subtask_index() + 1);
        }
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &mut SinkContext<'_>) -> UserResult {
        writeln!(self.buffer, "{}{:?}", self.prefix, value)?;
        if self.buffer.len() >= 64 * 1024 {
            SinkFunction::<T>::flush(self)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> UserResult {
        if !self.buffer.is_empty() {
            let mut out = std::io::stdout().lock();
            out.write_all(&self.buffer)?;
            out.flush()?;
            self.buffer.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> UserResult {
        SinkFunction::<T>::flush(self)
    }
}

/// The records a collecting sink received, readable once the job has finished.
///
/// When the job checkpoints, the sink is transactional: records are staged per transaction and
/// appear here only when the checkpoint that covers them completes, so a job that restarted
/// after a failure still shows every record exactly once.
pub struct CollectedResults<T> {
    records: Arc<Mutex<Vec<StreamRecord<T>>>>,
    watermarks: Arc<Mutex<Vec<i64>>>,
    staged: Arc<Mutex<HashMap<u64, Vec<StreamRecord<T>>>>>,
    /// Transaction ids, unique over every run of the job.
    next_transaction: Arc<AtomicU64>,
}

impl<T> Clone for CollectedResults<T> {
    fn clone(&self) -> Self {
        Self {
            records: self.records.clone(),
            watermarks: self.watermarks.clone(),
            staged: self.staged.clone(),
            next_transaction: self.next_transaction.clone(),
        }
    }
}

impl<T> Default for CollectedResults<T> {
    fn default() -> Self {
        Self {
            records: Arc::default(),
            watermarks: Arc::default(),
            staged: Arc::default(),
            next_transaction: Arc::default(),
        }
    }
}

impl<T: Clone> CollectedResults<T> {
    /// The records received so far, with their timestamps. Across parallel sink subtasks the
    /// order is the order in which the subtasks handed them over.
    pub fn records(&self) -> Vec<StreamRecord<T>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The values received so far.
    pub fn values(&self) -> Vec<T> {
        self.records().into_iter().map(|r| r.value).collect()
    }

    /// The watermarks that reached the sink, in arrival order (interleaved over subtasks when
    /// the sink is parallel).
    pub fn watermarks(&self) -> Vec<i64> {
        self.watermarks.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Appends a value (for user sinks that report into a shared result).
    pub fn push(&self, value: T) {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).push(StreamRecord::new(value));
    }

    /// Number of records received so far.
    pub fn len(&self) -> usize {
        self.records.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> CollectedResults<T> {
    fn record_watermark(&self, watermark: Watermark) {
        self.watermarks.lock().unwrap_or_else(PoisonError::into_inner).push(watermark.0);
    }

    fn append(&self, records: &mut Vec<StreamRecord<T>>) {
        if !records.is_empty() {
            self.records.lock().unwrap_or_else(PoisonError::into_inner).append(records);
        }
    }

    fn staged(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<StreamRecord<T>>>> {
        self.staged.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a chain by appending every record to a [`CollectedResults`].
pub struct CollectTail<T> {
    results: CollectedResults<T>,
    id: OperatorId,
}

impl<T> Clone for CollectTail<T> {
    fn clone(&self) -> Self {
        Self { results: self.results.clone(), id: self.id }
    }
}

impl<T> CollectTail<T> {
    pub(crate) fn new(results: CollectedResults<T>, id: OperatorId) -> Self {
        Self { results, id }
    }
}

/// The operator of a [`CollectTail`]: without checkpointing it buffers locally and hands over on
/// flush and at the end; with checkpointing it commits with the checkpoints.
pub enum CollectOperator<T: Send + 'static> {
    /// Records are handed over as they come.
    Direct {
        /// The shared results.
        results: CollectedResults<T>,
        /// Records not handed over yet.
        buffer: Vec<StreamRecord<T>>,
    },
    /// Records are handed over when their checkpoint completes.
    Transactional(Box<TwoPhaseCommitOperator<CollectTransactions<T>, T>>, CollectedResults<T>),
}

impl<T: Send + 'static> Tail<T> for CollectTail<T> {
    type Built = CollectOperator<T>;
    fn build(self, ctx: &mut TaskContext) -> Result<Self::Built, TaskError> {
        Ok(if ctx.checkpointing_mode().is_some() {
            let transactions = CollectTransactions { results: self.results.clone() };
            CollectOperator::Transactional(Box::new(TwoPhaseCommitOperator::new(transactions, self.id)), self.results)
        } else {
            CollectOperator::Direct { results: self.results, buffer: Vec::new() }
        })
    }
}

/// The transactions of a collecting sink in a checkpointing job: staged record lists in the
/// shared results, keyed by a transaction id.
pub struct CollectTransactions<T> {
    results: CollectedResults<T>,
}

impl<T> Clone for CollectTransactions<T> {
    fn clone(&self) -> Self {
        Self { results: self.results.clone() }
    }
}

impl<T: Send + 'static> TwoPhaseCommitSink<T> for CollectTransactions<T> {
    type Transaction = u64;

    fn begin_transaction(&mut self) -> UserResult<u64> {
        let id = self.results.next_transaction.fetch_add(1, Ordering::Relaxed);
        self.results.staged().insert(id, Vec::new());
        Ok(id)
    }

    fn invoke(&mut self, transaction: &mut u64, value: T, timestamp: Option<i64>) -> UserResult {
        let mut staged = self.results.staged();
        let records = staged.get_mut(transaction).ok_or_else(|| format!("transaction {transaction} is not open"))?;
        records.push(StreamRecord { value, timestamp });
        Ok(())
    }

    fn pre_commit(&mut self, _transaction: &mut u64) -> UserResult {
        Ok(())
    }

    fn commit(&mut self, transaction: u64) -> UserResult {
        // A transaction committed before is no longer staged: committing again does nothing.
        let records = self.results.staged().remove(&transaction);
        if let Some(mut records) = records {
            self.results.append(&mut records);
        }
        Ok(())
    }

    fn abort(&mut self, transaction: u64) -> UserResult {
        self.results.staged().remove(&transaction);
        Ok(())
    }
}

macro_rules! per_mode {
    ($self:ident, $direct:expr, |$op:ident| $transactional:expr) => {
        match $self {
            CollectOperator::Direct { .. } => $direct,
            CollectOperator::Transactional($op, _) => $transactional,
        }
    };
}

impl<T: Send + 'static> Operator<T> for CollectOperator<T> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        per_mode!(self, Ok(()), |op| op.open(ctx))
    }
    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        match self {
            CollectOperator::Direct { buffer, .. } => {
                buffer.push(record);
                Ok(())
            }
            CollectOperator::Transactional(op, _) => op.process(record),
        }
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.flush()?;
        match self {
            CollectOperator::Direct { results, .. } | CollectOperator::Transactional(_, results) => {
                results.record_watermark(watermark);
            }
        }
        Ok(())
    }
    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<(), TaskError> {
        Ok(())
    }
    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        if let CollectOperator::Direct { results, buffer } = self {
            results.append(buffer);
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<(), TaskError> {
        per_mode!(self, self.flush(), |op| op.finish())
    }
    fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        per_mode!(self, Ok(()), |op| op.snapshot_state(barrier, snapshot))
    }
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        per_mode!(self, Ok(()), |op| op.notify_checkpoint_complete(checkpoint_id))
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError> {
        per_mode!(self, Ok(()), |op| op.notify_checkpoint_aborted(checkpoint_id))
    }
}

/// `write_as_text(path)`: every record's `Display` form on its own line. With parallelism 1 the
/// sink writes the file `path`; with more, `path` is a directory holding one file per subtask,
/// named `1`, `2`, ... (as Flink's `writeAsText`).
pub struct TextFileSink {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    file: PathBuf,
}

impl Clone for TextFileSink {
    /// A clone is unopened: each subtask opens its own file.
    fn clone(&self) -> Self {
        Self::new(self.path.clone())
    }
}

impl TextFileSink {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, writer: None, file: PathBuf::new() }
    }

    fn io<E: Into<std::io::Error>>(&self, error: E) -> crate::error::BoxError {
        format!("{}: {}", self.file.display(), error.into()).into()
    }
}

impl<T: Display> SinkFunction<T> for TextFileSink {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.file = if ctx.parallelism() > 1 {
            std::fs::create_dir_all(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
            self.path.join((ctx.subtask_index() + 1).to_string())
        } else {
            self.path.clone()
        };
        let file = File::create(&self.file).map_err(|e| self.io(e))?;
        self.writer = Some(BufWriter::new(file));
        Ok(())
    }

    fn invoke(&mut self, value: T, _ctx: &mut SinkContext<'_>) -> UserResult {
        let Some(writer) = &mut self.writer else { return Err("text file sink used before open".into()) };
        let written = writeln!(writer, "{value}");
        written.map_err(|e| self.io(e))
    }

    fn flush(&mut self) -> UserResult {
        let flushed = self.writer.as_mut().map_or(Ok(()), Write::flush);
        flushed.map_err(|e| self.io(e))
    }

    fn finish(&mut self) -> UserResult {
        SinkFunction::<T>::flush(self)
    }
}

/// Ends a chain whose main output nobody consumes.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardTail;

/// The operator of a [`DiscardTail`].
pub struct Discard;

impl<T> Tail<T> for DiscardTail {
    type Built = Discard;
    fn build(self, _ctx: &mut TaskContext) -> Result<Discard, TaskError> {
        Ok(Discard)
    }
}

impl<T> Operator<T> for Discard {
    fn open(&mut self, _ctx: &mut TaskContext) -> Result<(), TaskError> {
        Ok(())
    }
    #[inline]
    fn process(&mut self, _record: StreamRecord<T>) -> Result<(), TaskError> {
        Ok(())
    }
    fn process_watermark(&mut self, _watermark: Watermark) -> Result<(), TaskError> {
        Ok(())
    }
    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<(), TaskError> {
        Ok(())
    }
    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    crate::operator::stateless_end_checkpoint!();
}
