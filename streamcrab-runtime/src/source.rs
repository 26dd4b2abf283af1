//! Sources: the heads of chains that produce records.
//!
//! Built-in sources are generic heads that push straight into the fused chain (no `dyn` per
//! record). User connectors implement [`SourceFunction`]. A bounded source, when it runs out,
//! emits `Watermark(i64::MAX)` and then ends its output; that end flows through every operator
//! and ends the job.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::snapshot::{decode, encode};
use crate::checkpoint::task::{OneInput, deliver_notifications, finish_task, take_checkpoint};
use crate::context::RuntimeContext;
use crate::element::{StreamRecord, Watermark, WatermarkStatus};
use crate::error::{StateError, TaskError, UserResult};
use crate::input::ChainHead;
use crate::operator::{Operator, OperatorId};
use crate::state::{OperatorStateAccess, OperatorStateStore};
use crate::task::{TaskContext, call_user, enter_operator};

/// Records a generator emits between two looks at the cancellation flag.
const CANCEL_CHECK_EVERY: u64 = 1024;
/// The longest a record waits in a half-full batch of a slow source (Flink's buffer timeout).
pub const BUFFER_TIMEOUT: Duration = Duration::from_millis(100);

/// The operator-state list a built-in source keeps its position in.
const POSITION_STATE: &str = "source-position";

/// How far a built-in source got: records emitted by this subtask (of how many subtasks).
#[derive(serde::Serialize, serde::Deserialize)]
struct Position {
    subtask: u32,
    parallelism: u32,
    emitted: u64,
}

/// The position a restored built-in source resumes from (0 without a restore).
fn restored_position(ctx: &TaskContext, id: OperatorId) -> Result<u64, TaskError> {
    let Some(restored) = ctx.restored_state(id) else { return Ok(0) };
    let restore_error = |reason: String| TaskError::State {
        operator: ctx.operator_name(id),
        source: StateError::Restore { name: POSITION_STATE.into(), reason },
    };
    let Some(bytes) = restored.lists.iter().find(|l| l.name == POSITION_STATE).and_then(|l| l.elements.first()) else {
        return Ok(0);
    };
    let position: Position = decode(bytes).map_err(restore_error)?;
    if (position.subtask, position.parallelism) != (ctx.subtask_index(), ctx.parallelism()) {
        return Err(restore_error(format!(
            "the position was written by subtask {} of {}; this source cannot be restored with parallelism {}",
            position.subtask + 1,
            position.parallelism,
            ctx.parallelism()
        )));
    }
    Ok(position.emitted)
}

/// Writes a built-in source's position into `snapshot`.
fn position_writer(
    ctx: &TaskContext,
    id: OperatorId,
    emitted: u64,
) -> impl FnOnce(&mut TaskSnapshot) -> Result<(), TaskError> + use<> {
    let position = Position { subtask: ctx.subtask_index(), parallelism: ctx.parallelism(), emitted };
    let operator = ctx.operator_name(id);
    move |snapshot| {
        let bytes = encode(&position).map_err(|reason| TaskError::State {
            operator,
            source: StateError::Snapshot { name: POSITION_STATE.into(), reason },
        })?;
        snapshot.of(id).add_list(POSITION_STATE, vec![bytes]);
        Ok(())
    }
}

/// Between two records of a built-in source: emits the barriers that are due (with the source's
/// position in the snapshot). Cheap when none is due: one atomic load.
#[inline]
fn inject_due_barriers<T, O: Operator<T>>(
    ctx: &mut TaskContext,
    chain: &mut O,
    id: OperatorId,
    emitted: u64,
) -> Result<(), TaskError> {
    if ctx.has_due_barriers() { emit_due_barriers(ctx, chain, id, emitted) } else { Ok(()) }
}

/// The work of [`inject_due_barriers`] when a barrier is due, out of the record loop.
#[cold]
#[inline(never)]
fn emit_due_barriers<T, O: Operator<T>>(
    ctx: &mut TaskContext,
    chain: &mut O,
    id: OperatorId,
    emitted: u64,
) -> Result<(), TaskError> {
    for barrier in ctx.due_barriers().unwrap_or_default() {
        take_checkpoint(ctx, &mut OneInput::new(chain), barrier, position_writer(ctx, id, emitted))?;
    }
    Ok(())
}

