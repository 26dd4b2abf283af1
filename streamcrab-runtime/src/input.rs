//! Heads of chains that read from other tasks: the input gate of a one-input chain (one edge,
//! or several for `union`) and of a two-input chain (`connect`).
//!
//! A gate selects over its open channels, feeds records to the chain, combines watermarks and
//! statuses with a [`StatusWatermarkValve`] per input, and finishes the chain once every channel
//! delivered `End`. When no channel has data ready it flushes the chain's outputs before it
//! blocks, so records never wait in a half-full batch while the task is idle. A channel that
//! disconnects without `End` fails the task ([`TaskError::UpstreamGone`]).

use std::marker::PhantomData;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, TryRecvError};

use crate::checkpoint::barrier::BarrierAligner;
use crate::checkpoint::task::{Checkpointed, OneInput, TwoInput, deliver_notifications, finish_task, take_checkpoint};
use crate::element::{CheckpointBarrier, StreamElement, WatermarkStatus};
use crate::error::TaskError;
use crate::exchange::{Batch, ExchangeInput};
use crate::graph::EdgeId;
use crate::operator::{Operator, TwoInputOperator};
use crate::task::TaskContext;
use crate::valve::{StatusWatermarkValve, ValveOutput};

/// How often a blocked gate looks at the job's cancellation flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// The start of a chain: a source, or the input gate of a downstream task.
pub trait ChainHead<T>: Clone + Send + 'static {
    /// Opens `chain`, drives it until its input ends, and finishes it.
    fn run<O: Operator<T>>(self, chain: O, ctx: &mut TaskContext) -> Result<(), TaskError>;
}

/// The channels of one input, with their end flags, alignment blocks and watermark valve.
struct Gate<T> {
    receivers: Vec<Receiver<Batch<T>>>,
    ended: Vec<bool>,
    /// Blocked during barrier alignment: not read until the checkpoint is taken.
    blocked: Vec<bool>,
    open: usize,
    valve: StatusWatermarkValve,
}

impl<T: Send + 'static> Gate<T> {
    fn take(ctx: &mut TaskContext, edges: &[EdgeId]) -> Result<Self, TaskError> {
        let mut receivers = Vec::new();
        for edge in edges {
            let input = ctx
                .take_input::<ExchangeInput<T>>(*edge)
                .ok_or_else(|| TaskError::Wiring { what: format!("no input channels for edge {}", edge.0) })?;
            receivers.extend(input);
        }
        let n = receivers.len();
        Ok(Self {
            receivers,
            ended: vec![false; n],
            blocked: vec![false; n],
            open: n,
            valve: StatusWatermarkValve::new(n),
        })
    }

    fn register<'a>(&'a self, select: &mut Select<'a>, owners: &mut Vec<(usize, usize)>, side: usize) {
        for (channel, receiver) in self.receivers.iter().enumerate() {
            if !self.ended[channel] && !self.blocked[channel] {
                select.recv(receiver);
                owners.push((side, channel));
            }
        }
    }

    fn end(&mut self, channel: usize) {
        if !self.ended[channel] {
            self.ended[channel] = true;
            self.open -= 1;
        }
    }

    /// Copies the aligner's blocks for this gate's channels (numbered from `offset` there).
    fn sync_blocked(&mut self, aligner: &BarrierAligner, offset: usize) {
        for (channel, blocked) in self.blocked.iter_mut().enumerate() {
            *blocked = aligner.is_blocked(offset + channel);
        }
    }
}

/// Feeds a barrier or an end of channel `channel` (numbered over all inputs of the task) to
/// the aligner, and takes the checkpoint it completes.
fn on_alignment_event(
    aligner: &mut Option<BarrierAligner>,
    channel: usize,
    barrier: Option<CheckpointBarrier>,
    ctx: &mut TaskContext,
    chain: &mut impl Checkpointed,
) -> Result<(), TaskError> {
    let Some(aligner) = aligner else { return Ok(()) };
    let aligned = match barrier {
        Some(barrier) => aligner.on_barrier(channel, barrier),
        None => aligner.on_end(channel),
    };
    match aligned {
        Some(barrier) => take_checkpoint(ctx, chain, barrier, |_| Ok(())),
        None => Ok(()),
    }
}

