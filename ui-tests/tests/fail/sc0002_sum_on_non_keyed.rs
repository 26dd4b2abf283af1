use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_iter(vec![("a", 1)]).sum(|t: &mut (&str, i32)| &mut t.1).print();
}

fn main() {}
