//! `pipeline` cases: the op list mapped onto the builder API and run on the embedded executor.
//!
//! Supported shapes: a head (`source`, `union`, `connect`), then nothing, `key_by` followed by
//! `reduce` / `process` / `window`, or `window_all`. Anything else is reported unsupported.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use streamcrab::datastream::DataStream;
use streamcrab::functions::OutputTag;
use streamcrab::prelude::*;
use streamcrab::sink::CollectedResults;
use streamcrab::watermark::{BoundedOutOfOrderness, WatermarkGenerator, WatermarkOutput};
use streamcrab::window::{
    EventTimeSessionWindows, Evictor, GlobalWindows, SlidingEventTimeWindows, Trigger, TumblingEventTimeWindows,
    WindowAssigner,
};

use super::Outcome;
use super::compare::{Produced, compare};
use super::functions::{Avg, CoTag, Summary, TimerCount, WindowMeta, field_key, reducer};

/// A record of the cases: a flat JSON object.
/// A case's record: a JSON object. Kept in state as its JSON text, because the state backends
/// store values with bincode, which cannot decode a self-describing `serde_json::Value`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Rec(pub(crate) serde_json::Map<String, Value>);

impl Rec {
    pub(crate) fn new() -> Self {
        Self::default()
    }
}

impl std::ops::Deref for Rec {
    type Target = serde_json::Map<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Rec {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl serde::Serialize for Rec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Value::Object(self.0.clone()).to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Rec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        serde_json::from_str(&text).map(Rec).map_err(serde::de::Error::custom)
    }
}

/// Time given to the pipeline to process one element before the next `seq` is delivered.
const SEQ_SLOT: Duration = Duration::from_millis(30);

type Unsupported = String;

fn int(v: &Value, what: &str) -> Result<i64, Unsupported> {
    v.as_i64().ok_or_else(|| format!("{what}: expected an integer, got {v}"))
}

/// The assigner described by a case's `assigner` object.
pub(crate) fn assigner(v: &Value) -> Result<WindowAssigner, Unsupported> {
    let offset = v.get("offset_ms").map_or(Ok(0), |o| int(o, "offset_ms"))?;
    Ok(match v["type"].as_str() {
        Some("tumbling") => TumblingEventTimeWindows::with_offset(int(&v["size_ms"], "size_ms")?, offset),
        Some("sliding") => SlidingEventTimeWindows::with_offset(
            int(&v["size_ms"], "size_ms")?,
            int(&v["slide_ms"], "slide_ms")?,
            offset,
        ),
        Some("session") => EventTimeSessionWindows::with_gap(int(&v["gap_ms"], "gap_ms")?),
        Some("global") | Some("count") => GlobalWindows::create(),
        other => return Err(format!("window assigner {other:?}")),
    })
}

/// Delivers elements of several inputs in ascending `seq`.
struct Sequencer {
    next: Mutex<i64>,
    turn: Condvar,
}

impl Sequencer {
    fn wait_for(&self, seq: i64) -> Result<(), String> {
        let guard = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, timeout) = self
            .turn
            .wait_timeout_while(guard, Duration::from_secs(30), |next| *next != seq)
            .unwrap_or_else(PoisonError::into_inner);
        drop(guard);
        if timeout.timed_out() { Err(format!("element with seq {seq} never got its turn")) } else { Ok(()) }
    }

    fn done(&self, seq: i64) {
        *self.next.lock().unwrap_or_else(PoisonError::into_inner) = seq + 1;
        self.turn.notify_all();
    }
}

/// One input of a case, replayed as a bounded source.
#[derive(Clone)]
struct ScriptedSource {
    elements: Vec<Value>,
    bounded_out_of_orderness: Option<i64>,
    sequencer: Arc<Sequencer>,
}

