//! Two-input operators for connected streams: `CoMapFunction`, `CoProcessFunction` and, on two
//! keyed streams, `KeyedCoProcessFunction` with state shared by both inputs for a key.
//!
//! A two-input operator heads its chain; the input gate feeds it the records of either side
//! and the combined watermark `min(input 1, input 2)`.

use std::marker::PhantomData;

use super::process::{SideOutputPort, forward_control_with_side_outputs, settle};
use super::side_output::SideOutputs;
use super::{Collector, Operator, OperatorId, OutputTag};
use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::keyed_state::open_keyed;
use crate::clock::Clock;
use crate::context::RuntimeContext;
use crate::data::Key;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::{TaskError, UserResult};
use crate::input::CoStage;
use crate::keygroup::assign_to_key_group;
use crate::state::{KeyedBackend, KeyedStateBackend, OperatorStateStore, VoidNamespace};
use crate::task::{TaskContext, enter_operator};
use crate::timer::{TimeDomain, Timer, TimerService};
use std::sync::Arc;

/// An operator with two inputs (it heads its chain); its control methods see the combined input.
pub trait TwoInputOperator<I1, I2> {
    /// Prepares the operator and its successors.
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError>;
    /// Processes a record of the first input.
    fn process1(&mut self, record: StreamRecord<I1>) -> Result<(), TaskError>;
    /// Processes a record of the second input.
    fn process2(&mut self, record: StreamRecord<I2>) -> Result<(), TaskError>;
    /// Processes the combined watermark of both inputs.
    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;
    /// Processes the combined status of both inputs.
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError>;
    /// Processing time is now `now` ms.
    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError>;
    /// Hands buffered output downstream.
    fn flush(&mut self) -> Result<(), TaskError>;
    /// Both inputs have ended.
    fn finish(&mut self) -> Result<(), TaskError>;
    /// See [`Operator::prepare_snapshot_pre_barrier`].
    fn prepare_snapshot_pre_barrier(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    /// See [`Operator::snapshot_state`].
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError>;
    /// See [`Operator::notify_checkpoint_complete`].
    fn notify_checkpoint_complete(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
    /// See [`Operator::notify_checkpoint_aborted`].
    fn notify_checkpoint_aborted(&mut self, checkpoint_id: u64) -> Result<(), TaskError>;
}

/// A map over connected streams: one function per input, one output type
/// (Flink's `CoMapFunction`).
pub trait CoMapFunction<I1, I2, O>: Clone + Send + 'static {
    /// Maps an element of the first input.
    fn map1(&mut self, value: I1) -> O;
    /// Maps an element of the second input.
    fn map2(&mut self, value: I2) -> O;
}

/// Context of [`CoProcessFunction`] calls.
pub struct CoProcessContext<'a> {
    side: SideOutputPort<'a>,
}

impl CoProcessContext<'_> {
    /// Emits `value` to the side output `tag`, with the current timestamp.
    pub fn output<T: Clone + 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        self.side.emit(tag, value);
    }
}

/// A process function over connected streams (Flink's `CoProcessFunction`).
pub trait CoProcessFunction<I1, I2, O>: Clone + Send + 'static {
    /// Called once per subtask before the first element.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Called for every element of the first input.
    fn process_element1(&mut self, value: I1, ctx: &mut CoProcessContext<'_>, out: &mut Collector<'_, O>)
    -> UserResult;
    /// Called for every element of the second input.
    fn process_element2(&mut self, value: I2, ctx: &mut CoProcessContext<'_>, out: &mut Collector<'_, O>)
    -> UserResult;
}

/// Context of [`KeyedCoProcessFunction`] calls: the current key, its state and timers (the
/// same as a [`KeyedContext`](super::KeyedContext)).
pub type KeyedCoProcessContext<'a, K> = super::KeyedContext<'a, K>;

/// A process function over two keyed streams with the same key type: both inputs see the same
/// keyed state for a key (Flink's `KeyedCoProcessFunction`).
pub trait KeyedCoProcessFunction<K, I1, I2, O>: Clone + Send + 'static {
    /// Called once per subtask before the first element; declare state here.
    fn open(&mut self, _ctx: &mut RuntimeContext<'_>) -> UserResult {
        Ok(())
    }
    /// Called for every element of the first input.
    fn process_element1(
        &mut self,
        value: I1,
        ctx: &mut KeyedCoProcessContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> UserResult;
    /// Called for every element of the second input.
    fn process_element2(
        &mut self,
        value: I2,
        ctx: &mut KeyedCoProcessContext<'_, K>,
        out: &mut Collector<'_, O>,
    ) -> UserResult;

    /// Called when a timer of the current key fires (see `KeyedProcessFunction::on_timer`).
    fn on_timer(
        &mut self,
        _timestamp: i64,
        _ctx: &mut KeyedCoProcessContext<'_, K>,
        _out: &mut Collector<'_, O>,
    ) -> UserResult {
        Ok(())
    }
}

