//! `process`: user functions with a collector, side outputs and (on keyed streams) keyed state.

use std::marker::PhantomData;

use super::side_output::SideOutputs;
use super::{Operator, OperatorId, OutputTag, Stage, forward_checkpoint};
use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::keyed_state::open_keyed;
use crate::clock::Clock;
use crate::context::RuntimeContext;
use crate::data::Key;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::{TaskError, UserResult};
use crate::keygroup::assign_to_key_group;
use crate::state::{KeyedBackend, KeyedStateAccess, KeyedStateBackend, OperatorStateStore, StateScope, VoidNamespace};
use crate::task::{TaskContext, enter_operator};
use crate::timer::{TimeDomain, Timer, TimerService};
use std::sync::Arc;

/// Hands a function's outputs to the rest of the chain. Records keep the input's timestamp
/// unless emitted with [`Collector::collect_with_timestamp`].
pub struct Collector<'a, O> {
    next: &'a mut dyn Operator<O>,
    timestamp: Option<i64>,
    operator: OperatorId,
    error: Option<TaskError>,
}

impl<'a, O> Collector<'a, O> {
    pub(crate) fn new(next: &'a mut dyn Operator<O>, timestamp: Option<i64>, operator: OperatorId) -> Self {
        Self { next, timestamp, operator, error: None }
    }

    /// Emits `value` with the current timestamp.
    pub fn collect(&mut self, value: O) {
        self.emit(StreamRecord { value, timestamp: self.timestamp });
    }

    /// Emits `value` with event timestamp `timestamp`.
    pub fn collect_with_timestamp(&mut self, value: O, timestamp: i64) {
        self.emit(StreamRecord::with_timestamp(value, timestamp));
    }

    fn emit(&mut self, record: StreamRecord<O>) {
        if self.error.is_none()
            && let Err(e) = self.next.process(record)
        {
            self.error = Some(e);
        }
        enter_operator(self.operator);
    }

    pub(crate) fn take_error(&mut self) -> Option<TaskError> {
        self.error.take()
    }
}

/// Emission to side outputs, shared by the contexts of process functions.
pub(crate) struct SideOutputPort<'a> {
    outputs: &'a mut SideOutputs,
    timestamp: Option<i64>,
    pub(crate) error: Option<TaskError>,
}

impl<'a> SideOutputPort<'a> {
    pub(crate) fn new(outputs: &'a mut SideOutputs, timestamp: Option<i64>) -> Self {
        Self { outputs, timestamp, error: None }
    }

    pub(crate) fn emit<T: Clone + 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        if self.error.is_none()
            && let Err(e) = self.outputs.emit(tag, StreamRecord { value, timestamp: self.timestamp })
        {
            self.error = Some(e);
        }
    }
}

/// Context of [`ProcessFunction::process_element`].
pub struct ProcessContext<'a> {
    side: SideOutputPort<'a>,
}

impl ProcessContext<'_> {
    /// Event timestamp of the current record, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.side.timestamp
    }

    /// Emits `value` to the side output `tag`, with the current timestamp.
    pub fn output<T: Clone + 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        self.side.emit(tag, value);
    }
}

/// A low-level function on a (non-keyed) stream: any number of outputs and side outputs per
/// input (Flink's `ProcessFunction`).
pub trait ProcessFunction<I, O>: Clone + Send + 'static {
    /// Called once per subtask before the first element.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Called for every element.
    fn process_element(&mut self, value: I, ctx: &mut ProcessContext<'_>, out: &mut Collector<'_, O>) -> UserResult;
}

/// Context of [`KeyedProcessFunction::process_element`]: the current key and its state.
pub struct KeyedContext<'a, K> {
    pub(crate) key: &'a K,
    pub(crate) key_group: u32,
    pub(crate) backend: &'a mut KeyedBackend<K>,
    pub(crate) timers: &'a mut TimerService<K, VoidNamespace>,
    pub(crate) processing_timers: &'a mut TimerService<K, VoidNamespace>,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) time_domain: Option<TimeDomain>,
    pub(crate) side: SideOutputPort<'a>,
}

