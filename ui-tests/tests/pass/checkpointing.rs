use std::time::Duration;

use streamcrab::checkpoint::{CheckpointConfig, RestartStrategy};
use streamcrab::file_sink::ExactlyOnceFileSink;
use streamcrab::prelude::*;

#[pipeline]
fn checkpointed(env: &mut StreamExecutionEnvironment) {
    env.enable_checkpointing(Duration::from_millis(100));
    env.set_checkpoint_config(CheckpointConfig::new(Duration::from_millis(50)));
    env.set_restart_strategy(RestartStrategy::NoRestart);
    env.set_checkpoint_dir(std::env::temp_dir().join("ui-checkpoints"));
    env.set_state_backend(streamcrab::state::StateBackend::Heap);
    env.from_sequence(1, 10)
        .map(|x: i64| x.to_string())
        .uid("to-string")
        .add_two_phase_commit_sink(ExactlyOnceFileSink::new(std::env::temp_dir().join("ui-out")))
        .uid("files");
}

fn main() {
    assert_eq!(CHECKPOINTED.operators.len(), 3);
    assert_eq!(CHECKPOINTED.chains, 1);
}
