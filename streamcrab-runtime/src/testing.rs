//! Operator test harnesses (as Flink's `OneInputStreamOperatorTestHarness` and
//! `KeyedOneInputStreamOperatorTestHarness`): feed scripted elements into one operator and
//! inspect everything it emitted, side outputs included, without running a job.
//!
//! ```
//! use streamcrab_runtime::testing::OneInputHarness;
//!
//! let mut harness = OneInputHarness::for_map(|x: i32| x + 1);
//! harness.process_element(1).unwrap();
//! harness.end_input().unwrap();
//! assert_eq!(harness.values(), vec![2]);
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use crate::checkpoint::TaskSnapshot;
use crate::clock::{Clock, ManualClock};
use crate::data::{Data, Key};
use crate::element::{CheckpointBarrier, StreamElement, StreamRecord, Watermark, WatermarkStatus};
use crate::error::TaskError;
use crate::operator::side_output::erase_side_output;
use crate::operator::{
    KeyedProcessFunction, KeyedProcessStage, MapStage, Operator, OperatorId, OutputTag, ProcessFunction, ProcessStage,
    ReduceStage, Stage,
};
use crate::task::{TaskContext, run_task};

/// Records every element it receives.
struct Recorder<T> {
    elements: Arc<Mutex<Vec<StreamElement<T>>>>,
}

impl<T> Recorder<T> {
    fn push(&self, element: StreamElement<T>) {
        self.elements.lock().unwrap_or_else(PoisonError::into_inner).push(element);
    }
}

impl<T> Operator<T> for Recorder<T> {
    fn open(&mut self, _ctx: &mut TaskContext) -> Result<(), TaskError> {
        Ok(())
    }
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        self.push(StreamElement::Record(record));
        Ok(())
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.push(StreamElement::Watermark(watermark));
        Ok(())
    }
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.push(StreamElement::WatermarkStatus(status));
        Ok(())
    }
    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), TaskError> {
        self.push(StreamElement::End);
        Ok(())
    }
    fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, _snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        self.push(StreamElement::Barrier(barrier));
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Drives one operator (the stage it was built from) with scripted input.
pub struct OneInputHarness<In, Out, Op> {
    operator: Op,
    _input: std::marker::PhantomData<fn(In)>,
    output: Arc<Mutex<Vec<StreamElement<Out>>>>,
    side_outputs: HashMap<String, Box<dyn Any>>,
    ctx: TaskContext,
    clock: ManualClock,
    opened: bool,
}

const OPERATOR: OperatorId = OperatorId(0);

/// Constructors (the operator type is chosen by the stage).
impl<In: 'static, Out: Send + 'static> OneInputHarness<In, Out, ()> {
    /// A harness for the operator `stage` builds (as subtask 0 of 1, max parallelism 128). The
    /// stage must use operator id `OperatorId(0)`.
    pub fn new<S: Stage<In, Out>>(name: &str, stage: S) -> OneInputHarness<In, Out, impl Operator<In>> {
        let output = Arc::new(Mutex::new(Vec::new()));
        let recorder: Box<dyn Operator<Out>> = Box::new(Recorder { elements: output.clone() });
        let mut ctx = TaskContext::standalone(name, 0, 1, 128);
        ctx.operator_names = Arc::from(vec![name.to_string()]);
        let clock = ManualClock::new(0);
        ctx.clock = Arc::new(clock.clone());
        OneInputHarness {
            operator: stage.build(recorder),
            _input: std::marker::PhantomData,
            output,
            side_outputs: HashMap::new(),
            ctx,
            clock,
            opened: false,
        }
    }
}

impl<In: 'static, Out: 'static, Op: Operator<In>> OneInputHarness<In, Out, Op> {
    /// Runs the operator as subtask `index` of `parallelism` with `max_parallelism` key groups.
    /// Call before the first element.
    pub fn with_subtask(mut self, index: u32, parallelism: u32, max_parallelism: u32) -> Self {
        self.ctx.subtask_index = index;
        self.ctx.parallelism = parallelism;
        self.ctx.max_parallelism = max_parallelism;
        self
    }

    /// Keeps keyed state in `backend` (default: the heap). Call before the first element.
    pub fn with_state_backend(mut self, backend: crate::state::StateBackend) -> Self {
        self.ctx.state_backend = Arc::new(backend);
        self
    }

