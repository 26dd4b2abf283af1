//! Average temperature per sensor in tumbling 10 s event-time windows.
//!
//! Readings arrive up to 1.5 s out of order; a bounded-out-of-orderness watermark of 2 s keeps
//! every reading in its window. Prints `(sensor, window end, average in tenths of a degree)`.
//!
//! `cargo run --release --example event_time_windows`

use streamcrab::prelude::*;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::TumblingEventTimeWindows;
use streamcrab_examples::data::{Reading, sensor_readings};
use streamcrab_examples::pipelines::{Average, WithWindowEnd};

fn main() -> Result<(), JobError> {
    let env = StreamExecutionEnvironment::new("event-time-windows");
    let watermarks =
        WatermarkStrategy::for_bounded_out_of_orderness(2_000).with_timestamp_assigner(|r: &Reading, _| r.2);
    env.from_iter(sensor_readings())
        .assign_timestamps_and_watermarks(watermarks)
        .key_by(|r: &Reading| r.0.clone())
        .window(TumblingEventTimeWindows::of(10_000))
        .aggregate_with_process(Average, WithWindowEnd)
        .print();
    env.execute()?;
    Ok(())
}
