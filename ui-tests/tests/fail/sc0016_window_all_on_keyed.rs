use streamcrab::prelude::*;
use streamcrab::window::GlobalWindows;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 2).window_all(GlobalWindows::create()).reduce(|a, b| a + b).print();
}

fn main() {}