impl<K: Key> KeyedContext<'_, K> {
    /// The key of the current record.
    pub fn current_key(&self) -> &K {
        self.key
    }

    /// Event timestamp of the current record, if it has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.side.timestamp
    }

    /// Emits `value` to the side output `tag`, with the current timestamp.
    pub fn output<T: Clone + 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        self.side.emit(tag, value);
    }

    /// The operator's current event-time watermark.
    pub fn current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    /// Registers an event-time timer for the current key at `timestamp`: `on_timer` runs once
    /// the watermark reaches it (once per key and timestamp, however often registered).
    pub fn register_event_time_timer(&mut self, timestamp: i64) {
        self.timers.register(self.key, &VoidNamespace, timestamp);
    }

    /// Deletes the current key's event-time timer at `timestamp`, if any.
    pub fn delete_event_time_timer(&mut self, timestamp: i64) {
        self.timers.delete(self.key, &VoidNamespace, timestamp);
    }

    /// The job's processing time in ms.
    pub fn current_processing_time(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Registers a processing-time timer for the current key: `on_timer` runs once the job's
    /// clock reaches `timestamp`; what it emits carries no timestamp.
    pub fn register_processing_time_timer(&mut self, timestamp: i64) {
        self.processing_timers.register(self.key, &VoidNamespace, timestamp);
    }

    /// Deletes the current key's processing-time timer at `timestamp`, if any.
    pub fn delete_processing_time_timer(&mut self, timestamp: i64) {
        self.processing_timers.delete(self.key, &VoidNamespace, timestamp);
    }

    /// In `on_timer`: which kind of timer fired (`None` in `process_element`).
    pub fn time_domain(&self) -> Option<TimeDomain> {
        self.time_domain
    }
}

impl<K: Key> KeyedStateAccess for KeyedContext<'_, K> {
    type Key = K;
    fn state_scope(&mut self) -> StateScope<'_, K> {
        StateScope::new(self.backend, self.key, self.key_group, self.clock)
    }
}

/// A process function on a keyed stream, with keyed state of the current key
/// (Flink's `KeyedProcessFunction`).
pub trait KeyedProcessFunction<K, I, O>: Clone + Send + 'static {
    /// Called once per subtask before the first element; declare state here.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Called for every element, with the element's key as current key.
    fn process_element(&mut self, value: I, ctx: &mut KeyedContext<'_, K>, out: &mut Collector<'_, O>) -> UserResult;

    /// Called when a timer of the current key fires (`ctx.time_domain()` says which kind). For
    /// event-time timers, `ctx.timestamp()` and the timestamp of what it emits are the timer's
    /// timestamp; processing-time output carries no timestamp.
    fn on_timer(&mut self, _timestamp: i64, _ctx: &mut KeyedContext<'_, K>, _out: &mut Collector<'_, O>) -> UserResult {
        Ok(())
    }
}

/// The stage of a `process` operator.
pub struct ProcessStage<F, I> {
    function: F,
    id: OperatorId,
    _input: PhantomData<fn(I)>,
}

impl<F: Clone, I> Clone for ProcessStage<F, I> {
    fn clone(&self) -> Self {
        Self { function: self.function.clone(), id: self.id, _input: PhantomData }
    }
}

impl<F, I> ProcessStage<F, I> {
    /// The stage of operator `id` running `function`.
    pub fn new(function: F, id: OperatorId) -> Self {
        Self { function, id, _input: PhantomData }
    }
}

/// Runs a [`ProcessFunction`].
pub struct ProcessOperator<F, O, N> {
    function: F,
    id: OperatorId,
    name: String,
    side: SideOutputs,
    operator_state: OperatorStateStore,
    next: N,
    _out: PhantomData<fn(O)>,
}

impl<I: 'static, O, F: ProcessFunction<I, O>> Stage<I, O> for ProcessStage<F, I> {
    type Built<N: Operator<O>> = ProcessOperator<F, O, N>;
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N> {
        ProcessOperator {
            function: self.function,
            id: self.id,
            name: String::new(),
            side: SideOutputs::default(),
            operator_state: OperatorStateStore::default(),
            next,
            _out: PhantomData,
        }
    }
}

