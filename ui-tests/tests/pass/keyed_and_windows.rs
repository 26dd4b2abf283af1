use streamcrab::functions::OutputTag;
use streamcrab::prelude::*;
use streamcrab::watermark::WatermarkStrategy;
use streamcrab::window::{
    Evictor, EventTimeSessionWindows, GlobalWindows, ProcessWindowContext, ProcessWindowFunction, Trigger,
    TumblingEventTimeWindows, TumblingProcessingTimeWindows,
};

#[derive(Clone)]
struct Count;

impl KeyedProcessFunction<i64, i64, i64> for Count {
    fn process_element(&mut self, v: i64, ctx: &mut KeyedContext<'_, i64>, out: &mut Collector<'_, i64>) -> UserResult {
        ctx.register_event_time_timer(v + 10);
        out.collect(v);
        Ok(())
    }
}

#[derive(Clone)]
struct Shared;

impl KeyedCoProcessFunction<i64, i64, i64, i64> for Shared {
    fn process_element1(&mut self, v: i64, _: &mut KeyedCoProcessContext<'_, i64>, out: &mut Collector<'_, i64>) -> UserResult {
        out.collect(v);
        Ok(())
    }
    fn process_element2(&mut self, v: i64, _: &mut KeyedCoProcessContext<'_, i64>, out: &mut Collector<'_, i64>) -> UserResult {
        out.collect(v);
        Ok(())
    }
}

#[derive(Clone)]
struct Sum;

impl AggregateFunction<i64> for Sum {
    type Acc = i64;
    type Out = i64;
    fn create_accumulator(&self) -> i64 {
        0
    }
    fn add(&self, v: i64, acc: &mut i64) {
        *acc += v;
    }
    fn get_result(&self, acc: &i64) -> i64 {
        *acc
    }
    fn merge(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

#[derive(Clone)]
struct Ends;

impl ProcessWindowFunction<i64, i64, (i64, i64)> for Ends {
    fn process(&mut self, k: &i64, ctx: &ProcessWindowContext<'_>, v: Vec<i64>, out: &mut Collector<'_, (i64, i64)>) -> UserResult {
        out.collect((*k, ctx.window().end() + v.len() as i64));
        Ok(())
    }
}

#[pipeline]
fn keyed(env: &mut StreamExecutionEnvironment) {
    let timed = |env: &mut StreamExecutionEnvironment| {
        env.from_sequence(1, 100)
            .assign_timestamps_and_watermarks(WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|x: &i64, _| *x))
    };
    let late = OutputTag::<i64>::new("late");
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 3).reduce(|a, b| a + b).print();
    env.from_iter(vec![(1, 2)]).key_by(|t: &(i32, i32)| t.0).sum(|t: &mut (i32, i32)| &mut t.1).print();
    env.from_iter(vec![(1, 2)]).key_by(|t: &(i32, i32)| t.0).min(|t: &mut (i32, i32)| &mut t.1).print();
    env.from_iter(vec![(1, 2)]).key_by(|t: &(i32, i32)| t.0).max(|t: &mut (i32, i32)| &mut t.1).print();
    // `Count` registers event-time timers, so its input needs timestamps (SC0004 otherwise).
    env.from_sequence(1, 10)
        .assign_timestamps_and_watermarks(WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|x: &i64, _| *x))
        .key_by(|x: &i64| *x % 3)
        .process(Count)
        .print();
    let left = env.from_sequence(1, 10).key_by(|x: &i64| *x % 3);
    let right = env.from_sequence(1, 10).key_by(|x: &i64| *x % 3);
    left.connect(right).process(Shared).print();
    let windows = timed(env)
        .key_by(|x: &i64| *x % 3)
        .window(TumblingEventTimeWindows::of(10))
        .allowed_lateness(5)
        .side_output_late_data(&late)
        .reduce(|a, b| a + b);
    windows.get_side_output(&late).print();
    windows.print();
    timed(env).key_by(|x: &i64| *x % 3).window(EventTimeSessionWindows::with_gap(5)).aggregate(Sum).print();
    timed(env).key_by(|x: &i64| *x % 3).window(TumblingEventTimeWindows::of(10)).process(Ends).print();
    timed(env).key_by(|x: &i64| *x % 3).window(TumblingEventTimeWindows::of(10)).reduce_with_process(|a, b| a + b, Ends).print();
    // Chains rooted at a helper call (`timed(env)`) pass through unanalysed; this one is analysed.
    env.from_sequence(1, 100)
        .assign_timestamps_and_watermarks(WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|x: &i64, _| *x))
        .key_by(|x: &i64| *x % 3)
        .window(TumblingEventTimeWindows::of(10))
        .aggregate_with_process(Sum, Ends)
        .print();
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 3).window(TumblingProcessingTimeWindows::of(10)).reduce(|a, b| a + b).print();
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 3).count_window(3).reduce(|a, b| a + b).print();
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 3).count_window_sliding(3, 1).reduce(|a, b| a + b).print();
    env.from_sequence(1, 10)
        .key_by(|x: &i64| *x % 3)
        .window(GlobalWindows::create())
        .trigger(Trigger::Count(2))
        .evictor(Evictor::Count(1))
        .reduce(|a, b| a + b)
        .print();
    env.from_sequence(1, 10).window_all(GlobalWindows::create()).trigger(Trigger::Count(5)).reduce(|a, b| a + b).print();
}

fn main() {
    let job = dataflow!(|env| {
        env.from_sequence(1, 3).map(|x: i64| x * 2).print();
    });
    assert_eq!(job.descriptor().operators.len(), 3);
    assert!(KEYED.operators.iter().any(|o| o.kind == "aggregate_with_process"));
}
