use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).reduce(|a, b| a + b).print();
    env.from_sequence(1, 10).mapp(|x: i64| x).print();
    env.from_sequence(1, 10).print().filter(|x: &i64| *x > 0);
}

fn main() {}
