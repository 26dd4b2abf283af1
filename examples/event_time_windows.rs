//! Average temperature per sensor in tumbling 10 s event-time windows.
//!
//! Readings arrive up to 1.5 s out of order; a bounded-out-of-orderness watermark of 2 s keeps
//! every reading in its window. Prints `(sensor, window end, average in tenths of a degree)`.
//!
//! `cargo run --release --example event_time_windows`

use streamcrab::prelude::*;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::{ProcessWindowContext, ProcessWindowFunction, TumblingEventTimeWindows};
use streamcrab_examples::data::{Reading, sensor_readings};

/// Sum and count of temperatures.
#[derive(Clone)]
struct Average;

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
struct WithWindowEnd;

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
