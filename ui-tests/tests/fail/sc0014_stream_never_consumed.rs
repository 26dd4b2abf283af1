#![deny(deprecated)]
use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    let unused = env.from_sequence(1, 10).map(|x: i64| x + 1);
    env.from_sequence(1, 10).print();
}

fn main() {}
