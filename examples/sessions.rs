//! User sessions: clicks of a user closer than 30 s apart belong to one session (event-time
//! session windows merge as clicks arrive). Prints `(user, session start, session end, clicks)`.
//!
//! `cargo run --release --example sessions`

use streamcrab::prelude::*;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::{EventTimeSessionWindows, ProcessWindowContext, ProcessWindowFunction};
use streamcrab_examples::data::{Click, clicks};

/// Counts the clicks of one session.
#[derive(Clone)]
struct SessionSummary;

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

fn main() -> Result<(), JobError> {
    let env = StreamExecutionEnvironment::new("sessions");
    env.from_iter(clicks())
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|c: &Click, _| c.2),
        )
        .key_by(|c: &Click| c.0.clone())
        .window(EventTimeSessionWindows::with_gap(30_000))
        .process(SessionSummary)
        .print();
    env.execute()?;
    Ok(())
}
