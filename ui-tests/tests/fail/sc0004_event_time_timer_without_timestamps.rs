use streamcrab::prelude::*;

/// Emits each value when the watermark passes it by 10: it needs event time upstream.
#[derive(Clone)]
struct Delay;

impl KeyedProcessFunction<i64, i64, i64> for Delay {
    fn process_element(&mut self, v: i64, ctx: &mut KeyedContext<'_, i64>, _: &mut Collector<'_, i64>) -> UserResult {
        ctx.register_event_time_timer(v + 10);
        Ok(())
    }
}

#[pipeline]
fn job(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(1, 10).key_by(|x: &i64| *x % 2).process(Delay).print();
}

fn main() {}
