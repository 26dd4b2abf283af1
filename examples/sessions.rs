//! User sessions: clicks of a user closer than 30 s apart belong to one session (event-time
//! session windows merge as clicks arrive). Prints `(user, session start, session end, clicks)`.
//!
//! `cargo run --release --example sessions`

use streamcrab::prelude::*;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::EventTimeSessionWindows;
use streamcrab_examples::data::{Click, clicks};
use streamcrab_examples::pipelines::SessionSummary;

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
