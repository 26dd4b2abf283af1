//! The elements that flow between operators and tasks.
//!
//! Grammar of one channel (and of one operator's input):
//!
//! ```text
//! channel  := (Record | Watermark | WatermarkStatus | Barrier)* End?
//! ```
//!
//! * `Record`s carry a value and an optional event timestamp; they are the hot path.
//! * `Watermark(t)` promises that no record with timestamp `<= t` follows. Watermarks on one
//!   channel never go backwards; an operator's input combines its channels with the
//!   [`StatusWatermarkValve`](crate::valve::StatusWatermarkValve).
//! * `WatermarkStatus` marks a channel idle (excluded from the watermark minimum) or active again.
//! * `Barrier(n)` separates the records that belong to checkpoint `n` from those after it. Barrier
//!   ids increase along a channel; a barrier is always the last element of its batch, so an input
//!   gate can block a channel right after it (alignment).
//! * `End` is the last element of a bounded channel. Before it, a source emits
//!   `Watermark(i64::MAX)` (Flink: a bounded input is a stream that ends and flushes event time).
//!
//! A missing `End` (the sender went away) means the upstream task failed or was cancelled.

/// A value with its optional event timestamp (milliseconds since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamRecord<T> {
    /// The user value.
    pub value: T,
    /// Event timestamp, if one was assigned.
    pub timestamp: Option<i64>,
}

impl<T> StreamRecord<T> {
    /// A record without a timestamp.
    #[inline]
    pub fn new(value: T) -> Self {
        Self { value, timestamp: None }
    }

    /// A record with an event timestamp.
    #[inline]
    pub fn with_timestamp(value: T, timestamp: i64) -> Self {
        Self { value, timestamp: Some(timestamp) }
    }

    /// The same timestamp with another value (Flink's `StreamRecord.replace`).
    #[inline]
    pub fn replace<U>(&self, value: U) -> StreamRecord<U> {
        StreamRecord { value, timestamp: self.timestamp }
    }
}

/// An event-time watermark: no record with a timestamp `<= self.0` follows on this stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Watermark(pub i64);

impl Watermark {
    /// The watermark a bounded input emits when it ends; it fires all event-time timers.
    pub const MAX: Watermark = Watermark(i64::MAX);
    /// The initial watermark of every channel.
    pub const MIN: Watermark = Watermark(i64::MIN);
}

/// Whether a stream is currently producing records (Flink's `WatermarkStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatermarkStatus {
    /// The stream produces records and watermarks.
    Active,
    /// The stream is temporarily idle; it does not hold back the watermark of its consumers.
    Idle,
}

/// One element of a stream (see the module documentation for the grammar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamElement<T> {
    /// A data record.
    Record(StreamRecord<T>),
    /// An event-time watermark.
    Watermark(Watermark),
    /// A change of the stream's activity.
    WatermarkStatus(WatermarkStatus),
    /// A checkpoint barrier.
    Barrier(CheckpointBarrier),
    /// End of a bounded stream.
    End,
}

/// Whether a barrier belongs to a periodic checkpoint or to a savepoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CheckpointKind {
    /// A periodic checkpoint, owned and retained by the job.
    Checkpoint,
    /// A savepoint, triggered by the user and never deleted by the job (always aligned).
    Savepoint,
}

/// The marker that cuts a stream for checkpoint `id` (Flink's `CheckpointBarrier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckpointBarrier {
    /// The checkpoint's id, increasing over the job's life (across restarts).
    pub id: u64,
    /// When the coordinator triggered it, in ms of the job's clock.
    pub timestamp: i64,
    /// Checkpoint or savepoint.
    pub kind: CheckpointKind,
}
