use streamcrab::prelude::*;
use streamcrab::window::TumblingEventTimeWindows;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).window(TumblingEventTimeWindows::of(1000)).reduce(|a, b| a + b).print();
}

fn main() {}