impl SourceFunction<Rec> for ScriptedSource {
    fn run(&mut self, ctx: &mut SourceContext<'_, Rec>) -> UserResult {
        let mut generator = self.bounded_out_of_orderness.map(BoundedOutOfOrderness::new);
        let mut last_watermark = i64::MIN;
        let mut emit_periodic = |generator: &mut BoundedOutOfOrderness, ctx: &mut SourceContext<'_, Rec>| {
            let mut output = WatermarkOutput::default();
            generator.on_periodic_emit(&mut output);
            match output.take_watermark() {
                Some(w) if w > last_watermark => {
                    last_watermark = w;
                    ctx.emit_watermark(w)
                }
                _ => Ok(()),
            }
        };
        for element in &self.elements {
            let seq = element.get("seq").and_then(Value::as_i64);
            if let Some(seq) = seq {
                self.sequencer.wait_for(seq)?;
            }
            if element.get("end").is_some() {
                if let Some(seq) = seq {
                    self.sequencer.done(seq);
                }
                break;
            }
            if let Some(rec) = element.get("rec") {
                let ts = element["ts"].as_i64().ok_or("record without ts")?;
                let rec = rec.as_object().ok_or("record is not an object")?.clone();
                if let Some(g) = generator.as_mut() {
                    g.on_event(ts, &mut WatermarkOutput::default());
                }
                ctx.collect_with_timestamp(Rec(rec), ts)?;
            } else if let Some(w) = element.get("wm") {
                ctx.emit_watermark(w.as_i64().ok_or("wm is not an integer")?)?;
            } else if element.get("idle").is_some() {
                ctx.mark_idle()?;
            } else if element.get("periodic_emit").is_some() {
                let g = generator.as_mut().ok_or("periodic_emit needs a bounded_out_of_orderness strategy")?;
                emit_periodic(g, ctx)?;
            } else {
                return Err(format!("unknown input element {element}").into());
            }
            if let Some(seq) = seq {
                ctx.flush()?;
                std::thread::sleep(SEQ_SLOT);
                self.sequencer.done(seq);
            }
        }
        if let Some(g) = generator.as_mut() {
            emit_periodic(g, ctx)?;
        }
        Ok(())
    }
}

/// What a job hands back: the main output and the late side output (if the case has one).
struct Outputs {
    main: CollectedResults<Rec>,
    late: Option<(String, CollectedResults<Rec>)>,
}

fn collect<M: Data, H: ChainHead<M>, L: Stage<M, Rec>>(
    stream: DataStream<Rec, M, H, L>,
    late: Option<String>,
) -> Outputs {
    let late = late.map(|name| {
        let results = stream.get_side_output(&OutputTag::<Rec>::new(&name)).collect_to_vec();
        (name, results)
    });
    Outputs { main: stream.collect_to_vec(), late }
}

use streamcrab::datastream::WindowedStream;
use streamcrab::input::ChainHead;
use streamcrab::operator::Stage;