/// Waits for the next batch of either side (`side` 0 or 1); `None` after `CANCEL_POLL` or when
/// nothing is ready and `block` is false.
fn next_batch<A: Send + 'static, B: Send + 'static>(
    first: &Gate<A>,
    second: Option<&Gate<B>>,
    block: bool,
) -> Result<Option<Received<A, B>>, TaskError> {
    if second.is_none() && first.open == 1 {
        // One open channel is never blocked: its barrier completes the alignment at once.
        let channel = first.ended.iter().position(|e| !e).expect("one channel is open");
        let receiver = &first.receivers[channel];
        let batch = if block {
            match receiver.recv_timeout(CANCEL_POLL) {
                Ok(batch) => batch,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(TaskError::UpstreamGone),
            }
        } else {
            match receiver.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => return Err(TaskError::UpstreamGone),
            }
        };
        return Ok(Some(Received::First(channel, batch)));
    }
    let mut select = Select::new();
    let mut owners = Vec::new();
    first.register(&mut select, &mut owners, 0);
    if let Some(second) = second {
        second.register(&mut select, &mut owners, 1);
    }
    let operation = if block { select.select_timeout(CANCEL_POLL).ok() } else { select.try_select().ok() };
    let Some(operation) = operation else { return Ok(None) };
    let (side, channel) = owners[operation.index()];
    Ok(Some(match (side, second) {
        (1, Some(second)) => {
            Received::Second(channel, operation.recv(&second.receivers[channel]).map_err(|_| TaskError::UpstreamGone)?)
        }
        _ => Received::First(channel, operation.recv(&first.receivers[channel]).map_err(|_| TaskError::UpstreamGone)?),
    }))
}

enum Received<A, B> {
    First(usize, Batch<A>),
    Second(usize, Batch<B>),
}

/// Waits for the next batch, flushing `flush` first if nothing is ready.
fn wait_batch<A: Send + 'static, B: Send + 'static>(
    first: &Gate<A>,
    second: Option<&Gate<B>>,
    ctx: &TaskContext,
    mut flush: impl FnMut() -> Result<(), TaskError>,
) -> Result<Received<A, B>, TaskError> {
    if let Some(received) = next_batch(first, second, false)? {
        return Ok(received);
    }
    flush()?;
    loop {
        if ctx.is_cancelled() {
            return Err(TaskError::Cancelled);
        }
        if let Some(received) = next_batch(first, second, true)? {
            return Ok(received);
        }
        // Nothing arrived for a poll interval: let operators act on processing time.
        flush()?;
    }
}

/// The input gate of a one-input chain, reading the edges `edges` (several for a union).
pub struct ExchangeHead<T> {
    edges: Vec<EdgeId>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for ExchangeHead<T> {
    fn clone(&self) -> Self {
        Self { edges: self.edges.clone(), _type: PhantomData }
    }
}

impl<T> ExchangeHead<T> {
    pub(crate) fn new(edges: Vec<EdgeId>) -> Self {
        Self { edges, _type: PhantomData }
    }
}

impl<T: Send + 'static> ChainHead<T> for ExchangeHead<T> {
    fn run<O: Operator<T>>(self, mut chain: O, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let mut gate = Gate::<T>::take(ctx, &self.edges)?;
        chain.open(ctx)?;
        let clock = ctx.clock();
        let mut aligner = ctx.checkpointing_mode().map(|mode| BarrierAligner::new(mode, gate.receivers.len()));
        let mut valve_out = Vec::new();
        while gate.open > 0 {
            let idle = |chain: &mut O| {
                deliver_notifications(ctx, &mut OneInput::new(chain))?;
                chain.on_processing_time(clock.now_millis())?;
                chain.flush()
            };
            let (channel, batch) = match wait_batch::<T, ()>(&gate, None, ctx, || idle(&mut chain))? {
                Received::First(channel, batch) => (channel, batch),
                Received::Second(..) => {
                    return Err(TaskError::Wiring { what: "second input on a one-input gate".into() });
                }
            };
            for element in batch {
                match element {
                    StreamElement::Record(record) => chain.process(record)?,
                    StreamElement::Watermark(w) => gate.valve.input_watermark(channel, w, &mut valve_out),
                    StreamElement::WatermarkStatus(s) => gate.valve.input_watermark_status(channel, s, &mut valve_out),
                    StreamElement::Barrier(barrier) => {
                        on_alignment_event(&mut aligner, channel, Some(barrier), ctx, &mut OneInput::new(&mut chain))?;
                    }
                    StreamElement::End => {
                        gate.end(channel);
                        on_alignment_event(&mut aligner, channel, None, ctx, &mut OneInput::new(&mut chain))?;
                    }
                }
                for output in valve_out.drain(..) {
                    match output {
                        ValveOutput::Watermark(w) => chain.process_watermark(w)?,
                        ValveOutput::Status(s) => chain.process_watermark_status(s)?,
                    }
                }
            }
            if let Some(aligner) = &aligner {
                gate.sync_blocked(aligner, 0);
                deliver_notifications(ctx, &mut OneInput::new(&mut chain))?;
            }
            chain.on_processing_time(clock.now_millis())?;
        }
        finish_task(ctx, &mut OneInput::new(&mut chain), |_| Ok(()))
    }
}