/// Runs a [`CoMapFunction`].
pub struct CoMapOperator<F, O, N> {
    function: F,
    id: OperatorId,
    next: N,
    _out: PhantomData<fn(O)>,
}

impl<F, O, N> CoMapOperator<F, O, N> {
    pub(crate) fn new(function: F, id: OperatorId, next: N) -> Self {
        Self { function, id, next, _out: PhantomData }
    }
}

impl<I1, I2, O, F: CoMapFunction<I1, I2, O>, N: Operator<O>> TwoInputOperator<I1, I2> for CoMapOperator<F, O, N> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)
    }
    fn process1(&mut self, record: StreamRecord<I1>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let value = self.function.map1(record.value);
        self.next.process(StreamRecord { value, timestamp: record.timestamp })
    }
    fn process2(&mut self, record: StreamRecord<I2>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let value = self.function.map2(record.value);
        self.next.process(StreamRecord { value, timestamp: record.timestamp })
    }
    super::forward_control!(no_open);
}

/// Runs a [`CoProcessFunction`].
pub struct CoProcessOperator<F, O, N> {
    function: F,
    id: OperatorId,
    name: String,
    side: SideOutputs,
    operator_state: OperatorStateStore,
    next: N,
    _out: PhantomData<fn(O)>,
}

impl<F, O, N> CoProcessOperator<F, O, N> {
    pub(crate) fn new(function: F, id: OperatorId, next: N) -> Self {
        Self {
            function,
            id,
            name: String::new(),
            side: SideOutputs::default(),
            operator_state: OperatorStateStore::default(),
            next,
            _out: PhantomData,
        }
    }
}

impl<I1, I2, O, F: CoProcessFunction<I1, I2, O>, N: Operator<O>> TwoInputOperator<I1, I2>
    for CoProcessOperator<F, O, N>
{
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

    fn process1(&mut self, record: StreamRecord<I1>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let mut out = Collector::new(&mut self.next, record.timestamp, self.id);
        let mut ctx = CoProcessContext { side: SideOutputPort::new(&mut self.side, record.timestamp) };
        let result = self.function.process_element1(record.value, &mut ctx, &mut out);
        settle(result, out.take_error(), ctx.side.error, &self.name)
    }

    fn process2(&mut self, record: StreamRecord<I2>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let mut out = Collector::new(&mut self.next, record.timestamp, self.id);
        let mut ctx = CoProcessContext { side: SideOutputPort::new(&mut self.side, record.timestamp) };
        let result = self.function.process_element2(record.value, &mut ctx, &mut out);
        settle(result, out.take_error(), ctx.side.error, &self.name)
    }

    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        let state = self.operator_state.snapshot(snapshot.of(self.id));
        state.map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        self.side.barrier(barrier)?;
        self.next.snapshot_state(barrier, snapshot)
    }

    forward_control_with_side_outputs!();
    super::forward_checkpoint!(no_snapshot);
}

/// Runs a [`KeyedCoProcessFunction`].
pub struct KeyedCoProcessOperator<K, KS1, KS2, F, O, N> {
    key_selector1: KS1,
    key_selector2: KS2,
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
    _key: PhantomData<fn() -> (K, O)>,
}

impl<K: Key, KS1, KS2, F, O, N> KeyedCoProcessOperator<K, KS1, KS2, F, O, N> {
    pub(crate) fn new(key_selector1: KS1, key_selector2: KS2, function: F, id: OperatorId, next: N) -> Self {
        Self {
            key_selector1,
            key_selector2,
            function,
            id,
            name: String::new(),
            backend: KeyedBackend::placeholder(),
            timers: TimerService::default(),
            processing_timers: TimerService::default(),
            clock: Arc::new(crate::clock::SystemClock),
            side: SideOutputs::default(),
            operator_state: OperatorStateStore::default(),
            next,
            _key: PhantomData,
        }
    }

    /// The function, a context for `key` and the rest of the chain, borrowed apart.
    fn parts<'a>(
        &'a mut self,
        key: &'a K,
        key_group: u32,
        timestamp: Option<i64>,
        domain: Option<TimeDomain>,
    ) -> (&'a mut F, KeyedCoProcessContext<'a, K>, &'a mut N) {
        let ctx = KeyedCoProcessContext {
            key,
            key_group,
            backend: &mut self.backend,
            timers: &mut self.timers,
            processing_timers: &mut self.processing_timers,
            clock: self.clock.as_ref(),
            time_domain: domain,
            side: SideOutputPort::new(&mut self.side, timestamp),
        };
        (&mut self.function, ctx, &mut self.next)
    }

    fn fire<I1, I2>(&mut self, timer: Timer<K, VoidNamespace>, domain: TimeDomain) -> Result<(), TaskError>
    where
        F: KeyedCoProcessFunction<K, I1, I2, O>,
        N: Operator<O>,
    {
        enter_operator(self.id);
        let timestamp = (domain == TimeDomain::EventTime).then_some(timer.timestamp);
        let key_group = assign_to_key_group(&timer.key, self.backend.max_parallelism());
        let id = self.id;
        let (function, mut ctx, next) = self.parts(&timer.key, key_group, timestamp, Some(domain));
        let mut out = Collector::new(next, timestamp, id);
        let result = function.on_timer(timer.timestamp, &mut ctx, &mut out);
        let (collector_error, side_error) = (out.take_error(), ctx.side.error.take());
        settle(result, collector_error, side_error, &self.name)
    }
}

