use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).map(|x: i64| x).set_parallelism(8).set_max_parallelism(4).print();
}

fn main() {}
