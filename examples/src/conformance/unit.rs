//! `unit` cases: Flink's building blocks called directly.

use serde_json::{Value, json};
use streamcrab::element::{Watermark, WatermarkStatus};
use streamcrab::keygroup::{
    KeyGroupRange, KeyHash, default_max_parallelism, key_group_for_hash, murmur_hash, operator_index_for_key_group,
};
use streamcrab::valve::{StatusWatermarkValve, ValveOutput};
use streamcrab::watermark::{BoundedOutOfOrderness, WatermarkGenerator, WatermarkOutput};
use streamcrab::window::{TimeWindow, merge_windows};

use super::Outcome;
use super::compare::json_eq;
use super::pipeline::assigner;

fn int(v: &Value) -> Result<i64, String> {
    v.as_i64().ok_or_else(|| format!("expected an integer, got {v}"))
}

fn pair(v: &Value) -> Result<(i64, i64), String> {
    Ok((int(&v[0])?, int(&v[1])?))
}

fn sorted_pairs(v: &Value) -> Result<Vec<(i64, i64)>, String> {
    let mut pairs = v.as_array().ok_or("expected a list")?.iter().map(pair).collect::<Result<Vec<_>, _>>()?;
    pairs.sort();
    Ok(pairs)
}

/// Runs every check of a unit case.
pub(crate) fn run(case: &Value) -> Outcome {
    let function = case["function"].as_str().unwrap_or_default();
    let Some(checks) = case["checks"].as_array() else { return Outcome::Fail("no checks".into()) };
    let mut failures = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        let computed = match function {
            "assign_windows" => assign_windows(&check["input"]),
            "merge_session_windows" => merge_session_windows(&check["input"]),
            "key_group" => key_group(&check["input"]),
            "key_group_range" => key_group_range(&check["input"]),
            "default_max_parallelism" => {
                int(&check["input"]["parallelism"]).map(|p| json!(default_max_parallelism(p as u32)))
            }
            "bounded_out_of_orderness_generator" => bounded_out_of_orderness(&check["input"]),
            "status_watermark_valve" => valve(&check["input"]),
            other => return Outcome::Unsupported(format!("unit function '{other}'")),
        };
        let expected = normalise(function, &check["expected"]);
        match computed {
            Ok(got) if json_eq(&got, &expected) => {}
            Ok(got) => {
                failures.push(format!("check {i}: input {}\n  expected {expected}\n  got      {got}", check["input"]))
            }
            Err(e) => failures.push(format!("check {i}: {e}")),
        }
    }
    if failures.is_empty() { Outcome::Pass } else { Outcome::Fail(failures.join("\n")) }
}

/// Puts set-valued expectations into the canonical order the computations produce.
fn normalise(function: &str, expected: &Value) -> Value {
    match function {
        "assign_windows" => sorted_pairs(expected).map(|p| json!(p)).unwrap_or(expected.clone()),
        "merge_session_windows" => {
            let mut groups: Vec<Value> = expected
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| json!({"merged": sorted_pairs(&g["merged"]).unwrap_or_default(), "result": g["result"]}))
                .collect();
            groups.sort_by_key(|g| g["result"][0].as_i64());
            Value::Array(groups)
        }
        _ => expected.clone(),
    }
}

fn assign_windows(input: &Value) -> Result<Value, String> {
    let assigner = assigner(&input["assigner"])?;
    let mut windows = Vec::new();
    let ts = int(&input["ts"])?;
    assigner.assign_windows(ts, ts, &mut windows);
    let mut pairs: Vec<(i64, i64)> = windows.iter().map(|w| (w.start(), w.end())).collect();
    pairs.sort();
    Ok(json!(pairs))
}