impl<K, I1, I2, O, KS1, KS2, F, N> TwoInputOperator<I1, I2> for KeyedCoProcessOperator<K, KS1, KS2, F, O, N>
where
    K: Key,
    KS1: Fn(&I1) -> K,
    KS2: Fn(&I2) -> K,
    F: KeyedCoProcessFunction<K, I1, I2, O>,
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

    fn process1(&mut self, record: StreamRecord<I1>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let key = (self.key_selector1)(&record.value);
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        let id = self.id;
        let (function, mut ctx, next) = self.parts(&key, key_group, record.timestamp, None);
        let mut out = Collector::new(next, record.timestamp, id);
        let result = function.process_element1(record.value, &mut ctx, &mut out);
        let (collector_error, side_error) = (out.take_error(), ctx.side.error.take());
        settle(result, collector_error, side_error, &self.name)
    }

    fn process2(&mut self, record: StreamRecord<I2>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let key = (self.key_selector2)(&record.value);
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        let id = self.id;
        let (function, mut ctx, next) = self.parts(&key, key_group, record.timestamp, None);
        let mut out = Collector::new(next, record.timestamp, id);
        let result = function.process_element2(record.value, &mut ctx, &mut out);
        let (collector_error, side_error) = (out.take_error(), ctx.side.error.take());
        settle(result, collector_error, side_error, &self.name)
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.timers.advance_watermark(watermark.0);
        while let Some(timer) = self.timers.poll_due() {
            self.fire::<I1, I2>(timer, TimeDomain::EventTime)?;
        }
        self.side.watermark(watermark)?;
        self.next.process_watermark(watermark)
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.side.status(status)?;
        self.next.process_watermark_status(status)
    }

    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
        self.processing_timers.advance_watermark(now);
        while let Some(timer) = self.processing_timers.poll_due() {
            self.fire::<I1, I2>(timer, TimeDomain::ProcessingTime)?;
        }
        self.next.on_processing_time(now)
    }

    super::keyed_function_end!();

    super::forward_checkpoint!(no_snapshot);
}

macro_rules! co_stage {
    ($(#[$doc:meta])* $stage:ident { $($field:ident: $ty:ident),* }) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $stage<$($ty,)* F> {
            $($field: $ty,)*
            function: F,
            id: OperatorId,
        }

        impl<$($ty,)* F> $stage<$($ty,)* F> {
            /// The stage of operator `id` running `function`.
            pub fn new($($field: $ty,)* function: F, id: OperatorId) -> Self {
                Self { $($field,)* function, id }
            }
        }
    };
}

co_stage!(
    /// The stage of a `connect(..).map(..)` operator.
    CoMapStage {}
);
co_stage!(
    /// The stage of a `connect(..).process(..)` operator.
    CoProcessStage {}
);
co_stage!(
    /// The stage of a keyed `connect(..).process(..)` operator.
    KeyedCoProcessStage { key_selector1: KS1, key_selector2: KS2 }
);

impl<I1, I2, O, F> CoStage<I1, I2, O> for CoMapStage<F>
where
    I1: 'static,
    I2: 'static,
    O: 'static,
    F: CoMapFunction<I1, I2, O>,
{
    type Built<N: Operator<O>> = CoMapOperator<F, O, N>;
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N> {
        CoMapOperator::new(self.function, self.id, next)
    }
}

impl<I1, I2, O, F> CoStage<I1, I2, O> for CoProcessStage<F>
where
    I1: 'static,
    I2: 'static,
    O: 'static,
    F: CoProcessFunction<I1, I2, O>,
{
    type Built<N: Operator<O>> = CoProcessOperator<F, O, N>;
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N> {
        CoProcessOperator::new(self.function, self.id, next)
    }
}

impl<K, I1, I2, O, KS1, KS2, F> CoStage<I1, I2, O> for KeyedCoProcessStage<KS1, KS2, F>
where
    K: Key,
    I1: 'static,
    I2: 'static,
    O: 'static,
    KS1: Fn(&I1) -> K + Clone + Send + 'static,
    KS2: Fn(&I2) -> K + Clone + Send + 'static,
    F: KeyedCoProcessFunction<K, I1, I2, O>,
{
    type Built<N: Operator<O>> = KeyedCoProcessOperator<K, KS1, KS2, F, O, N>;
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N> {
        KeyedCoProcessOperator::new(self.key_selector1, self.key_selector2, self.function, self.id, next)
    }
}