/// Turns the outcome of one user call into the operator's result: downstream errors first.
pub(crate) fn settle(
    result: UserResult,
    collector_error: Option<TaskError>,
    side_error: Option<TaskError>,
    operator: &str,
) -> Result<(), TaskError> {
    if let Some(e) = collector_error.or(side_error) {
        return Err(e);
    }
    result.map_err(|source| TaskError::User { operator: operator.to_string(), source })
}

/// Implements the control methods of an operator with side outputs in `self.side`.
macro_rules! forward_control_with_side_outputs {
    () => {
        fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
            self.side.watermark(watermark)?;
            self.next.process_watermark(watermark)
        }
        fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
            self.side.status(status)?;
            self.next.process_watermark_status(status)
        }
        fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
            self.next.on_processing_time(now)
        }
        fn flush(&mut self) -> Result<(), TaskError> {
            self.side.flush()?;
            self.next.flush()
        }
        fn finish(&mut self) -> Result<(), TaskError> {
            self.side.finish()?;
            self.next.finish()
        }
    };
}
pub(crate) use forward_control_with_side_outputs;

impl<I, O, F: ProcessFunction<I, O>, N: Operator<O>> Operator<I> for ProcessOperator<F, O, N> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)?;
        self.name = ctx.operator_name(self.id);
        self.side = SideOutputs::open(self.id, ctx)?;
        if let Some(restored) = ctx.restored_state(self.id) {
            self.operator_state.restore(restored.lists);
        }
        enter_operator(self.id);
        let mut runtime = RuntimeContext::new(ctx, self.id, None, &mut self.operator_state);
        let result = self.function.open(&mut runtime);
        settle(result, None, None, &self.name)
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let mut out = Collector::new(&mut self.next, record.timestamp, self.id);
        let mut ctx = ProcessContext { side: SideOutputPort::new(&mut self.side, record.timestamp) };
        let result = self.function.process_element(record.value, &mut ctx, &mut out);
        settle(result, out.take_error(), ctx.side.error, &self.name)
    }

    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        let state = self.operator_state.snapshot(snapshot.of(self.id));
        state.map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        self.side.barrier(barrier)?;
        self.next.snapshot_state(barrier, snapshot)
    }

    forward_control_with_side_outputs!();
    forward_checkpoint!(no_snapshot);
}

/// The stage of a keyed `process` operator.
pub struct KeyedProcessStage<KS, F, I> {
    key_selector: KS,
    function: F,
    id: OperatorId,
    _input: PhantomData<fn(I)>,
}

impl<KS: Clone, F: Clone, I> Clone for KeyedProcessStage<KS, F, I> {
    fn clone(&self) -> Self {
        Self {
            key_selector: self.key_selector.clone(),
            function: self.function.clone(),
            id: self.id,
            _input: PhantomData,
        }
    }
}

impl<KS, F, I> KeyedProcessStage<KS, F, I> {
    /// The stage of operator `id`, keyed by `key_selector`, running `function`.
    pub fn new(key_selector: KS, function: F, id: OperatorId) -> Self {
        Self { key_selector, function, id, _input: PhantomData }
    }
}

/// Runs a [`KeyedProcessFunction`] with the job's keyed-state backend.
pub struct KeyedProcessOperator<K, KS, F, O, N> {
    key_selector: KS,
    function: F,
    id: OperatorId,
    name: String,
    backend: KeyedBackend<K>,
    timers: TimerService<K, VoidNamespace>,
    processing_timers: TimerService<K, VoidNamespace>,
    clock: Arc<dyn Clock>,
    side: SideOutputs,
    operator_state: OperatorStateStore,
    next: N,
    _out: PhantomData<fn(O)>,
}

