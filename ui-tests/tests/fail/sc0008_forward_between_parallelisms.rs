use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).set_parallelism(2).forward().map(|x: i64| x).set_parallelism(4).print();
}

fn main() {}
