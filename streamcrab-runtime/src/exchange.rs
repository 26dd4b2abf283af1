//! Data exchange between tasks in one process: bounded channels of batches, partitioners, and
//! the writer that ends a chain in front of a task boundary.
//!
//! Values move through channels; nothing is serialized in-process. A writer buffers records per
//! target channel and sends a batch when it is full, when a control element (watermark, status,
//! end) must go out, or when the task's input runs dry ([`Operator::flush`]). A full channel
//! blocks the sender: that is backpressure, and it bounds the records in flight to
//! `channels * (CHANNEL_CAPACITY + 1) * BATCH_SIZE`.
//!
//! When the process has a core for each task thread, a sender that finds its channel full naps
//! a few times before it parks on the channel (`send_batch`): a parked sender costs the
//! receiver, the slower side, a wake-up system call for every batch it takes, while a napping one
//! costs only its own otherwise idle core. With more task threads than cores the naps' timer
//! wake-ups compete with runnable tasks, so a sender parks at once.

use std::any::Any;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::checkpoint::TaskSnapshot;
use crate::data::{Data, Key};
use crate::element::{CheckpointBarrier, StreamElement, StreamRecord, Watermark, WatermarkStatus};
use crate::error::TaskError;
use crate::graph::EdgeId;
use crate::keygroup::{assign_to_key_group, operator_index_for_key_group};
use crate::operator::{Operator, Tail};
use crate::task::TaskContext;

/// Records per batch sent over a channel.
pub const BATCH_SIZE: usize = 1024;
/// Batches a channel holds before its sender blocks.
pub const CHANNEL_CAPACITY: usize = 4;
/// How long a sender naps when its channel is full, and how often before it parks on the
/// channel: a batch takes its receiver tens of microseconds, so a nap rarely leaves it idle.
const FULL_CHANNEL_NAP: Duration = Duration::from_micros(20);
const FULL_CHANNEL_NAPS: u32 = 3;

/// What travels over a channel.
pub(crate) type Batch<T> = Vec<StreamElement<T>>;

/// The sending side of one edge for one upstream subtask.
pub(crate) struct ExchangeOutput<T> {
    pub(crate) senders: Vec<Sender<Batch<T>>>,
    pub(crate) downstream_max_parallelism: u32,
    /// Naps a sender takes on a full channel before it parks (module docs).
    pub(crate) naps_when_full: u32,
}

/// The receiving side of one edge for one downstream subtask.
pub(crate) type ExchangeInput<T> = Vec<Receiver<Batch<T>>>;

/// Channels of one edge, erased: an [`ExchangeOutput`] per upstream subtask and an
/// [`ExchangeInput`] per downstream subtask.
pub(crate) struct ErasedChannels {
    pub(crate) outputs: Vec<Box<dyn Any + Send>>,
    pub(crate) inputs: Vec<Box<dyn Any + Send>>,
}

/// Creates the channels of an edge from `upstream` to `downstream` subtasks: all-to-all, or
/// subtask `i` to subtask `i` when `pointwise` (forward).
pub(crate) fn make_channels<T: Send + 'static>(
    upstream: u32,
    downstream: u32,
    pointwise: bool,
    downstream_max_parallelism: u32,
) -> ErasedChannels {
    let (up, down) = (upstream as usize, downstream as usize);
    let mut senders: Vec<Vec<Sender<Batch<T>>>> = (0..up).map(|_| Vec::new()).collect();
    let mut receivers: Vec<Vec<Receiver<Batch<T>>>> = (0..down).map(|_| Vec::new()).collect();
    for (i, row) in senders.iter_mut().enumerate() {
        for (j, column) in receivers.iter_mut().enumerate() {
            if pointwise && i != j {
                continue;
            }
            let (tx, rx) = bounded(CHANNEL_CAPACITY);
            row.push(tx);
            column.push(rx);
        }
    }
    ErasedChannels {
        outputs: senders
            .into_iter()
            .map(|senders| {
                Box::new(ExchangeOutput { senders, downstream_max_parallelism, naps_when_full: 0 })
                    as Box<dyn Any + Send>
            })
            .collect(),
        inputs: receivers.into_iter().map(|r| Box::new(r) as Box<dyn Any + Send>).collect(),
    }
}