/// [`inject_due_barriers`], then hands pending checkpoint notifications to the chain (done every
/// [`CANCEL_CHECK_EVERY`] records, as it costs a channel poll).
#[inline]
fn checkpoint_point<T, O: Operator<T>>(
    ctx: &mut TaskContext,
    chain: &mut O,
    id: OperatorId,
    emitted: u64,
) -> Result<(), TaskError> {
    if ctx.checkpointing.is_none() {
        return Ok(());
    }
    checkpointing_point(ctx, chain, id, emitted)
}

/// The work of [`checkpoint_point`] when the job checkpoints, kept out of line so that the
/// source's record loop stays tight.
#[cold]
#[inline(never)]
fn checkpointing_point<T, O: Operator<T>>(
    ctx: &mut TaskContext,
    chain: &mut O,
    id: OperatorId,
    emitted: u64,
) -> Result<(), TaskError> {
    inject_due_barriers(ctx, chain, id, emitted)?;
    deliver_notifications(ctx, &mut OneInput::new(chain))
}

/// The end of a bounded source: `Watermark(MAX)`, then the end of the chain; `head` writes the
/// source's own state into the final snapshot.
fn end_of_input<T, O: Operator<T>>(
    ctx: &mut TaskContext,
    chain: &mut O,
    head: impl FnOnce(&mut TaskSnapshot) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    chain.process_watermark(Watermark::MAX)?;
    finish_task(ctx, &mut OneInput::new(chain), head)
}

/// `from_iter`: the elements of a collection, in order (not parallel). A restore skips the
/// elements emitted before the checkpoint.
#[derive(Clone)]
pub struct IterSource<I> {
    items: I,
    id: OperatorId,
}

impl<I> IterSource<I> {
    pub(crate) fn new(items: I, id: OperatorId) -> Self {
        Self { items, id }
    }
}

impl<T, I> ChainHead<T> for IterSource<I>
where
    I: IntoIterator<Item = T> + Clone + Send + 'static,
{
    fn run<O: Operator<T>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let skip = restored_position(ctx, self.id)?;
        chain.open(ctx)?;
        let mut emitted = skip;
        for value in self.items.into_iter().skip(skip as usize) {
            if emitted.is_multiple_of(CANCEL_CHECK_EVERY) {
                if ctx.is_cancelled() {
                    return Err(TaskError::Cancelled);
                }
                chain.on_processing_time(ctx.current_processing_time())?;
                checkpoint_point(ctx, &mut chain, self.id, emitted)?;
            }
            chain.process(StreamRecord::new(value))?;
            emitted += 1;
        }
        end_of_input(ctx, &mut chain, position_writer(ctx, self.id, emitted))
    }
}

/// `from_sequence(start, end)`: the numbers `start..=end`, split into contiguous ranges over
/// the subtasks (as Flink's `NumberSequenceSource`).
#[derive(Clone, Copy, Debug)]
pub struct SequenceSource {
    start: i64,
    end: i64,
    id: OperatorId,
}

impl SequenceSource {
    pub(crate) fn new(start: i64, end: i64, id: OperatorId) -> Self {
        Self { start, end, id }
    }

    /// The part of the sequence subtask `index` of `parallelism` emits.
    pub fn split(&self, index: u32, parallelism: u32) -> std::ops::RangeInclusive<i64> {
        if self.end < self.start {
            return std::ops::RangeInclusive::new(self.start, self.end);
        }
        let total = (self.end as i128 - self.start as i128) + 1;
        let (i, p) = (i128::from(index), i128::from(parallelism));
        let first = self.start as i128 + total * i / p;
        let next = self.start as i128 + total * (i + 1) / p;
        first as i64..=(next - 1) as i64
    }
}

impl ChainHead<i64> for SequenceSource {
    fn run<O: Operator<i64>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let skip = restored_position(ctx, self.id)?;
        chain.open(ctx)?;
        let range = self.split(ctx.subtask_index(), ctx.parallelism());
        let (first, last) = (*range.start(), *range.end());
        let total = if last < first { 0 } else { last.abs_diff(first).saturating_add(1) };
        let mut emitted = skip.min(total);
        while emitted < total {
            if ctx.is_cancelled() {
                return Err(TaskError::Cancelled);
            }
            chain.on_processing_time(ctx.current_processing_time())?;
            checkpoint_point(ctx, &mut chain, self.id, emitted)?;
            let block = (total - emitted).min(CANCEL_CHECK_EVERY);
            let from = first.wrapping_add(emitted as i64);
            for offset in 0..block as i64 {
                chain.process(StreamRecord::new(from.wrapping_add(offset)))?;
            }
            emitted += block;
        }
        end_of_input(ctx, &mut chain, position_writer(ctx, self.id, total))
    }
}

