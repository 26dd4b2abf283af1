use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    let left = env.from_sequence(1, 10);
    let right = env.from_sequence(1, 10);
    left.connect(right).filter(|x: &i64| *x > 0).print();
}

fn main() {}
