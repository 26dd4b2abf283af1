use streamcrab::functions::OutputTag;
use streamcrab::prelude::*;

#[derive(Clone)]
struct Split(OutputTag<String>);

impl ProcessFunction<i64, i64> for Split {
    fn process_element(&mut self, v: i64, ctx: &mut ProcessContext<'_>, out: &mut Collector<'_, i64>) -> UserResult {
        if v % 2 == 0 {
            out.collect(v);
        } else {
            ctx.output(&self.0, v.to_string());
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Both;

impl CoMapFunction<i64, String, String> for Both {
    fn map1(&mut self, v: i64) -> String {
        v.to_string()
    }
    fn map2(&mut self, v: String) -> String {
        v
    }
}

#[pipeline]
fn transformations(env: &mut StreamExecutionEnvironment) {
    env.set_parallelism(2);
    let tag = OutputTag::<String>::new("odd");
    let numbers = env.from_sequence(1, 100).map(|x: i64| x + 1).filter(|x: &i64| *x > 3).flat_map(|x: i64| vec![x, x]);
    let split = numbers.process(Split(tag.clone())).name("split").uid("split").set_max_parallelism(64);
    let odd = split.get_side_output(&tag);
    let evens = split.rebalance().map(|x: i64| x).shuffle().map(|x: i64| x).broadcast().map(|x: i64| x);
    let more = env.from_sequence(1, 5).forward().map(|x: i64| x).disable_chaining().map(|x: i64| x).start_new_chain();
    let all = evens.union(more);
    all.connect(odd).map(Both).print();
}

fn main() {
    assert!(TRANSFORMATIONS.chains > 1);
}