/// Per record of a source that may be slow: hands the job's processing time to the chain
/// when it moved, and flushes records held back longer than [`BUFFER_TIMEOUT`].
///
/// Reading the clocks costs as much as a cheap record, so a fast source looks at them only
/// every `stride` records (doubling while records come faster than one per millisecond, up to
/// [`MAX_CLOCK_STRIDE`]); a slow source looks at every record.
struct FlushTimer {
    last_flush: Instant,
    last_check: Instant,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    last_time: i64,
    stride: u32,
    until_check: u32,
}

/// The most records a fast source emits between two looks at the clocks.
const MAX_CLOCK_STRIDE: u32 = 256;

impl FlushTimer {
    fn new(ctx: &TaskContext) -> Self {
        let now = Instant::now();
        Self { last_flush: now, last_check: now, clock: ctx.clock(), last_time: i64::MIN, stride: 1, until_check: 1 }
    }

    /// Counts a record; returns whether it looked at the clocks this time (the moment for other
    /// periodic work, such as looking for due checkpoint barriers).
    #[inline]
    fn tick<T, O: Operator<T> + ?Sized>(&mut self, chain: &mut O) -> Result<bool, TaskError> {
        self.until_check -= 1;
        if self.until_check > 0 {
            return Ok(false);
        }
        let now = Instant::now();
        self.stride = if now.duration_since(self.last_check) < Duration::from_millis(1) {
            (self.stride * 2).min(MAX_CLOCK_STRIDE)
        } else {
            1
        };
        self.until_check = self.stride;
        self.last_check = now;
        let time = self.clock.now_millis();
        if time != self.last_time {
            self.last_time = time;
            chain.on_processing_time(time)?;
        }
        if now.duration_since(self.last_flush) >= BUFFER_TIMEOUT {
            self.last_flush = now;
            chain.flush()?;
        }
        Ok(true)
    }
}

/// `from_fn(f)`: a generator. Subtask `s` of `p` emits `f(s)`, `f(s + p)`, `f(s + 2p)`, ... and
/// ends at the first `None`; a generator that never returns `None` is unbounded.
pub struct FnSource<F, T> {
    generator: F,
    id: OperatorId,
    _type: PhantomData<fn() -> T>,
}

impl<F: Clone, T> Clone for FnSource<F, T> {
    fn clone(&self) -> Self {
        Self { generator: self.generator.clone(), id: self.id, _type: PhantomData }
    }
}

impl<F, T> FnSource<F, T> {
    pub(crate) fn new(generator: F, id: OperatorId) -> Self {
        Self { generator, id, _type: PhantomData }
    }
}

impl<T: 'static, F> ChainHead<T> for FnSource<F, T>
where
    F: FnMut(u64) -> Option<T> + Clone + Send + 'static,
{
    fn run<O: Operator<T>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let mut generator = self.generator;
        let mut emitted = restored_position(ctx, self.id)?;
        chain.open(ctx)?;
        let (first, step) = (u64::from(ctx.subtask_index()), u64::from(ctx.parallelism()));
        let mut timer = FlushTimer::new(ctx);
        loop {
            if ctx.is_cancelled() {
                return Err(TaskError::Cancelled);
            }
            let index = first + emitted * step;
            let Some(value) = call_user(self.id, || generator(index)) else { break };
            chain.process(StreamRecord::new(value))?;
            emitted += 1;
            // Due barriers go in after any record (one atomic load), so that a generator that
            // blocks does not hold a checkpoint back; notifications are polled when the timer
            // looks at the clocks (every record of a slow generator, every few hundred of a fast one).
            if timer.tick(&mut chain)? {
                checkpoint_point(ctx, &mut chain, self.id, emitted)?;
            } else if ctx.checkpointing.is_some() {
                inject_due_barriers(ctx, &mut chain, self.id, emitted)?;
            }
        }
        end_of_input(ctx, &mut chain, position_writer(ctx, self.id, emitted))
    }
}

/// `read_text_file(path)`: the lines of a UTF-8 text file, without line terminators (not parallel).
#[derive(Clone, Debug)]
pub struct TextFileSource {
    path: PathBuf,
    id: OperatorId,
}

