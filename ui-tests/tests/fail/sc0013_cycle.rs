use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    let doubled = numbers.map(|x: i64| x * 2);
    let numbers = env.from_sequence(1, 10).union(doubled);
    numbers.print();
}

fn main() {}
