//! The `#[pipeline]` versions of the examples, and the window functions both versions use.
//! Each computes what its builder version (`examples/*.rs`) computes; `tests/pipelines.rs`
//! checks that they agree.

use streamcrab::prelude::*;
use streamcrab::sink::CollectedResults;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::{
    EventTimeSessionWindows, ProcessWindowContext, ProcessWindowFunction, TumblingEventTimeWindows,
};

use crate::data::{Click, INJECTED_FAILURE_AT, MeterReading, Reading, clicks, meter_reading, sensor_readings};

/// Collected results of a pipeline, filled when it is built.
pub type Output<T> = Option<CollectedResults<T>>;

/// WordCount (`examples/wordcount.rs`).
#[pipeline]
pub fn wordcount(env: &mut StreamExecutionEnvironment, out: &mut Output<(String, i32)>) {
    let lines = env.from_iter(vec!["hello world".to_string(), "hello streamcrab".to_string()]);
    let words = lines.flat_map(|line: String| line.split_whitespace().map(String::from).collect::<Vec<_>>());
    *out = Some(
        words
            .map(|word: String| (word, 1i32))
            .key_by::<String, _>(|(w, _)| w.clone())
            .reduce(|(w, c1), (_, c2)| (w, c1 + c2))
            .collect_to_vec(),
    );
}

/// Sum and count of temperatures.
#[derive(Clone)]
pub struct Average;

impl AggregateFunction<Reading> for Average {
    type Acc = (i64, i64);
    type Out = f64;
    fn create_accumulator(&self) -> (i64, i64) {
        (0, 0)
    }
    fn add(&self, (_, temperature, _): Reading, acc: &mut (i64, i64)) {
        acc.0 += temperature;
        acc.1 += 1;
    }
    fn get_result(&self, acc: &(i64, i64)) -> f64 {
        acc.0 as f64 / acc.1 as f64
    }
    fn merge(&self, a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// Adds the sensor and the window end to the average.
#[derive(Clone)]
pub struct WithWindowEnd;

impl ProcessWindowFunction<String, f64, (String, i64, f64)> for WithWindowEnd {
    fn process(
        &mut self,
        sensor: &String,
        ctx: &ProcessWindowContext<'_>,
        averages: Vec<f64>,
        out: &mut Collector<'_, (String, i64, f64)>,
    ) -> UserResult {
        for average in averages {
            out.collect((sensor.clone(), ctx.window().end(), average));
        }
        Ok(())
    }
}

/// Average temperature per sensor and 10 s window (`examples/event_time_windows.rs`).
#[pipeline]
pub fn event_time_windows(env: &mut StreamExecutionEnvironment, out: &mut Output<(String, i64, f64)>) {
    let watermarks =
        WatermarkStrategy::for_bounded_out_of_orderness(2_000).with_timestamp_assigner(|r: &Reading, _| r.2);
    let averages = env
        .from_iter(sensor_readings())
        .assign_timestamps_and_watermarks(watermarks)
        .key_by(|r: &Reading| r.0.clone())
        .window(TumblingEventTimeWindows::of(10_000))
        .aggregate_with_process(Average, WithWindowEnd);
    *out = Some(averages.collect_to_vec());
}

/// Counts the clicks of one session.
#[derive(Clone)]
pub struct SessionSummary;

impl ProcessWindowFunction<String, Click, (String, i64, i64, usize)> for SessionSummary {
    fn process(
        &mut self,
        user: &String,
        ctx: &ProcessWindowContext<'_>,
        clicks: Vec<Click>,
        out: &mut Collector<'_, (String, i64, i64, usize)>,
    ) -> UserResult {
        out.collect((user.clone(), ctx.window().start(), ctx.window().end(), clicks.len()));
        Ok(())
    }
}

/// User sessions with a 30 s gap (`examples/sessions.rs`).
#[pipeline]
pub fn sessions(env: &mut StreamExecutionEnvironment, out: &mut Output<(String, i64, i64, usize)>) {
    let timestamps = WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|c: &Click, _| c.2);
    let summaries = env
        .from_iter(clicks())
        .assign_timestamps_and_watermarks(timestamps)
        .key_by(|c: &Click| c.0.clone())
        .window(EventTimeSessionWindows::with_gap(30_000))
        .process(SessionSummary);
    *out = Some(summaries.collect_to_vec());
}

/// kWh per meter and 10 s window through an injected failure, exactly once, with keyed state
/// in `backend` (`examples/exactly_once.rs`; here the collecting sink commits with the
/// checkpoints).
#[pipeline]
pub fn exactly_once(
    env: &mut StreamExecutionEnvironment,
    out: &mut Output<String>,
    backend: &streamcrab::state::StateBackend,
) {
    env.set_parallelism(2);
    env.set_state_backend(backend.clone());
    env.enable_checkpointing(std::time::Duration::from_millis(20));
    env.set_restart_strategy(streamcrab::checkpoint::RestartStrategy::FixedDelay {
        attempts: 3,
        delay: std::time::Duration::from_millis(10),
    });
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let windows = env
        .from_fn(meter_reading)
        .map(move |reading: MeterReading| {
            use std::sync::atomic::Ordering;
            if seen.fetch_add(1, Ordering::Relaxed) == INJECTED_FAILURE_AT && !failed.swap(true, Ordering::SeqCst) {
                panic!("injected failure at reading {INJECTED_FAILURE_AT}");
            }
            reading
        })
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|r: &MeterReading, _| r.2),
        )
        .key_by(|r: &MeterReading| r.0.clone())
        .window(TumblingEventTimeWindows::of(10_000))
        .reduce(|a, b| (a.0, a.1 + b.1, a.2.max(b.2)))
        .map(|(meter, kwh, last): MeterReading| format!("{meter} {} {kwh}", (last.div_euclid(10_000) + 1) * 10_000));
    *out = Some(windows.collect_to_vec());
}
