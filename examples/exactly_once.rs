//! Exactly-once output through a failure: kWh per meter in tumbling 10 s event-time windows,
//! checkpointed every 20 ms into a folder, written by the exactly-once file sink. A map fails
//! once on purpose; the job restarts from its latest checkpoint, and the committed files hold
//! every window exactly once. Prints `meter window-end kWh` lines (sorted), and on stderr how
//! the run went.
//!
//! `cargo run --release --example exactly_once [output-dir]`
//!
//! `STREAMCRAB_STATE_BACKEND=rocksdb` (Flink's `state.backend.type`; needs
//! `--features rocksdb`) keeps the window state in RocksDB with incremental checkpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use streamcrab::checkpoint::RestartStrategy;
use streamcrab::file_sink::ExactlyOnceFileSink;
use streamcrab::prelude::*;
use streamcrab::state::StateBackend;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::TumblingEventTimeWindows;
use streamcrab_examples::data::{INJECTED_FAILURE_AT, MeterReading, meter_reading};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = std::env::temp_dir().join(format!("streamcrab-exactly-once-{}", std::process::id()));
    let output = std::env::args().nth(1).map_or_else(|| work.join("output"), Into::into);
    let backend = std::env::var("STREAMCRAB_STATE_BACKEND").ok();
    let env = StreamExecutionEnvironment::new("exactly-once");
    env.set_state_backend(StateBackend::from_config(backend.as_deref().map(|b| ("state.backend.type", b)))?);
    env.set_parallelism(2)
        .enable_checkpointing(Duration::from_millis(20))
        .set_checkpoint_dir(work.join("checkpoints"))
        .set_restart_strategy(RestartStrategy::FixedDelay { attempts: 3, delay: Duration::from_millis(10) });
    let (failed, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    env.from_fn(meter_reading)
        .map(move |reading: MeterReading| {
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
        .map(|(meter, kwh, last)| format!("{meter} {} {kwh}", (last.div_euclid(10_000) + 1) * 10_000))
        .add_two_phase_commit_sink(ExactlyOnceFileSink::new(&output));
    // The injected panic is reported on stderr by Rust's panic hook; the job recovers from it.
    let result = env.execute()?;
    let mut lines = ExactlyOnceFileSink::<String>::read_committed(&output)?;
    lines.sort();
    for line in &lines {
        println!("{line}");
    }
    eprintln!(
        "{} windows committed to {}; {} restart(s), {} checkpoints completed",
        lines.len(),
        output.display(),
        result.restarts(),
        result.completed_checkpoints()
    );
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}
