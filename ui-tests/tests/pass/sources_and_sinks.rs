use streamcrab::prelude::*;
use streamcrab::sink::CollectedResults;

#[derive(Clone)]
struct Numbers;

impl SourceFunction<i64> for Numbers {
    fn run(&mut self, ctx: &mut SourceContext<'_, i64>) -> UserResult {
        ctx.collect_with_timestamp(1, 10)?;
        Ok(())
    }
}

#[derive(Clone)]
struct Discard;

impl SinkFunction<i64> for Discard {
    fn invoke(&mut self, _: i64, _: &mut SinkContext<'_>) -> UserResult {
        Ok(())
    }
}

#[pipeline]
fn sources(env: &mut StreamExecutionEnvironment, out: &mut Option<CollectedResults<u64>>) {
    env.from_iter(vec![1, 2, 3]).print();
    env.from_sequence(1, 10).set_parallelism(2).add_sink(Discard).name("discard").uid("discard").set_parallelism(1);
    *out = Some(env.from_fn(|i| (i < 3).then_some(i)).collect_to_vec());
    env.read_text_file("/dev/null").write_as_text("/dev/null");
    env.add_source(Numbers).print();
}

fn main() {
    assert_eq!(SOURCES.operators.len(), 10);
}