fn window<K, KS, M, H, L>(
    windowed: WindowedStream<Rec, K, KS, M, H, L>,
    op: &Value,
    key_field: Option<String>,
) -> Result<Outputs, Unsupported>
where
    K: Key,
    KS: Fn(&Rec) -> K + Clone + Send + 'static,
    M: Data,
    H: ChainHead<M>,
    L: Stage<M, Rec>,
{
    let mut windowed = windowed;
    if op["assigner"]["type"] == "count" {
        let size = int(&op["assigner"]["size"], "count size")?;
        windowed = match op["assigner"].get("slide") {
            Some(slide) => {
                windowed.evictor(Evictor::Count(size as usize)).trigger(Trigger::Count(int(slide, "slide")? as u64))
            }
            None => windowed.trigger(Trigger::Purging(Box::new(Trigger::Count(size as u64)))),
        };
    }
    if let Some(trigger) = op.get("trigger") {
        let base = if let Some(n) = trigger.get("count") {
            Trigger::Count(int(n, "count trigger")? as u64)
        } else if trigger.get("event_time").is_some() {
            Trigger::EventTime
        } else {
            return Err(format!("trigger {trigger}"));
        };
        let purging = trigger.get("purging").and_then(Value::as_bool).unwrap_or(false);
        windowed = windowed.trigger(if purging { Trigger::Purging(Box::new(base)) } else { base });
    }
    if let Some(evictor) = op.get("evictor") {
        windowed = windowed.evictor(Evictor::Count(int(&evictor["count"], "evictor count")? as usize));
    }
    if let Some(lateness) = op.get("allowed_lateness_ms") {
        windowed = windowed.allowed_lateness(int(lateness, "allowed_lateness_ms")?);
    }
    let late = op.get("late_output").and_then(Value::as_str).map(str::to_string);
    if let Some(name) = &late {
        windowed = windowed.side_output_late_data(&OutputTag::new(name));
    }
    let f = &op["fn"];
    let field = f["field"].as_str().unwrap_or("v").to_string();
    let meta = match f.get("process").and_then(Value::as_str) {
        None => false,
        Some("window_meta") => true,
        Some("summary") if f.get("reduce").is_none() && f.get("aggregate").is_none() => {
            return Ok(collect(windowed.process(Summary { field, key_field }), late));
        }
        Some(other) => return Err(format!("window process function '{other}'")),
    };
    if let Some(kind) = f.get("reduce").and_then(Value::as_str) {
        let reduce = reducer(kind, field)?;
        return Ok(if meta {
            collect(windowed.reduce_with_process(reduce, WindowMeta), late)
        } else {
            collect(windowed.reduce(reduce), late)
        });
    }
    if f.get("aggregate").and_then(Value::as_str) == Some("avg") {
        let avg = Avg { field, key_field };
        return Ok(if meta {
            collect(windowed.aggregate_with_process(avg, WindowMeta), late)
        } else {
            collect(windowed.aggregate(avg), late)
        });
    }
    Err(format!("window function {f}"))
}

fn tail<M: Data, H: ChainHead<M>, L: Stage<M, Rec>>(
    stream: DataStream<Rec, M, H, L>,
    rest: &[Value],
) -> Result<Outputs, Unsupported> {
    match rest {
        [] => Ok(collect(stream, None)),
        [key_by, op] if key_by["op"] == "key_by" => {
            let field = key_by["field"].as_str().ok_or("key_by without field")?.to_string();
            let key_field = field.clone();
            let keyed = stream.key_by(move |r: &Rec| field_key(r, &field));
            match op["op"].as_str() {
                Some("reduce") => {
                    let reduce =
                        reducer(op["fn"].as_str().unwrap_or_default(), op["field"].as_str().unwrap_or("v").into())?;
                    Ok(collect(keyed.reduce(reduce), None))
                }
                Some("process") if op["fn"] == "timer_count" => {
                    let delay = int(&op["params"]["delay_ms"], "delay_ms")?;
                    let rearm = op["params"].get("rearm_ms").map_or(Ok(0), |r| int(r, "rearm_ms"))?;
                    Ok(collect(keyed.process(TimerCount::new(delay, rearm)), None))
                }
                Some("window") => window(keyed.window(assigner(&op["assigner"])?), op, Some(key_field)),
                _ => Err(format!("keyed operator {op}")),
            }
        }
        [op] if op["op"] == "window_all" => window(stream.window_all(assigner(&op["assigner"])?), op, None),
        _ => Err(format!("operator sequence {}", Value::Array(rest.to_vec()))),
    }
}

fn source(
    env: &StreamExecutionEnvironment,
    case: &Value,
    name: &str,
    sequencer: &Arc<Sequencer>,
) -> Result<
    impl Fn() -> DataStream<Rec, Rec, streamcrab::source::FunctionSource<ScriptedSource>, streamcrab::operator::Identity>,
    Unsupported,
> {
    let input = case["inputs"].get(name).ok_or_else(|| format!("unknown input '{name}'"))?;
    let strategy = &input["watermark_strategy"];
    let bounded = match strategy["type"].as_str() {
        None | Some("explicit") => None,
        Some("bounded_out_of_orderness") => Some(int(&strategy["max_out_of_orderness_ms"], "max_out_of_orderness_ms")?),
        Some(other) => return Err(format!("watermark strategy '{other}'")),
    };
    let source = ScriptedSource {
        elements: input["elements"].as_array().cloned().unwrap_or_default(),
        bounded_out_of_orderness: bounded,
        sequencer: sequencer.clone(),
    };
    let env = env.clone();
    let name = format!("Source: {name}");
    Ok(move || env.add_source(source.clone()).name(&name).set_parallelism(1))
}

