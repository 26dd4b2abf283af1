//! `#[pipeline]` and `dataflow!` end to end: the compiled job computes what the builder job
//! computes, and its descriptor shows the chains Flink's rules give.

use streamcrab::prelude::*;
use streamcrab::sink::CollectedResults;

fn lines() -> Vec<String> {
    ["to be or not to be", "that is the question", "to be is to do"].iter().map(|s| s.to_string()).collect()
}

#[pipeline]
fn wordcount(env: &mut StreamExecutionEnvironment, out: &mut Option<CollectedResults<(String, i32)>>) {
    env.set_parallelism(2);
    let words = env.from_iter(lines()).flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>());
    let counts =
        words.map(|w: String| (w, 1)).key_by(|(w, _): &(String, i32)| w.clone()).reduce(|a, b| (a.0, a.1 + b.1));
    *out = Some(counts.collect_to_vec());
}

fn wordcount_builder() -> Vec<(String, i32)> {
    let env = StreamExecutionEnvironment::new("wordcount-builder");
    env.set_parallelism(2);
    let out = env
        .from_iter(lines())
        .flat_map(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|w: String| (w, 1))
        .key_by(|(w, _): &(String, i32)| w.clone())
        .reduce(|a, b| (a.0, a.1 + b.1))
        .collect_to_vec();
    env.execute().unwrap();
    out.values()
}

#[test]
fn pipeline_and_builder_give_identical_output() {
    let mut out = None;
    WORDCOUNT.execute(|env| wordcount(env, &mut out)).unwrap();
    let mut compiled = out.unwrap().values();
    let mut built = wordcount_builder();
    compiled.sort();
    built.sort();
    assert_eq!(compiled, built);
    assert_eq!(compiled.len(), 15, "one rolling count per word");
}

#[test]
fn the_descriptor_shows_the_chains() {
    assert_eq!(
        WORDCOUNT.describe(),
        "pipeline wordcount\n\
         \x20 chain 0 (parallelism 1): from_iter#0\n\
         \x20 chain 1 (parallelism 2): flat_map#1 -> map#2\n\
         \x20 chain 2 (parallelism 2): reduce#3 -> collect_to_vec#4\n\
         \x20 #0 -> #1 REBALANCE\n\
         \x20 #2 -> #3 HASH\n"
    );
    assert_eq!(WORDCOUNT.operators[3].uid, "wordcount-3-reduce");
    assert!(WORDCOUNT.mermaid().contains("op2 -->|HASH| op3"), "{}", WORDCOUNT.mermaid());
}

#[test]
fn dataflow_is_an_expression_returning_the_job() {
    let results: CollectedResults<i64> = CollectedResults::default();
    let sink = results.clone();
    let job = dataflow!(|env| {
        let evens = env.from_sequence(1, 10).filter(|x: &i64| x % 2 == 0);
        evens.map(|x| x * 10).add_sink(Collect(sink));
    });
    assert_eq!(job.descriptor().chains, 1);
    job.execute().unwrap();
    let mut values = results.values();
    values.sort();
    assert_eq!(values, vec![20, 40, 60, 80, 100]);
}

/// Appends every value to a shared [`CollectedResults`].
#[derive(Clone)]
struct Collect(CollectedResults<i64>);

impl SinkFunction<i64> for Collect {
    fn invoke(&mut self, value: i64, _: &mut SinkContext<'_>) -> UserResult {
        self.0.push(value);
        Ok(())
    }
}
