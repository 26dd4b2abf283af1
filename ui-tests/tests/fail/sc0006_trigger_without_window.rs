use streamcrab::prelude::*;
use streamcrab::window::Trigger;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).trigger(Trigger::Count(3)).print();
}

fn main() {}