fn merge_session_windows(input: &Value) -> Result<Value, String> {
    let windows: Vec<TimeWindow> =
        sorted_pairs(&input["windows"])?.into_iter().map(|(s, e)| TimeWindow::new(s, e)).collect();
    let mut groups: Vec<Value> = merge_windows(&windows)
        .into_iter()
        .map(|(result, merged)| {
            let mut merged: Vec<(i64, i64)> = merged.iter().map(|w| (w.start, w.end)).collect();
            merged.sort();
            json!({"merged": merged, "result": [result.start, result.end]})
        })
        .collect();
    groups.sort_by_key(|g| g["result"][0].as_i64());
    Ok(Value::Array(groups))
}

fn key_group(input: &Value) -> Result<Value, String> {
    let key = &input["key"];
    let hash = if let Some(v) = key.get("int") {
        (int(v)? as i32).key_hash()
    } else if let Some(v) = key.get("long") {
        int(v)?.key_hash()
    } else if let Some(v) = key.get("string") {
        v.as_str().ok_or("string key")?.key_hash()
    } else {
        return Err(format!("unknown key kind {key}"));
    };
    let max_parallelism = int(&input["max_parallelism"])? as u32;
    let key_group = key_group_for_hash(hash, max_parallelism);
    let mut by_parallelism = serde_json::Map::new();
    for p in input["parallelisms"].as_array().ok_or("parallelisms")? {
        let p = int(p)? as u32;
        by_parallelism.insert(p.to_string(), json!(operator_index_for_key_group(max_parallelism, p, key_group)));
    }
    Ok(json!({
        "java_hash_code": hash,
        "murmur_hash": murmur_hash(hash),
        "key_group": key_group,
        "operator_index_by_parallelism": by_parallelism,
    }))
}

fn key_group_range(input: &Value) -> Result<Value, String> {
    let range = KeyGroupRange::for_operator_index(
        int(&input["max_parallelism"])? as u32,
        int(&input["parallelism"])? as u32,
        int(&input["operator_index"])? as u32,
    );
    Ok(json!([range.start, range.end]))
}

fn bounded_out_of_orderness(input: &Value) -> Result<Value, String> {
    let mut generator = BoundedOutOfOrderness::new(int(&input["max_out_of_orderness_ms"])?);
    let mut output = WatermarkOutput::default();
    let (mut emitted, mut forwarded) = (Vec::new(), Vec::<i64>::new());
    for step in input["steps"].as_array().ok_or("steps")? {
        if let Some(ts) = step.get("event") {
            generator.on_event(int(ts)?, &mut output);
        } else if step.get("periodic_emit").is_some() {
            generator.on_periodic_emit(&mut output);
            if let Some(w) = output.take_watermark() {
                emitted.push(w);
                // The emitter forwards only watermarks above the last one, starting from MIN.
                if w > forwarded.last().copied().unwrap_or(i64::MIN) {
                    forwarded.push(w);
                }
            }
        } else {
            return Err(format!("unknown step {step}"));
        }
    }
    Ok(json!({"generator_output": emitted, "forwarded_downstream": forwarded}))
}

fn valve(input: &Value) -> Result<Value, String> {
    let mut valve = StatusWatermarkValve::new(int(&input["channels"])? as usize);
    let mut all = Vec::new();
    for step in input["steps"].as_array().ok_or("steps")? {
        let channel = int(&step["ch"])? as usize;
        let mut out = Vec::new();
        if let Some(w) = step.get("wm") {
            valve.input_watermark(channel, Watermark(int(w)?), &mut out);
        } else {
            let status = match step["status"].as_str() {
                Some("idle") => WatermarkStatus::Idle,
                Some("active") => WatermarkStatus::Active,
                other => return Err(format!("unknown status {other:?}")),
            };
            valve.input_watermark_status(channel, status, &mut out);
        }
        let out: Vec<Value> = out
            .into_iter()
            .map(|o| match o {
                ValveOutput::Watermark(w) => json!({"wm": w.0}),
                ValveOutput::Status(WatermarkStatus::Idle) => json!({"status": "idle"}),
                ValveOutput::Status(WatermarkStatus::Active) => json!({"status": "active"}),
            })
            .collect();
        all.push(Value::Array(out));
    }
    Ok(Value::Array(all))
}
