//! Timestamp assignment and watermark generation (Flink's `WatermarkStrategy`,
//! `BoundedOutOfOrdernessWatermarks`, `WatermarksWithIdleness`, `TimestampsAndWatermarksOperator`).
//!
//! The operator stamps every record, feeds its timestamp to the generator and emits the
//! generator's watermarks, forwarding only strictly increasing ones. Periodic emission and
//! idleness run on the job's processing-time clock (`Operator::on_processing_time`). Upstream
//! watermarks are swallowed except the final `i64::MAX` of an ending input.

use std::marker::PhantomData;
use std::time::Duration;

use crate::element::{StreamRecord, Watermark, WatermarkStatus};
use crate::error::TaskError;
use crate::operator::{Operator, OperatorId, Stage};
use crate::task::{TaskContext, enter_operator};

/// Where a [`WatermarkGenerator`] puts its watermarks.
#[derive(Debug, Default)]
pub struct WatermarkOutput {
    watermark: Option<i64>,
    idle: bool,
}

impl WatermarkOutput {
    /// Emits watermark `watermark` (dropped downstream unless it advances the last one).
    pub fn emit_watermark(&mut self, watermark: i64) {
        self.watermark = Some(self.watermark.map_or(watermark, |w| w.max(watermark)));
    }

    /// Marks the stream idle until the next record.
    pub fn mark_idle(&mut self) {
        self.idle = true;
    }

    /// The watermark emitted since the last call, if any (for driving a generator by hand).
    pub fn take_watermark(&mut self) -> Option<i64> {
        self.watermark.take()
    }
}

/// Generates watermarks from the timestamps it sees (Flink's `WatermarkGenerator`).
pub trait WatermarkGenerator: Clone + Send + 'static {
    /// Called for every record's timestamp.
    fn on_event(&mut self, timestamp: i64, output: &mut WatermarkOutput);
    /// Called every auto-watermark interval of processing time, and once at the end of input.
    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput);
}

/// `maxTimestamp - delay - 1` of the largest timestamp seen, emitted periodically.
#[derive(Clone, Debug)]
pub struct BoundedOutOfOrderness {
    max_timestamp: i64,
    delay: i64,
}

impl BoundedOutOfOrderness {
    /// A generator allowing records to be up to `delay_ms` out of order.
    pub fn new(delay_ms: i64) -> Self {
        Self { max_timestamp: i64::MIN.saturating_add(delay_ms).saturating_add(1), delay: delay_ms }
    }
}

impl WatermarkGenerator for BoundedOutOfOrderness {
    fn on_event(&mut self, timestamp: i64, _output: &mut WatermarkOutput) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }

    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput) {
        output.emit_watermark(self.max_timestamp - self.delay - 1);
    }
}

/// Assigns record timestamps: `(value, previous timestamp) -> timestamp`.
pub trait TimestampAssigner<T>: Clone + Send + 'static {
    /// The event timestamp of `value` (`previous`: the one it carries, if any).
    fn extract(&mut self, value: &T, previous: Option<i64>) -> Option<i64>;
}

/// Keeps the timestamps records already carry (from the source).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordTimestamps;

impl<T> TimestampAssigner<T> for RecordTimestamps {
    fn extract(&mut self, _: &T, previous: Option<i64>) -> Option<i64> {
        previous
    }
}

/// A closure as timestamp assigner.
#[derive(Clone)]
pub struct FnTimestamps<F>(F);

impl<T, F: FnMut(&T, Option<i64>) -> i64 + Clone + Send + 'static> TimestampAssigner<T> for FnTimestamps<F> {
    fn extract(&mut self, value: &T, previous: Option<i64>) -> Option<i64> {
        Some((self.0)(value, previous))
    }
}

/// How to get timestamps and watermarks (Flink's `WatermarkStrategy`).
#[derive(Clone)]
pub struct WatermarkStrategy<G, A = RecordTimestamps> {
    generator: G,
    assigner: A,
    idle_timeout: Option<Duration>,
    interval: Duration,
}

/// Flink's default `pipeline.auto-watermark-interval`.
pub const DEFAULT_WATERMARK_INTERVAL: Duration = Duration::from_millis(200);

impl WatermarkStrategy<BoundedOutOfOrderness> {
    /// Watermarks trailing the largest timestamp by `max_out_of_orderness_ms` (+1).
    pub fn for_bounded_out_of_orderness(max_out_of_orderness_ms: i64) -> Self {
        Self::for_generator(BoundedOutOfOrderness::new(max_out_of_orderness_ms))
    }

    /// Watermarks for ascending timestamps: the largest timestamp seen, minus 1.
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(0)
    }
}

impl<G: WatermarkGenerator> WatermarkStrategy<G> {
    /// A strategy with a custom generator.
    pub fn for_generator(generator: G) -> Self {
        Self { generator, assigner: RecordTimestamps, idle_timeout: None, interval: DEFAULT_WATERMARK_INTERVAL }
    }
}

impl<G: WatermarkGenerator, A> WatermarkStrategy<G, A> {
    /// Takes each record's timestamp from `f(value, previous timestamp)`.
    pub fn with_timestamp_assigner<F>(self, f: F) -> WatermarkStrategy<G, FnTimestamps<F>> {
        WatermarkStrategy {
            generator: self.generator,
            assigner: FnTimestamps(f),
            idle_timeout: self.idle_timeout,
            interval: self.interval,
        }
    }