    /// Collects the side output `tag`. Call before the first element.
    pub fn with_side_output<S: Clone + Send + 'static>(mut self, tag: &OutputTag<S>) -> Self {
        let records: Arc<Mutex<Vec<StreamElement<S>>>> = Arc::new(Mutex::new(Vec::new()));
        let shared = records.clone();
        self.ctx.add_side_output(
            OPERATOR,
            tag.name(),
            Arc::new(move |_ctx, _edge| {
                let recorder: Box<dyn Operator<S>> = Box::new(Recorder { elements: shared.clone() });
                Ok(erase_side_output(recorder))
            }),
        );
        self.side_outputs.insert(tag.name().to_string(), Box::new(records));
        self
    }

    fn run(&mut self, f: impl FnOnce(&mut Op) -> Result<(), TaskError>) -> Result<(), TaskError> {
        let operator = &mut self.operator;
        let opened = &mut self.opened;
        run_task(&mut self.ctx, |ctx| {
            if !*opened {
                *opened = true;
                operator.open(ctx)?;
            }
            f(operator)
        })
    }

    /// Feeds a record without timestamp.
    pub fn process_element(&mut self, value: In) -> Result<(), TaskError> {
        self.run(|op| op.process(StreamRecord::new(value)))
    }

    /// Feeds a record with event timestamp `timestamp`.
    pub fn process_element_at(&mut self, value: In, timestamp: i64) -> Result<(), TaskError> {
        self.run(|op| op.process(StreamRecord::with_timestamp(value, timestamp)))
    }

    /// Feeds a watermark.
    pub fn process_watermark(&mut self, watermark: i64) -> Result<(), TaskError> {
        self.run(|op| op.process_watermark(Watermark(watermark)))
    }

    /// Feeds a watermark status.
    pub fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.run(|op| op.process_watermark_status(status))
    }

    /// Moves the harness's processing-time clock (it starts at 0) to `time` ms and lets the
    /// operator fire what became due (Flink's `setProcessingTime`).
    pub fn set_processing_time(&mut self, time: i64) -> Result<(), TaskError> {
        self.clock.set(time);
        let now = self.clock.now_millis();
        self.run(|op| op.on_processing_time(now))
    }

    /// Ends the input (as a bounded source does: watermark `i64::MAX`, then the end).
    pub fn end_input(&mut self) -> Result<(), TaskError> {
        self.run(|op| {
            op.process_watermark(Watermark::MAX)?;
            op.finish()
        })
    }

    /// Everything the operator emitted on its main output so far, in order.
    pub fn output(&self) -> Vec<StreamElement<Out>>
    where
        Out: Clone,
    {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The records emitted on the main output so far.
    pub fn records(&self) -> Vec<StreamRecord<Out>>
    where
        Out: Clone,
    {
        records_of(&self.output())
    }

    /// The values emitted on the main output so far.
    pub fn values(&self) -> Vec<Out>
    where
        Out: Clone,
    {
        self.records().into_iter().map(|r| r.value).collect()
    }

    /// The records emitted to side output `tag` (empty unless registered with
    /// [`with_side_output`](Self::with_side_output)).
    pub fn side_output<S: Clone + 'static>(&self, tag: &OutputTag<S>) -> Vec<StreamRecord<S>> {
        self.side_outputs
            .get(tag.name())
            .and_then(|b| b.downcast_ref::<Arc<Mutex<Vec<StreamElement<S>>>>>())
            .map(|r| records_of(&r.lock().unwrap_or_else(PoisonError::into_inner)))
            .unwrap_or_default()
    }
}

fn records_of<T: Clone>(elements: &[StreamElement<T>]) -> Vec<StreamRecord<T>> {
    elements
        .iter()
        .filter_map(|e| match e {
            StreamElement::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

impl<In: Data, Out: Data> OneInputHarness<In, Out, ()> {
    /// A harness for a `map` with `f`.
    pub fn for_map<F: FnMut(In) -> Out + Clone + Send + 'static>(f: F) -> OneInputHarness<In, Out, impl Operator<In>> {
        Self::new("Map", MapStage::new(f, OPERATOR))
    }

    /// A harness for a [`ProcessFunction`].
    pub fn for_process<F: ProcessFunction<In, Out>>(function: F) -> OneInputHarness<In, Out, impl Operator<In>> {
        Self::new("Process", ProcessStage::new(function, OPERATOR))
    }
}

/// A harness for keyed operators: the input is keyed by a key selector, and keyed state is
/// kept per key exactly as in a job.
pub struct KeyedOneInputHarness<In, Out, Op> {
    inner: OneInputHarness<In, Out, Op>,
}

impl<In: Data, Out: Data> KeyedOneInputHarness<In, Out, ()> {
    /// A harness for a [`KeyedProcessFunction`] keyed by `key_selector`.
    pub fn for_keyed_process<K, KS, F>(
        key_selector: KS,
        function: F,
    ) -> KeyedOneInputHarness<In, Out, impl Operator<In>>
    where
        K: Key,
        KS: Fn(&In) -> K + Clone + Send + 'static,
        F: KeyedProcessFunction<K, In, Out>,
    {
        KeyedOneInputHarness {
            inner: OneInputHarness::new("KeyedProcess", KeyedProcessStage::new(key_selector, function, OPERATOR)),
        }
    }
}

impl<In: Data, Out: Data, Op: Operator<In>> KeyedOneInputHarness<In, Out, Op> {
    /// Runs the operator as subtask `index` of `parallelism` with `max_parallelism` key groups.
    pub fn with_subtask(self, index: u32, parallelism: u32, max_parallelism: u32) -> Self {
        Self { inner: self.inner.with_subtask(index, parallelism, max_parallelism) }
    }

    /// Collects the side output `tag`. Call before the first element.
    pub fn with_side_output<S: Clone + Send + 'static>(self, tag: &OutputTag<S>) -> Self {
        Self { inner: self.inner.with_side_output(tag) }
    }

    /// Keeps keyed state in `backend` (default: the heap). Call before the first element.
    pub fn with_state_backend(self, backend: crate::state::StateBackend) -> Self {
        Self { inner: self.inner.with_state_backend(backend) }
    }
}

impl<T: Data + crate::state::StateValue> KeyedOneInputHarness<T, T, ()> {
    /// A harness for a rolling `reduce` keyed by `key_selector`.
    pub fn for_reduce<K, KS, F>(key_selector: KS, reduce: F) -> KeyedOneInputHarness<T, T, impl Operator<T>>
    where
        K: Key,
        KS: Fn(&T) -> K + Clone + Send + 'static,
        F: FnMut(T, T) -> T + Clone + Send + 'static,
    {
        KeyedOneInputHarness {
            inner: OneInputHarness::new("Keyed Reduce", ReduceStage::new(key_selector, reduce, OPERATOR)),
        }
    }
}

impl<In, Out, Op> Deref for KeyedOneInputHarness<In, Out, Op> {
    type Target = OneInputHarness<In, Out, Op>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl<In, Out, Op> DerefMut for KeyedOneInputHarness<In, Out, Op> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}
