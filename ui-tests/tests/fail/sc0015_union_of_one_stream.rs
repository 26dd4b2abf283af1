#![deny(deprecated)]
use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).union().print();
}

fn main() {}
