//! The user functions the case schema names (`sum`, `window_meta`, `avg`, `summary`,
//! `timer_count`, `co_tag`), written against the public API as a user would.

use serde_json::{Value, json};
use streamcrab::prelude::*;
use streamcrab::state::{AggregateFunction, ValueState};
use streamcrab::window::{ProcessWindowContext, ProcessWindowFunction};

use super::pipeline::Rec;

/// The key of a record: the field's string, or its JSON text for other values.
pub(crate) fn field_key(record: &Rec, field: &str) -> String {
    match record.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn number(record: &Rec, field: &str) -> i64 {
    record.get(field).and_then(Value::as_i64).unwrap_or(0)
}

/// A copy of the accumulated record with `field` combined (`sum`, `max`, `min`).
pub(crate) fn reducer(
    kind: &str,
    field: String,
) -> Result<impl FnMut(Rec, Rec) -> Rec + Clone + Send + 'static, String> {
    let combine: fn(i64, i64) -> i64 = match kind {
        "sum" => |a, b| a + b,
        "max" => |a, b| a.max(b),
        "min" => |a, b| a.min(b),
        other => return Err(format!("reduce function '{other}'")),
    };
    Ok(move |mut acc: Rec, element: Rec| {
        let value = combine(number(&acc, &field), number(&element, &field));
        acc.insert(field.clone(), json!(value));
        acc
    })
}

/// Adds `window_start` and `window_end` to the single pre-aggregated record.
#[derive(Clone)]
pub(crate) struct WindowMeta;

impl<K> ProcessWindowFunction<K, Rec, Rec> for WindowMeta {
    fn process(
        &mut self,
        _: &K,
        ctx: &ProcessWindowContext<'_>,
        elements: Vec<Rec>,
        out: &mut Collector<'_, Rec>,
    ) -> UserResult {
        for mut record in elements {
            record.insert("window_start".into(), json!(ctx.window().start()));
            record.insert("window_end".into(), json!(ctx.window().end()));
            out.collect(record);
        }
        Ok(())
    }
}

/// Average of `field`: accumulator (sum, count, key as JSON text) -> `{key, count, avg}`.
#[derive(Clone)]
pub(crate) struct Avg {
    pub(crate) field: String,
    pub(crate) key_field: Option<String>,
}

impl AggregateFunction<Rec> for Avg {
    type Acc = (i64, i64, Option<String>);
    type Out = Rec;
    fn create_accumulator(&self) -> Self::Acc {
        (0, 0, None)
    }
    fn add(&self, value: Rec, acc: &mut Self::Acc) {
        acc.0 += number(&value, &self.field);
        acc.1 += 1;
        if acc.2.is_none() {
            acc.2 = self.key_field.as_ref().and_then(|k| value.get(k)).map(Value::to_string);
        }
    }
    fn get_result(&self, acc: &Self::Acc) -> Rec {
        let mut out = Rec::new();
        if let (Some(field), Some(key)) = (&self.key_field, &acc.2) {
            out.insert(field.clone(), serde_json::from_str(key).unwrap_or(Value::Null));
        }
        out.insert("count".into(), json!(acc.1));
        out.insert("avg".into(), json!(acc.0 as f64 / acc.1 as f64));
        out
    }
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc {
        (a.0 + b.0, a.1 + b.1, a.2.or(b.2))
    }
}

/// Full window function: `{key, window_start, window_end, count, sum}`.
#[derive(Clone)]
pub(crate) struct Summary {
    pub(crate) field: String,
    pub(crate) key_field: Option<String>,
}

impl<K> ProcessWindowFunction<K, Rec, Rec> for Summary {
    fn process(
        &mut self,
        _: &K,
        ctx: &ProcessWindowContext<'_>,
        elements: Vec<Rec>,
        out: &mut Collector<'_, Rec>,
    ) -> UserResult {
        let mut record = Rec::new();
        if let (Some(field), Some(first)) = (&self.key_field, elements.first())
            && let Some(key) = first.get(field)
        {
            record.insert(field.clone(), key.clone());
        }
        record.insert("window_start".into(), json!(ctx.window().start()));
        record.insert("window_end".into(), json!(ctx.window().end()));
        record.insert("count".into(), json!(elements.len()));
        record.insert("sum".into(), json!(elements.iter().map(|e| number(e, &self.field)).sum::<i64>()));
        out.collect(record);
        Ok(())
    }
}

/// Counts elements per key; a timer `delay` after each element reports the count, and re-arms
/// once `rearm` later.
#[derive(Clone)]
pub(crate) struct TimerCount {
    delay: i64,
    rearm: i64,
    count: Option<ValueState<i64>>,
    rearmed: Option<ValueState<bool>>,
}

impl TimerCount {
    pub(crate) fn new(delay: i64, rearm: i64) -> Self {
        Self { delay, rearm, count: None, rearmed: None }
    }
}

impl KeyedProcessFunction<String, Rec, Rec> for TimerCount {
    fn open(&mut self, ctx: &mut RuntimeContext<'_>) -> UserResult {
        self.count = Some(ctx.get_state(&ValueStateDescriptor::new("count"))?);
        self.rearmed = Some(ctx.get_state(&ValueStateDescriptor::new("rearmed"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        _: Rec,
        ctx: &mut KeyedContext<'_, String>,
        _: &mut Collector<'_, Rec>,
    ) -> UserResult {
        let count = self.count.ok_or("not opened")?;
        let n = count.value(ctx)?.unwrap_or(0) + 1;
        count.update(ctx, n)?;
        let ts = ctx.timestamp().ok_or("element without timestamp")?;
        ctx.register_event_time_timer(ts + self.delay);
        Ok(())
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedContext<'_, String>,
        out: &mut Collector<'_, Rec>,
    ) -> UserResult {
        let (count, rearmed) = (self.count.ok_or("not opened")?, self.rearmed.ok_or("not opened")?);
        let mut record = Rec::new();
        record.insert("key".into(), json!(ctx.current_key()));
        record.insert("timer".into(), json!(timestamp));
        record.insert("count".into(), json!(count.value(ctx)?.unwrap_or(0)));
        record.insert("wm".into(), json!(ctx.current_watermark()));
        out.collect(record);
        if self.rearm > 0 && !rearmed.value(ctx)?.unwrap_or(false) {
            rearmed.update(ctx, true)?;
            ctx.register_event_time_timer(timestamp + self.rearm);
        }
        Ok(())
    }
}

/// Tags each record with the input it came from.
#[derive(Clone)]
pub(crate) struct CoTag;

impl CoTag {
    fn tag(mut record: Rec, side: &str, out: &mut Collector<'_, Rec>) -> UserResult {
        record.insert("side".into(), json!(side));
        out.collect(record);
        Ok(())
    }
}

impl CoProcessFunction<Rec, Rec, Rec> for CoTag {
    fn process_element1(
        &mut self,
        value: Rec,
        _: &mut CoProcessContext<'_>,
        out: &mut Collector<'_, Rec>,
    ) -> UserResult {
        Self::tag(value, "left", out)
    }
    fn process_element2(
        &mut self,
        value: Rec,
        _: &mut CoProcessContext<'_>,
        out: &mut Collector<'_, Rec>,
    ) -> UserResult {
        Self::tag(value, "right", out)
    }
}