/// Builds the two-input operator that heads a connected chain.
pub trait CoStage<I1, I2, O>: Clone + Send + 'static {
    /// The operator it builds in front of `N`.
    type Built<N: Operator<O>>: TwoInputOperator<I1, I2>;
    /// Builds the operator in front of `next`.
    fn build<N: Operator<O>>(self, next: N) -> Self::Built<N>;
}

/// The input gate of a two-input chain.
pub struct TwoInputHead<CS, I1, I2> {
    stage: CS,
    first: Vec<EdgeId>,
    second: Vec<EdgeId>,
    _types: PhantomData<fn() -> (I1, I2)>,
}

impl<CS: Clone, I1, I2> Clone for TwoInputHead<CS, I1, I2> {
    fn clone(&self) -> Self {
        Self { stage: self.stage.clone(), first: self.first.clone(), second: self.second.clone(), _types: PhantomData }
    }
}

impl<CS, I1, I2> TwoInputHead<CS, I1, I2> {
    pub(crate) fn new(stage: CS, first: Vec<EdgeId>, second: Vec<EdgeId>) -> Self {
        Self { stage, first, second, _types: PhantomData }
    }
}

/// The combined watermark state of two inputs: `min(input 1, input 2)` over the active ones,
/// idle only if both are.
struct TwoInputWatermarks {
    watermarks: [i64; 2],
    idle: [bool; 2],
    last: i64,
    last_idle: bool,
}

impl TwoInputWatermarks {
    fn new() -> Self {
        Self { watermarks: [i64::MIN; 2], idle: [false; 2], last: i64::MIN, last_idle: false }
    }

    /// Flink's `CombinedWatermarkStatus`: the minimum over the inputs that are not idle; no
    /// watermark while all are idle.
    fn combined<O: TwoInputOperator<I1, I2>, I1, I2>(&mut self, op: &mut O) -> Result<(), TaskError> {
        let min = (0..2).filter(|&i| !self.idle[i]).map(|i| self.watermarks[i]).min();
        if let Some(min) = min
            && min > self.last
        {
            self.last = min;
            op.process_watermark(crate::element::Watermark(min))?;
        }
        let both_idle = min.is_none();
        if both_idle != self.last_idle {
            self.last_idle = both_idle;
            op.process_watermark_status(if both_idle { WatermarkStatus::Idle } else { WatermarkStatus::Active })?;
        }
        Ok(())
    }

    fn apply<O: TwoInputOperator<I1, I2>, I1, I2>(
        &mut self,
        side: usize,
        outputs: &mut Vec<ValveOutput>,
        op: &mut O,
    ) -> Result<(), TaskError> {
        if outputs.is_empty() {
            return Ok(());
        }
        for output in outputs.drain(..) {
            match output {
                ValveOutput::Watermark(w) => self.watermarks[side] = w.0,
                ValveOutput::Status(s) => self.idle[side] = s == WatermarkStatus::Idle,
            }
        }
        self.combined(op)
    }
}

