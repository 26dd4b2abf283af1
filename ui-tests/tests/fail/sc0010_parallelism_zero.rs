use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).map(|x: i64| x).set_parallelism(0).print();
}

fn main() {}
