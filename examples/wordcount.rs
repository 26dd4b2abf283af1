//! WordCount on the embedded executor: the README's Quick Start.
//!
//! `cargo run --release --example wordcount` prints a rolling count per word.

use streamcrab::environment::StreamExecutionEnvironment;

fn main() -> Result<(), streamcrab::error::JobError> {
    let env = StreamExecutionEnvironment::new("wordcount");
    env.from_iter(vec!["hello world".to_string(), "hello streamcrab".to_string()])
        .flat_map(|line: String| line.split_whitespace().map(String::from).collect::<Vec<_>>())
        .map(|word: String| (word, 1i32))
        .key_by::<String, _>(|(w, _)| w.clone())
        .reduce(|(w, c1), (_, c2)| (w, c1 + c2))
        .print();
    env.execute()?;
    Ok(())
}