impl TextFileSource {
    pub(crate) fn new(path: PathBuf, id: OperatorId) -> Self {
        Self { path, id }
    }
}

impl ChainHead<String> for TextFileSource {
    fn run<O: Operator<String>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let io_error = |source| TaskError::Io {
            operator: ctx.operator_name(self.id),
            path: self.path.display().to_string(),
            source,
        };
        let file = File::open(&self.path).map_err(io_error)?;
        let skip = restored_position(ctx, self.id)?;
        chain.open(ctx)?;
        let mut emitted = skip;
        for (i, line) in BufReader::new(file).lines().enumerate().skip(skip as usize) {
            if (i as u64).is_multiple_of(CANCEL_CHECK_EVERY) {
                if ctx.is_cancelled() {
                    return Err(TaskError::Cancelled);
                }
                chain.on_processing_time(ctx.current_processing_time())?;
                checkpoint_point(ctx, &mut chain, self.id, emitted)?;
            }
            let line = line.map_err(|source| TaskError::Io {
                operator: ctx.operator_name(self.id),
                path: format!("{} (line {})", self.path.display(), i + 1),
                source,
            })?;
            chain.process(StreamRecord::new(line))?;
            emitted += 1;
        }
        end_of_input(ctx, &mut chain, position_writer(ctx, self.id, emitted))
    }
}

/// Returned by [`SourceContext::collect`] once the source must stop: the job is being
/// cancelled or a downstream task failed. Return it from `run` (with `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the source must stop: the job is cancelled or a downstream task failed")]
pub struct SourceStopped;

/// What a [`SourceFunction`] emits into, plus its task information and operator state.
pub struct SourceContext<'a, T> {
    chain: &'a mut dyn Operator<T>,
    task: &'a mut TaskContext,
    operator_state: &'a mut OperatorStateStore,
    timer: FlushTimer,
    id: OperatorId,
    error: Option<TaskError>,
    idle: bool,
    /// The timer looked at the clocks since the last record: poll notifications before the next.
    checkpoint_due: bool,
}

impl<T> SourceContext<'_, T> {
    /// Emits `value` without a timestamp.
    pub fn collect(&mut self, value: T) -> Result<(), SourceStopped> {
        self.emit(StreamRecord::new(value))
    }

    /// Emits `value` with event timestamp `timestamp`.
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: i64) -> Result<(), SourceStopped> {
        self.emit(StreamRecord::with_timestamp(value, timestamp))
    }

    /// Emits a watermark: no record with a timestamp `<= watermark` follows from this source.
    pub fn emit_watermark(&mut self, watermark: i64) -> Result<(), SourceStopped> {
        self.send(true, |chain| chain.process_watermark(Watermark(watermark)))
    }

    /// Hands what the source emitted so far downstream now, instead of when a batch fills or
    /// the buffer timeout passes.
    pub fn flush(&mut self) -> Result<(), SourceStopped> {
        self.send(false, |chain| chain.flush())
    }

    /// Declares the source temporarily idle: it no longer holds back the watermark downstream
    /// until it emits again (Flink's `markAsTemporarilyIdle`).
    pub fn mark_idle(&mut self) -> Result<(), SourceStopped> {
        if self.idle {
            return Ok(());
        }
        self.send(false, |chain| chain.process_watermark_status(WatermarkStatus::Idle))?;
        self.idle = true;
        Ok(())
    }

    fn emit(&mut self, record: StreamRecord<T>) -> Result<(), SourceStopped> {
        if self.task.checkpointing.is_some() {
            let checkpointed = self.checkpoint_point();
            if let Err(e) = checkpointed {
                self.error = Some(e);
                return Err(SourceStopped);
            }
        }
        self.send(true, |chain| chain.process(record))
    }

    /// Before a record: emits due barriers (the operator state as it is now goes into the
    /// snapshot, so a source must keep its position there in step with what it collected) and,
    /// when the timer looked at the clocks since the last record, delivers checkpoint
    /// notifications.
    fn checkpoint_point(&mut self) -> Result<(), TaskError> {
        if let Some(due) = self.task.due_barriers() {
            for barrier in due {
                let (store, id) = (&*self.operator_state, self.id);
                let operator = self.task.operator_name(id);
                let head = |snapshot: &mut TaskSnapshot| {
                    store.snapshot(snapshot.of(id)).map_err(|source| TaskError::State { operator, source })
                };
                take_checkpoint(self.task, &mut OneInput::new(self.chain), barrier, head)?;
            }
        }
        if std::mem::take(&mut self.checkpoint_due) {
            deliver_notifications(self.task, &mut OneInput::new(self.chain))?;
        }
        Ok(())
    }

    /// Runs `f` on the chain; `activates`: an idle source turns active first.
    fn send(
        &mut self,
        activates: bool,
        f: impl FnOnce(&mut dyn Operator<T>) -> Result<(), TaskError>,
    ) -> Result<(), SourceStopped> {
        if self.error.is_some() {
            return Err(SourceStopped);
        }
        if self.task.is_cancelled() {
            self.error = Some(TaskError::Cancelled);
            return Err(SourceStopped);
        }
        let mut result = Ok(());
        if activates && std::mem::take(&mut self.idle) {
            result = self.chain.process_watermark_status(WatermarkStatus::Active);
        }
        let result = result.and_then(|()| f(self.chain)).and_then(|()| self.timer.tick(self.chain));
        let result = result.map(|looked| self.checkpoint_due |= looked);
        enter_operator(self.id);
        result.map_err(|e| {
            self.error = Some(e);
            SourceStopped
        })
    }

    /// Whether the source should stop (the job is being cancelled).
    pub fn is_cancelled(&self) -> bool {
        self.task.is_cancelled()
    }

    /// Index of this subtask, from 0.
    pub fn subtask_index(&self) -> u32 {
        self.task.subtask_index()
    }

    /// Number of subtasks of this source.
    pub fn parallelism(&self) -> u32 {
        self.task.parallelism()
    }
}

