use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 2).reduce(|a: i64, b: i64| (a + b).to_string()).print();
}

fn main() {}
