use streamcrab::prelude::*;

#[pipeline]
fn job() {}

fn main() {}