/// Where a record goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// To the channel with this index.
    One(usize),
    /// To every channel.
    All,
}

/// Chooses the downstream channel of every record.
pub trait Partitioner<T>: Clone + Send + 'static {
    /// Called once with the max parallelism of the downstream operator.
    fn configure(&mut self, _downstream_max_parallelism: u32) {}
    /// The route of `value` among `channels` channels.
    fn route(&mut self, value: &T, channels: usize) -> Route;
}

/// Subtask `i` to subtask `i` (the edge has one channel per sender).
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardPartitioner;

impl<T> Partitioner<T> for ForwardPartitioner {
    #[inline]
    fn route(&mut self, _: &T, _: usize) -> Route {
        Route::One(0)
    }
}

/// Round robin, starting at a random channel (as Flink's `RebalancePartitioner`).
#[derive(Clone, Debug, Default)]
pub struct RebalancePartitioner {
    next: Option<usize>,
}

impl<T> Partitioner<T> for RebalancePartitioner {
    #[inline]
    fn route(&mut self, _: &T, channels: usize) -> Route {
        let next = self.next.unwrap_or_else(|| fastrand::usize(..channels));
        self.next = Some((next + 1) % channels);
        Route::One(next)
    }
}

/// A uniformly random channel per record.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShufflePartitioner;

impl<T> Partitioner<T> for ShufflePartitioner {
    #[inline]
    fn route(&mut self, _: &T, channels: usize) -> Route {
        Route::One(fastrand::usize(..channels))
    }
}

/// Every record to every channel.
#[derive(Clone, Copy, Debug, Default)]
pub struct BroadcastPartitioner;

impl<T> Partitioner<T> for BroadcastPartitioner {
    #[inline]
    fn route(&mut self, _: &T, _: usize) -> Route {
        Route::All
    }
}

/// By key group: the subtask whose key-group range holds the record's key.
#[derive(Clone)]
pub struct KeyGroupPartitioner<KS> {
    key_selector: KS,
    max_parallelism: u32,
}

impl<KS> KeyGroupPartitioner<KS> {
    /// Partitions by the key `key_selector` extracts.
    pub fn new(key_selector: KS) -> Self {
        Self { key_selector, max_parallelism: 0 }
    }
}

impl<T, K: Key, KS: Fn(&T) -> K + Clone + Send + 'static> Partitioner<T> for KeyGroupPartitioner<KS> {
    fn configure(&mut self, downstream_max_parallelism: u32) {
        self.max_parallelism = downstream_max_parallelism;
    }

    #[inline]
    fn route(&mut self, value: &T, channels: usize) -> Route {
        let key = (self.key_selector)(value);
        let key_group = assign_to_key_group(&key, self.max_parallelism);
        Route::One(operator_index_for_key_group(self.max_parallelism, channels as u32, key_group) as usize)
    }
}

/// The last operator of a chain in front of a task boundary.
pub struct ExchangeWriter<T, P> {
    senders: Vec<Sender<Batch<T>>>,
    naps_when_full: u32,
    buffers: Vec<Batch<T>>,
    partitioner: P,
    ended: bool,
}

impl<T: Data, P: Partitioner<T>> ExchangeWriter<T, P> {
    pub(crate) fn new(output: ExchangeOutput<T>, mut partitioner: P) -> Self {
        partitioner.configure(output.downstream_max_parallelism);
        let buffers = output.senders.iter().map(|_| Vec::with_capacity(BATCH_SIZE)).collect();
        Self { senders: output.senders, naps_when_full: output.naps_when_full, buffers, partitioner, ended: false }
    }

    #[inline]
    fn push(&mut self, channel: usize, element: StreamElement<T>) -> Result<(), TaskError> {
        let buffer = &mut self.buffers[channel];
        buffer.push(element);
        if buffer.len() >= BATCH_SIZE { self.send(channel) } else { Ok(()) }
    }

