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

use crate::context::RuntimeContext;
use crate::element::{StreamRecord, Watermark, WatermarkStatus};
use crate::error::{TaskError, UserResult};
use crate::input::ChainHead;
use crate::operator::{Operator, OperatorId};
use crate::state::{OperatorStateAccess, OperatorStateStore};
use crate::task::{TaskContext, call_user, enter_operator};

/// Records a generator emits between two looks at the cancellation flag.
const CANCEL_CHECK_EVERY: u64 = 1024;
/// The longest a record waits in a half-full batch of a slow source (Flink's buffer timeout).
pub const BUFFER_TIMEOUT: Duration = Duration::from_millis(100);

fn end_of_input<T, O: Operator<T>>(chain: &mut O) -> Result<(), TaskError> {
    chain.process_watermark(Watermark::MAX)?;
    chain.finish()
}

/// `from_iter`: the elements of a collection, in order (not parallel).
#[derive(Clone)]
pub struct IterSource<I> {
    items: I,
}

impl<I> IterSource<I> {
    pub(crate) fn new(items: I) -> Self {
        Self { items }
    }
}

impl<T, I> ChainHead<T> for IterSource<I>
where
    I: IntoIterator<Item = T> + Clone + Send + 'static,
{
    fn run<O: Operator<T>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        chain.open(ctx)?;
        for (i, value) in self.items.into_iter().enumerate() {
            if (i as u64).is_multiple_of(CANCEL_CHECK_EVERY) {
                if ctx.is_cancelled() {
                    return Err(TaskError::Cancelled);
                }
                chain.on_processing_time(ctx.current_processing_time())?;
            }
            chain.process(StreamRecord::new(value))?;
        }
        end_of_input(&mut chain)
    }
}

/// `from_sequence(start, end)`: the numbers `start..=end`, split into contiguous ranges over
/// the subtasks (as Flink's `NumberSequenceSource`).
#[derive(Clone, Copy, Debug)]
pub struct SequenceSource {
    start: i64,
    end: i64,
}

impl SequenceSource {
    pub(crate) fn new(start: i64, end: i64) -> Self {
        Self { start, end }
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
        chain.open(ctx)?;
        let range = self.split(ctx.subtask_index(), ctx.parallelism());
        let (mut next, last) = (*range.start(), *range.end());
        while next <= last {
            if ctx.is_cancelled() {
                return Err(TaskError::Cancelled);
            }
            chain.on_processing_time(ctx.current_processing_time())?;
            let block_end = last.min(next.saturating_add(CANCEL_CHECK_EVERY as i64 - 1));
            for value in next..=block_end {
                chain.process(StreamRecord::new(value))?;
            }
            if block_end == i64::MAX {
                break;
            }
            next = block_end + 1;
        }
        end_of_input(&mut chain)
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

    #[inline]
    fn tick<T, O: Operator<T> + ?Sized>(&mut self, chain: &mut O) -> Result<(), TaskError> {
        self.until_check -= 1;
        if self.until_check > 0 {
            return Ok(());
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
        Ok(())
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
        chain.open(ctx)?;
        let (mut index, step) = (u64::from(ctx.subtask_index()), u64::from(ctx.parallelism()));
        let mut timer = FlushTimer::new(ctx);
        loop {
            if ctx.is_cancelled() {
                return Err(TaskError::Cancelled);
            }
            let Some(value) = call_user(self.id, || generator(index)) else { break };
            chain.process(StreamRecord::new(value))?;
            timer.tick(&mut chain)?;
            index += step;
        }
        end_of_input(&mut chain)
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
        chain.open(ctx)?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            if (i as u64).is_multiple_of(CANCEL_CHECK_EVERY) {
                if ctx.is_cancelled() {
                    return Err(TaskError::Cancelled);
                }
                chain.on_processing_time(ctx.current_processing_time())?;
            }
            let line = line.map_err(|source| TaskError::Io {
                operator: ctx.operator_name(self.id),
                path: format!("{} (line {})", self.path.display(), i + 1),
                source,
            })?;
            chain.process(StreamRecord::new(line))?;
        }
        end_of_input(&mut chain)
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
    task: &'a TaskContext,
    operator_state: &'a mut OperatorStateStore,
    timer: FlushTimer,
    id: OperatorId,
    error: Option<TaskError>,
    idle: bool,
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
        self.send(true, |chain| chain.process(record))
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
        chain.open(ctx)?;
        enter_operator(self.id);
        let opened = function.open(&mut RuntimeContext::new(ctx, self.id, None, &mut operator_state));
        opened.map_err(|source| TaskError::User { operator: name.clone(), source })?;
        let mut source_ctx = SourceContext {
            chain: &mut chain,
            task: ctx,
            operator_state: &mut operator_state,
            timer: FlushTimer::new(ctx),
            id: self.id,
            error: None,
            idle: false,
        };
        let result = function.run(&mut source_ctx);
        if let Some(e) = source_ctx.error.take() {
            return Err(e);
        }
        let idle = source_ctx.idle;
        result.map_err(|source| TaskError::User { operator: name, source })?;
        if idle {
            // An ending source turns active so that its final watermark counts downstream.
            chain.process_watermark_status(WatermarkStatus::Active)?;
        }
        end_of_input(&mut chain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_splits_are_contiguous_and_complete() {
        let source = SequenceSource::new(-5, 20);
        let mut all = Vec::new();
        for i in 0..3 {
            all.extend(source.split(i, 3));
        }
        assert_eq!(all, (-5..=20).collect::<Vec<_>>());
        assert!(SequenceSource::new(3, 2).split(0, 1).is_empty());
        assert_eq!(SequenceSource::new(0, 1).split(2, 3).count(), 1);
    }
}
