use streamcrab::prelude::*;

#[derive(Clone)]
struct CountPerKey;

impl KeyedProcessFunction<i64, i64, i64> for CountPerKey {
    fn process_element(&mut self, v: i64, _: &mut KeyedContext<'_, i64>, out: &mut Collector<'_, i64>) -> UserResult {
        out.collect(v);
        Ok(())
    }
}

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).process(CountPerKey).print();
}

fn main() {}