fn produced(results: &CollectedResults<Rec>) -> Vec<Produced> {
    results.records().into_iter().map(|r| (r.timestamp, Value::Object(r.value.0))).collect()
}

/// Runs a pipeline case.
pub(crate) fn run(case: &Value, backend: &streamcrab::state::StateBackend) -> Outcome {
    match build_and_run(case, backend) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(diff)) => Outcome::Fail(diff),
        Err(unsupported) => Outcome::Unsupported(unsupported),
    }
}

fn build_and_run(case: &Value, backend: &streamcrab::state::StateBackend) -> Result<Result<(), String>, Unsupported> {
    let parallelism = case.get("parallelism").map_or(Ok(1), |p| int(p, "parallelism"))? as u32;
    let env = StreamExecutionEnvironment::new(case["id"].as_str().unwrap_or("case"));
    env.set_parallelism(parallelism).set_state_backend(backend.clone());
    let sequencer = Arc::new(Sequencer { next: Mutex::new(0), turn: Condvar::new() });
    let ops = case["pipeline"].as_array().cloned().unwrap_or_default();
    let (first, rest) = ops.split_first().ok_or("empty pipeline")?;
    let outputs = match first["op"].as_str() {
        Some("source") => tail(source(&env, case, first["input"].as_str().unwrap_or_default(), &sequencer)?(), rest)?,
        Some("union") => {
            let names: Vec<&str> =
                first["inputs"].as_array().ok_or("union inputs")?.iter().filter_map(Value::as_str).collect();
            let (head, others) = names.split_first().ok_or("union of nothing")?;
            let first_input = source(&env, case, head, &sequencer)?();
            let mut unioned = match others.split_first() {
                Some((second, _)) => first_input.union(source(&env, case, second, &sequencer)?()),
                None => return Err("union of a single input".into()),
            };
            for name in others.iter().skip(1) {
                unioned = unioned.union(source(&env, case, name, &sequencer)?());
            }
            tail(unioned, rest)?
        }
        Some("connect") if first.get("key_by").is_none() && first["fn"] == "co_tag" => {
            let left = source(&env, case, first["left"].as_str().unwrap_or_default(), &sequencer)?();
            let right = source(&env, case, first["right"].as_str().unwrap_or_default(), &sequencer)?();
            tail(left.connect(right).process(CoTag), rest)?
        }
        _ => return Err(format!("head operator {first}")),
    };
    let result = env.execute();
    let expected = &case["expected"];
    let result = match result {
        Err(e) => return Ok(Err(format!("the job failed: {e}"))),
        Ok(result) => result,
    };
    let mut failures = Vec::new();
    if let Err(diff) = compare("main output", &produced(&outputs.main), &expected["main"]) {
        failures.push(diff);
    }
    if let Some(sides) = expected.get("side_outputs").and_then(Value::as_object) {
        for (name, want) in sides {
            match &outputs.late {
                Some((late, results)) if late == name => {
                    if let Err(diff) = compare(&format!("side output '{name}'"), &produced(results), want) {
                        failures.push(diff);
                    }
                }
                _ => failures.push(format!("side output '{name}' was not produced")),
            }
        }
    }
    if let Some(want) = expected.get("watermarks_at_sink").and_then(Value::as_array)
        && parallelism == 1
    {
        let want: Vec<Option<i64>> = want.iter().map(Value::as_i64).collect();
        let got: Vec<Option<i64>> = outputs.main.watermarks().into_iter().map(Some).collect();
        if want != got {
            failures.push(format!("watermarks at sink: expected {want:?}, got {got:?}"));
        }
    }
    let _ = result;
    Ok(if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) })
}
