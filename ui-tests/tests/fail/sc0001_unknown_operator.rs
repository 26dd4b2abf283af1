use streamcrab::prelude::*;

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_iter(vec!["a b".to_string()]).flatmap(|l: String| vec![l]).print();
}

fn main() {}
