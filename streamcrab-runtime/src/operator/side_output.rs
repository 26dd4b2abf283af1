//! Side outputs (`OutputTag`): extra, differently typed outputs of a process function.
//!
//! An operator resolves its consumed side outputs when it opens. A tag nobody consumes is not
//! wired and its records are dropped, as in Flink. Side outputs receive the operator's
//! watermarks and its end of input like the main output.

use std::any::Any;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use super::{Operator, OperatorId};
use crate::checkpoint::TaskSnapshot;
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::TaskError;
use crate::task::TaskContext;

/// Names a side output of element type `T`.
pub struct OutputTag<T> {
    name: Arc<str>,
    _type: PhantomData<fn() -> T>,
}

impl<T> OutputTag<T> {
    /// The tag called `name` (unique per operator).
    pub fn new(name: &str) -> Self {
        Self { name: Arc::from(name), _type: PhantomData }
    }

    /// The tag's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T> Clone for OutputTag<T> {
    fn clone(&self) -> Self {
        Self { name: self.name.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for OutputTag<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputTag({})", self.name)
    }
}

/// A side-output writer with its element type erased.
pub(crate) trait ErasedSideOutput {
    fn writer(&mut self) -> &mut dyn Any;
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError>;
    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError>;
    fn status(&mut self, status: WatermarkStatus) -> Result<(), TaskError>;
    fn flush(&mut self) -> Result<(), TaskError>;
    fn finish(&mut self) -> Result<(), TaskError>;
    fn barrier(&mut self, barrier: CheckpointBarrier) -> Result<(), TaskError>;
}

/// A typed side-output writer.
pub(crate) struct TypedSideOutput<T>(pub(crate) Box<dyn Operator<T>>);

impl<T: 'static> ErasedSideOutput for TypedSideOutput<T> {
    fn writer(&mut self) -> &mut dyn Any {
        &mut self.0
    }
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.0.open(ctx)
    }
    fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.0.process_watermark(watermark)
    }
    fn status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.0.process_watermark_status(status)
    }
    fn flush(&mut self) -> Result<(), TaskError> {
        self.0.flush()
    }
    fn finish(&mut self) -> Result<(), TaskError> {
        self.0.finish()
    }
    fn barrier(&mut self, barrier: CheckpointBarrier) -> Result<(), TaskError> {
        // A side-output writer has no state of its own: it only forwards the barrier.
        self.0.snapshot_state(barrier, &mut TaskSnapshot::default())
    }
}

/// The consumed side outputs of one operator instance.
#[derive(Default)]
pub struct SideOutputs {
    operator: String,
    outputs: HashMap<String, Vec<Box<dyn ErasedSideOutput>>>,
}

impl SideOutputs {
    /// Wires the side outputs of operator `id` that the job consumes.
    pub(crate) fn open(id: OperatorId, ctx: &mut TaskContext) -> Result<Self, TaskError> {
        let mut outputs: HashMap<String, Vec<Box<dyn ErasedSideOutput>>> = HashMap::new();
        let targets: Vec<_> = ctx.side_outputs.iter().filter(|t| t.operator == id).cloned().collect();
        for target in targets {
            let mut writer = (target.make)(ctx, target.edge)?;
            let erased =
                writer.downcast_mut::<Option<Box<dyn ErasedSideOutput>>>().and_then(Option::take).ok_or_else(|| {
                    TaskError::SideOutputType { operator: ctx.operator_name(id), tag: target.tag.clone() }
                })?;
            outputs.entry(target.tag).or_default().push(erased);
        }
        for writer in outputs.values_mut().flatten() {
            writer.open(ctx)?;
        }
        Ok(Self { operator: ctx.operator_name(id), outputs })
    }

    /// Emits `record` to side output `tag` (dropped if nothing consumes it).
    pub fn emit<T: Clone + 'static>(&mut self, tag: &OutputTag<T>, record: StreamRecord<T>) -> Result<(), TaskError> {
        let Some(writers) = self.outputs.get_mut(tag.name()) else { return Ok(()) };
        let (last, rest) = writers.split_last_mut().expect("a wired tag has a writer");
        for writer in rest {
            Self::typed(writer.as_mut(), &self.operator, tag)?.process(record.clone())?;
        }
        Self::typed(last.as_mut(), &self.operator, tag)?.process(record)
    }

    fn typed<'w, T: 'static>(
        writer: &'w mut dyn ErasedSideOutput,
        operator: &str,
        tag: &OutputTag<T>,
    ) -> Result<&'w mut Box<dyn Operator<T>>, TaskError> {
        writer
            .writer()
            .downcast_mut::<Box<dyn Operator<T>>>()
            .ok_or_else(|| TaskError::SideOutputType { operator: operator.to_string(), tag: tag.name().to_string() })
    }

    fn for_each(
        &mut self,
        mut f: impl FnMut(&mut dyn ErasedSideOutput) -> Result<(), TaskError>,
    ) -> Result<(), TaskError> {
        self.outputs.values_mut().flatten().try_for_each(|w| f(w.as_mut()))
    }

    /// Forwards a watermark to every side output.
    pub fn watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.for_each(|w| w.watermark(watermark))
    }

    /// Forwards a status change to every side output.
    pub fn status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.for_each(|w| w.status(status))
    }

    /// Flushes every side output.
    pub fn flush(&mut self) -> Result<(), TaskError> {
        self.for_each(|w| w.flush())
    }

    /// Ends every side output.
    pub fn finish(&mut self) -> Result<(), TaskError> {
        self.for_each(|w| w.finish())
    }

    /// Forwards a checkpoint barrier to every side output.
    pub fn barrier(&mut self, barrier: CheckpointBarrier) -> Result<(), TaskError> {
        self.for_each(|w| w.barrier(barrier))
    }
}

/// Makes a [`SideOutputFactory`](crate::task::SideOutputFactory) result from a typed writer.
pub(crate) fn erase_side_output<T: 'static>(writer: Box<dyn Operator<T>>) -> Box<dyn Any> {
    let erased: Box<dyn ErasedSideOutput> = Box::new(TypedSideOutput(writer));
    Box::new(Some(erased))
}
