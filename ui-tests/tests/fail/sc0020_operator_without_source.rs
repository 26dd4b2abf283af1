use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.map(|x: i64| x).print();
}

fn main() {}