    fn send(&mut self, channel: usize) -> Result<(), TaskError> {
        if self.buffers[channel].is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buffers[channel], Vec::with_capacity(BATCH_SIZE));
        send_batch(&self.senders[channel], batch, self.naps_when_full)
    }

    fn broadcast_control(&mut self, element: StreamElement<T>) -> Result<(), TaskError> {
        for channel in 0..self.senders.len() {
            self.buffers[channel].push(element.clone());
            self.send(channel)?;
        }
        Ok(())
    }
}

impl<T: Data, P: Partitioner<T>> Operator<T> for ExchangeWriter<T, P> {
    fn open(&mut self, _ctx: &mut TaskContext) -> Result<(), TaskError> {
        Ok(())
    }

    #[inline]
    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        // One channel takes every record: no partitioner has to look at it (a key-group
        // partitioner would extract its key for nothing).
        if self.senders.len() == 1 {
            return self.push(0, StreamElement::Record(record));
        }
        match self.partitioner.route(&record.value, self.senders.len()) {
            Route::One(channel) => self.push(channel, StreamElement::Record(record)),
            Route::All => {
                let last = self.senders.len() - 1;
                for channel in 0..last {
                    self.push(channel, StreamElement::Record(record.clone()))?;
                }
                self.push(last, StreamElement::Record(record))
            }
        }
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.broadcast_control(StreamElement::Watermark(watermark))
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.broadcast_control(StreamElement::WatermarkStatus(status))
    }

    fn on_processing_time(&mut self, _now: i64) -> Result<(), TaskError> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        (0..self.senders.len()).try_for_each(|channel| self.send(channel))
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        self.ended = true;
        self.broadcast_control(StreamElement::End)
    }

    fn prepare_snapshot_pre_barrier(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }

    /// Sends the barrier behind every buffered record, as the last element of its batch (the
    /// final snapshot of an ended task forwards nothing).
    fn snapshot_state(&mut self, barrier: CheckpointBarrier, _snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        if self.ended { Ok(()) } else { self.broadcast_control(StreamElement::Barrier(barrier)) }
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }

    fn notify_checkpoint_aborted(&mut self, _checkpoint_id: u64) -> Result<(), TaskError> {
        Ok(())
    }
}

/// Sends `batch`, napping up to `naps` times while the channel is full before parking on it
/// (module docs).
fn send_batch<T>(sender: &Sender<Batch<T>>, mut batch: Batch<T>, naps: u32) -> Result<(), TaskError> {
    for _ in 0..naps {
        match sender.try_send(batch) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(back)) => batch = back,
            Err(TrySendError::Disconnected(_)) => return Err(TaskError::DownstreamGone),
        }
        std::thread::sleep(FULL_CHANNEL_NAP);
    }
    sender.send(batch).map_err(|_| TaskError::DownstreamGone)
}

/// Ends a chain with an [`ExchangeWriter`] on edge `edge`.
#[derive(Clone)]
pub struct ExchangeTail<P> {
    edge: EdgeId,
    partitioner: P,
}

impl<P> ExchangeTail<P> {
    pub(crate) fn new(edge: EdgeId, partitioner: P) -> Self {
        Self { edge, partitioner }
    }
}

/// Takes the sending side of `edge` for the task of `ctx`.
pub(crate) fn take_exchange_output<T: Send + 'static>(
    ctx: &mut TaskContext,
    edge: EdgeId,
) -> Result<ExchangeOutput<T>, TaskError> {
    let mut output = ctx
        .take_output::<ExchangeOutput<T>>(edge)
        .ok_or_else(|| TaskError::Wiring { what: format!("no output channels for edge {}", edge.0) })?;
    output.naps_when_full = if ctx.core_per_task { FULL_CHANNEL_NAPS } else { 0 };
    Ok(output)
}

