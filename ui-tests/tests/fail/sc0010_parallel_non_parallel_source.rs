use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_iter(vec![1, 2, 3]).set_parallelism(3).print();
}

fn main() {}