impl<T> OperatorStateAccess for SourceContext<'_, T> {
    fn operator_state(&mut self) -> &mut OperatorStateStore {
        self.operator_state
    }
}

/// A user-defined source (Flink's `SourceFunction`): `run` emits records through the context
/// and returns when the input is exhausted (a bounded source) or the context says stop.
pub trait SourceFunction<T>: Clone + Send + 'static {
    /// Called once per subtask before `run`; declare operator state here.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Produces the records.
    fn run(&mut self, ctx: &mut SourceContext<'_, T>) -> UserResult;
}

/// Runs a [`SourceFunction`].
#[derive(Clone)]
pub struct FunctionSource<S> {
    function: S,
    id: OperatorId,
}

impl<S> FunctionSource<S> {
    pub(crate) fn new(function: S, id: OperatorId) -> Self {
        Self { function, id }
    }
}

impl<T, S: SourceFunction<T>> ChainHead<T> for FunctionSource<S> {
    fn run<O: Operator<T>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let mut function = self.function;
        let name = ctx.operator_name(self.id);
        let mut operator_state = OperatorStateStore::default();
        if let Some(restored) = ctx.restored_state(self.id) {
            operator_state.restore(restored.lists);
        }
        chain.open(ctx)?;
        enter_operator(self.id);
        let opened = function.open(&mut RuntimeContext::new(ctx, self.id, None, &mut operator_state));
        opened.map_err(|source| TaskError::User { operator: name.clone(), source })?;
        let timer = FlushTimer::new(ctx);
        let mut source_ctx = SourceContext {
            chain: &mut chain,
            task: ctx,
            operator_state: &mut operator_state,
            timer,
            id: self.id,
            error: None,
            idle: false,
            checkpoint_due: true,
        };
        let result = function.run(&mut source_ctx);
        if let Some(e) = source_ctx.error.take() {
            return Err(e);
        }
        let idle = source_ctx.idle;
        result.map_err(|source| TaskError::User { operator: name.clone(), source })?;
        if idle {
            // An ending source turns active so that its final watermark counts downstream.
            chain.process_watermark_status(WatermarkStatus::Active)?;
        }
        let id = self.id;
        let head = |snapshot: &mut TaskSnapshot| {
            operator_state.snapshot(snapshot.of(id)).map_err(|source| TaskError::State { operator: name, source })
        };
        end_of_input(ctx, &mut chain, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_splits_are_contiguous_and_complete() {
        let source = SequenceSource::new(-5, 20, OperatorId(0));
        let mut all = Vec::new();
        for i in 0..3 {
            all.extend(source.split(i, 3));
        }
        assert_eq!(all, (-5..=20).collect::<Vec<_>>());
        assert!(SequenceSource::new(3, 2, OperatorId(0)).split(0, 1).is_empty());
        assert_eq!(SequenceSource::new(0, 1, OperatorId(0)).split(2, 3).count(), 1);
    }
}