impl<K, I, O, KS, F> Stage<I, O> for KeyedProcessStage<KS, F, I>
where
    K: Key,
    I: 'static,
    KS: Fn(&I) -> K + Clone + Send + 'static,
    F: KeyedProcessFunction<K, I, O>,
{
    type Built<N: Operator<O>> = KeyedProcessOperator<K, KS, F, O, N>;
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N> {
        KeyedProcessOperator {
            key_selector: self.key_selector,
            function: self.function,
            id: self.id,
            name: String::new(),
            backend: KeyedBackend::placeholder(),
            timers: TimerService::default(),
            processing_timers: TimerService::default(),
            clock: Arc::new(crate::clock::SystemClock),
            side: SideOutputs::default(),
            operator_state: OperatorStateStore::default(),
            next,
            _out: PhantomData,
        }
    }
}

impl<K: Key, KS, F, O, N: Operator<O>> KeyedProcessOperator<K, KS, F, O, N> {
    /// Runs `on_timer` for a due timer: event-time output carries the timer's timestamp,
    /// processing-time output none (Flink's `KeyedProcessOperator`).
    fn fire<I>(&mut self, timer: Timer<K, VoidNamespace>, domain: TimeDomain) -> Result<(), TaskError>
    where
        F: KeyedProcessFunction<K, I, O>,
    {
        enter_operator(self.id);
        let timestamp = (domain == TimeDomain::EventTime).then_some(timer.timestamp);
        let key_group = assign_to_key_group(&timer.key, self.backend.max_parallelism());
        let mut out = Collector::new(&mut self.next, timestamp, self.id);
        let mut ctx = KeyedContext {
            key: &timer.key,
            key_group,
            backend: &mut self.backend,
            timers: &mut self.timers,
            processing_timers: &mut self.processing_timers,
            clock: self.clock.as_ref(),
            time_domain: Some(domain),
            side: SideOutputPort::new(&mut self.side, timestamp),
        };
        let result = self.function.on_timer(timer.timestamp, &mut ctx, &mut out);
        settle(result, out.take_error(), ctx.side.error, &self.name)
    }
}

impl<K, I, O, KS, F, N> Operator<I> for KeyedProcessOperator<K, KS, F, O, N>
where
    K: Key,
    KS: Fn(&I) -> K,
    F: KeyedProcessFunction<K, I, O>,
    N: Operator<O>,
{
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)?;
        self.name = ctx.operator_name(self.id);
        let timers = (&mut self.timers, &mut self.processing_timers);
        self.backend = open_keyed(ctx, self.id, &self.name, timers, Some(&mut self.operator_state))?;
        self.clock = ctx.clock();
        self.side = SideOutputs::open(self.id, ctx)?;
        enter_operator(self.id);
        let mut runtime = RuntimeContext::new(ctx, self.id, Some(self.backend.registry()), &mut self.operator_state);
        let result = self.function.open(&mut runtime);
        settle(result, None, None, &self.name)
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<I>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let key = (self.key_selector)(&record.value);
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        let mut out = Collector::new(&mut self.next, record.timestamp, self.id);
        let mut ctx = KeyedContext {
            key: &key,
            key_group,
            backend: &mut self.backend,
            timers: &mut self.timers,
            processing_timers: &mut self.processing_timers,
            clock: self.clock.as_ref(),
            time_domain: None,
            side: SideOutputPort::new(&mut self.side, record.timestamp),
        };
        let result = self.function.process_element(record.value, &mut ctx, &mut out);
        settle(result, out.take_error(), ctx.side.error, &self.name)
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.timers.advance_watermark(watermark.0);
        while let Some(timer) = self.timers.poll_due() {
            self.fire::<I>(timer, TimeDomain::EventTime)?;
        }
        self.side.watermark(watermark)?;
        self.next.process_watermark(watermark)
    }

    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
        self.processing_timers.advance_watermark(now);
        while let Some(timer) = self.processing_timers.poll_due() {
            self.fire::<I>(timer, TimeDomain::ProcessingTime)?;
        }
        self.next.on_processing_time(now)
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.side.status(status)?;
        self.next.process_watermark_status(status)
    }

    super::keyed_function_end!();

    forward_checkpoint!(no_snapshot);
}
