use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    let numbers = env.from_sequence(1, 10);
    numbers.map(|x: i64| x + 1).print();
    numbers.map(|x: i64| x - 1).print();
}

fn main() {}