impl<T: Data, P: Partitioner<T>> Tail<T> for ExchangeTail<P> {
    type Built = ExchangeWriter<T, P>;
    fn build(self, ctx: &mut TaskContext) -> Result<Self::Built, TaskError> {
        Ok(ExchangeWriter::new(take_exchange_output(ctx, self.edge)?, self.partitioner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_group_partitioner_matches_flink_subtasks() {
        // Flink: Integer key 0 -> key group 94 of 128 -> subtask 1 of 2, subtask 5 of 8.
        let mut p = KeyGroupPartitioner::new(|v: &i32| *v);
        Partitioner::<i32>::configure(&mut p, 128);
        assert_eq!(p.route(&0, 2), Route::One(1));
        assert_eq!(p.route(&0, 8), Route::One(5));
    }

    #[test]
    fn one_channel_takes_every_key_without_extracting_it() {
        let channels = make_channels::<i32>(1, 1, false, 128);
        let output = *channels.outputs.into_iter().next().unwrap().downcast::<ExchangeOutput<i32>>().unwrap();
        let input = *channels.inputs.into_iter().next().unwrap().downcast::<ExchangeInput<i32>>().unwrap();
        let selector = |_: &i32| -> i32 { panic!("the key is not needed for one channel") };
        let mut writer = ExchangeWriter::new(output, KeyGroupPartitioner::new(selector));
        writer.process(StreamRecord::new(0)).unwrap();
        writer.flush().unwrap();
        assert_eq!(input[0].try_recv().unwrap(), vec![StreamElement::Record(StreamRecord::new(0))]);
    }

    #[test]
    fn a_napping_sender_delivers_in_order_once_the_receiver_takes_batches() {
        let (tx, rx) = bounded::<Batch<u32>>(1);
        send_batch(&tx, vec![StreamElement::Record(StreamRecord::new(1))], FULL_CHANNEL_NAPS).unwrap();
        // The receiver starts taking long after every nap is over: the sender parks and waits.
        let receiver = std::thread::spawn(move || {
            std::thread::sleep(FULL_CHANNEL_NAP * (FULL_CHANNEL_NAPS + 20));
            rx.iter().flatten().collect::<Vec<_>>()
        });
        send_batch(&tx, vec![StreamElement::Record(StreamRecord::new(2))], FULL_CHANNEL_NAPS).unwrap();
        drop(tx);
        let got = receiver.join().unwrap();
        assert_eq!(got, vec![StreamElement::Record(StreamRecord::new(1)), StreamElement::Record(StreamRecord::new(2))]);
    }

    #[test]
    fn a_napping_sender_reports_a_gone_receiver() {
        let (tx, rx) = bounded::<Batch<u32>>(1);
        send_batch(&tx, Vec::new(), FULL_CHANNEL_NAPS).unwrap();
        drop(rx);
        let sent = send_batch(&tx, vec![StreamElement::Record(StreamRecord::new(1))], FULL_CHANNEL_NAPS);
        assert!(matches!(sent, Err(TaskError::DownstreamGone)));
    }

    #[test]
    fn rebalance_cycles_over_all_channels() {
        let mut p = RebalancePartitioner::default();
        let mut seen: Vec<usize> = (0..6)
            .map(|_| match Partitioner::<u8>::route(&mut p, &0, 3) {
                Route::One(c) => c,
                Route::All => usize::MAX,
            })
            .collect();
        assert_eq!(seen[0..3].iter().map(|c| (c + 3 - seen[0]) % 3).collect::<Vec<_>>(), vec![0, 1, 2]);
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn writer_batches_and_ends_every_channel() {
        let channels = make_channels::<u32>(1, 2, false, 128);
        let output = *channels.outputs.into_iter().next().unwrap().downcast::<ExchangeOutput<u32>>().unwrap();
        let receivers: Vec<ExchangeInput<u32>> =
            channels.inputs.into_iter().map(|b| *b.downcast::<ExchangeInput<u32>>().unwrap()).collect();
        let mut writer = ExchangeWriter::new(output, BroadcastPartitioner);
        writer.process(StreamRecord::new(7)).unwrap();
        assert!(receivers[0][0].try_recv().is_err(), "a record waits in its batch");
        writer.finish().unwrap();
        for r in &receivers {
            assert_eq!(r[0].try_recv().unwrap(), vec![StreamElement::Record(StreamRecord::new(7)), StreamElement::End]);
        }
    }
}