impl<CS, I1, I2, O> ChainHead<O> for TwoInputHead<CS, I1, I2>
where
    CS: CoStage<I1, I2, O>,
    I1: Send + 'static,
    I2: Send + 'static,
{
    fn run<C: Operator<O>>(self, chain: C, ctx: &mut TaskContext) -> Result<(), TaskError> {
        let mut first = Gate::<I1>::take(ctx, &self.first)?;
        let mut second = Gate::<I2>::take(ctx, &self.second)?;
        let mut op = self.stage.build(chain);
        op.open(ctx)?;
        let clock = ctx.clock();
        let offset = first.receivers.len();
        let mut aligner =
            ctx.checkpointing_mode().map(|mode| BarrierAligner::new(mode, offset + second.receivers.len()));
        let mut combined = TwoInputWatermarks::new();
        let mut valve_out = Vec::new();
        while first.open + second.open > 0 {
            op.on_processing_time(clock.now_millis())?;
            let idle = |op: &mut CS::Built<C>| {
                deliver_notifications(ctx, &mut TwoInput::new(op))?;
                op.on_processing_time(clock.now_millis())?;
                op.flush()
            };
            match wait_batch(&first, Some(&second), ctx, || idle(&mut op))? {
                Received::First(channel, batch) => {
                    for element in batch {
                        match element {
                            StreamElement::Record(record) => op.process1(record)?,
                            StreamElement::Watermark(w) => first.valve.input_watermark(channel, w, &mut valve_out),
                            StreamElement::WatermarkStatus(s) => {
                                first.valve.input_watermark_status(channel, s, &mut valve_out)
                            }
                            StreamElement::Barrier(barrier) => {
                                let chain = &mut TwoInput::new(&mut op);
                                on_alignment_event(&mut aligner, channel, Some(barrier), ctx, chain)?;
                            }
                            StreamElement::End => {
                                first.end(channel);
                                on_alignment_event(&mut aligner, channel, None, ctx, &mut TwoInput::new(&mut op))?;
                            }
                        }
                        combined.apply(0, &mut valve_out, &mut op)?;
                    }
                }
                Received::Second(channel, batch) => {
                    for element in batch {
                        match element {
                            StreamElement::Record(record) => op.process2(record)?,
                            StreamElement::Watermark(w) => second.valve.input_watermark(channel, w, &mut valve_out),
                            StreamElement::WatermarkStatus(s) => {
                                second.valve.input_watermark_status(channel, s, &mut valve_out)
                            }
                            StreamElement::Barrier(barrier) => {
                                let chain = &mut TwoInput::new(&mut op);
                                on_alignment_event(&mut aligner, offset + channel, Some(barrier), ctx, chain)?;
                            }
                            StreamElement::End => {
                                second.end(channel);
                                let chain = &mut TwoInput::new(&mut op);
                                on_alignment_event(&mut aligner, offset + channel, None, ctx, chain)?;
                            }
                        }
                        combined.apply(1, &mut valve_out, &mut op)?;
                    }
                }
            }
            if let Some(aligner) = &aligner {
                first.sync_blocked(aligner, 0);
                second.sync_blocked(aligner, offset);
                deliver_notifications(ctx, &mut TwoInput::new(&mut op))?;
            }
        }
        finish_task(ctx, &mut TwoInput::new(&mut op), |_| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::{StreamRecord, Watermark};

    /// Records the combined control elements it receives.
    #[derive(Default)]
    struct Controls(Vec<String>);

    impl TwoInputOperator<(), ()> for Controls {
        fn open(&mut self, _: &mut TaskContext) -> Result<(), TaskError> {
            Ok(())
        }
        fn process1(&mut self, _: StreamRecord<()>) -> Result<(), TaskError> {
            Ok(())
        }
        fn process2(&mut self, _: StreamRecord<()>) -> Result<(), TaskError> {
            Ok(())
        }
        fn process_watermark(&mut self, w: Watermark) -> Result<(), TaskError> {
            self.0.push(format!("wm {}", w.0));
            Ok(())
        }
        fn process_watermark_status(&mut self, s: WatermarkStatus) -> Result<(), TaskError> {
            self.0.push(format!("{s:?}"));
            Ok(())
        }
        fn on_processing_time(&mut self, _: i64) -> Result<(), TaskError> {
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

    #[test]
    fn two_inputs_combine_to_the_minimum_of_the_active_ones() {
        let mut state = TwoInputWatermarks::new();
        let mut op = Controls::default();
        let step = |state: &mut TwoInputWatermarks, op: &mut Controls, side, output| {
            state.apply(side, &mut vec![output], op).unwrap();
        };
        step(&mut state, &mut op, 0, ValveOutput::Watermark(Watermark(10)));
        step(&mut state, &mut op, 1, ValveOutput::Watermark(Watermark(5)));
        step(&mut state, &mut op, 1, ValveOutput::Watermark(Watermark(20)));
        step(&mut state, &mut op, 0, ValveOutput::Status(WatermarkStatus::Idle));
        step(&mut state, &mut op, 1, ValveOutput::Status(WatermarkStatus::Idle));
        step(&mut state, &mut op, 0, ValveOutput::Status(WatermarkStatus::Active));
        assert_eq!(op.0, ["wm 5", "wm 10", "wm 20", "Idle", "Active"]);
    }
}
