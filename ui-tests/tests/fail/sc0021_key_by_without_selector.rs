use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).key_by().reduce(|a, b| a + b).print();
}

fn main() {}
