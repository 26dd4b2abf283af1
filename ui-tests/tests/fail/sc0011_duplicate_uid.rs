use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).map(|x: i64| x).uid("double").print();
    env.from_sequence(1, 10).map(|x: i64| x * 2).uid("double").print();
}

fn main() {}