    /// Marks the stream idle after `timeout` of processing time without records.
    pub fn with_idleness(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Sets the periodic emission interval (default 200 ms).
    pub fn with_auto_watermark_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// The stage of `assign_timestamps_and_watermarks`.
pub struct TimestampsStage<G, A, T> {
    strategy: WatermarkStrategy<G, A>,
    id: OperatorId,
    _input: PhantomData<fn(T)>,
}

impl<G: Clone, A: Clone, T> Clone for TimestampsStage<G, A, T> {
    fn clone(&self) -> Self {
        Self { strategy: self.strategy.clone(), id: self.id, _input: PhantomData }
    }
}

impl<G, A, T> TimestampsStage<G, A, T> {
    /// The stage of operator `id` applying `strategy`.
    pub fn new(strategy: WatermarkStrategy<G, A>, id: OperatorId) -> Self {
        Self { strategy, id, _input: PhantomData }
    }
}

impl<T: 'static, G: WatermarkGenerator, A: TimestampAssigner<T>> Stage<T, T> for TimestampsStage<G, A, T> {
    type Built<N: Operator<T>> = TimestampsOperator<G, A, N>;
    fn build<N: Operator<T>>(self, next: N) -> Self::Built<N> {
        TimestampsOperator {
            strategy: self.strategy,
            id: self.id,
            current: i64::MIN,
            idle: false,
            last_emit: None,
            last_record: None,
            records_since_tick: false,
            next,
        }
    }
}

/// Assigns timestamps and generates watermarks.
pub struct TimestampsOperator<G, A, N> {
    strategy: WatermarkStrategy<G, A>,
    id: OperatorId,
    current: i64,
    idle: bool,
    last_emit: Option<i64>,
    last_record: Option<i64>,
    records_since_tick: bool,
    next: N,
}

impl<G: WatermarkGenerator, A, N> TimestampsOperator<G, A, N> {
    fn emit<T>(&mut self, output: WatermarkOutput) -> Result<(), TaskError>
    where
        N: Operator<T>,
    {
        if let Some(w) = output.watermark
            && w > self.current
        {
            if std::mem::take(&mut self.idle) {
                self.next.process_watermark_status(WatermarkStatus::Active)?;
            }
            self.current = w;
            self.next.process_watermark(Watermark(w))?;
        }
        if output.idle && !self.idle {
            self.idle = true;
            self.next.process_watermark_status(WatermarkStatus::Idle)?;
        }
        Ok(())
    }

    fn tick<T>(&mut self, now: i64) -> Result<(), TaskError>
    where
        N: Operator<T>,
    {
        if std::mem::take(&mut self.records_since_tick) || self.last_record.is_none() {
            self.last_record = Some(now);
        }
        let mut output = WatermarkOutput::default();
        let last_emit = *self.last_emit.get_or_insert(now);
        if now - last_emit >= self.strategy.interval.as_millis() as i64 {
            self.last_emit = Some(now);
            self.strategy.generator.on_periodic_emit(&mut output);
        }
        if let (Some(timeout), Some(last_record)) = (self.strategy.idle_timeout, self.last_record)
            && now - last_record >= timeout.as_millis() as i64
        {
            output.mark_idle();
        }
        self.emit(output)
    }
}

impl<T, G: WatermarkGenerator, A: TimestampAssigner<T>, N: Operator<T>> Operator<T> for TimestampsOperator<G, A, N> {
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)
    }

    fn process(&mut self, mut record: StreamRecord<T>) -> Result<(), TaskError> {
        enter_operator(self.id);
        record.timestamp = self.strategy.assigner.extract(&record.value, record.timestamp);
        let mut output = WatermarkOutput::default();
        if let Some(ts) = record.timestamp {
            self.strategy.generator.on_event(ts, &mut output);
        }
        if std::mem::take(&mut self.idle) {
            self.next.process_watermark_status(WatermarkStatus::Active)?;
        }
        self.next.process(record)?;
        self.records_since_tick = true;
        self.emit(output)
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        if watermark == Watermark::MAX && self.current != i64::MAX {
            let mut output = WatermarkOutput::default();
            self.strategy.generator.on_periodic_emit(&mut output);
            self.emit(output)?;
            self.current = i64::MAX;
            return self.next.process_watermark(watermark);
        }
        Ok(())
    }

    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<(), TaskError> {
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
        self.tick(now)?;
        self.next.on_processing_time(now)
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.next.flush()
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        self.next.finish()
    }

    // Flink does not checkpoint watermark generators: after a restore they start over.
    crate::operator::forward_checkpoint!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_out_of_orderness_starts_at_min() {
        let mut g = BoundedOutOfOrderness::new(1000);
        let mut out = WatermarkOutput::default();
        g.on_periodic_emit(&mut out);
        assert_eq!(out.watermark, Some(i64::MIN));
        g.on_event(5000, &mut out);
        g.on_event(3000, &mut out);
        let mut out = WatermarkOutput::default();
        g.on_periodic_emit(&mut out);
        assert_eq!(out.watermark, Some(3999));
    }
}
