//! Comparing produced records with expected ones, in the case's `order` mode.

use serde_json::Value;

/// One output record: event timestamp and JSON value.
pub(crate) type Produced = (Option<i64>, Value);

/// JSON equality where numbers compare by value: integers exactly, others as doubles.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w)),
        _ => a == b,
    }
}

fn record_eq(produced: &Produced, expected: &Value) -> bool {
    expected["ts"].as_i64() == produced.0 && json_eq(&produced.1, &expected["value"])
}

fn show(records: &[Produced]) -> String {
    records
        .iter()
        .map(|(ts, v)| format!("  {{\"ts\": {}, \"value\": {v}}}", ts.map_or("null".into(), |t| t.to_string())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn diff(what: &str, produced: &[Produced], expected: &[Value]) -> String {
    let expected: Vec<String> = expected.iter().map(|e| format!("  {e}")).collect();
    format!("{what}: expected\n{}\ngot\n{}", expected.join("\n"), show(produced))
}

/// Removes from `pool` the first record matching `expected`; whether one did.
fn take_match(pool: &mut Vec<Produced>, expected: &Value) -> bool {
    match pool.iter().position(|p| record_eq(p, expected)) {
        Some(i) => {
            pool.remove(i);
            true
        }
        None => false,
    }
}

fn multiset_eq(produced: &[Produced], expected: &[Value]) -> bool {
    let mut pool = produced.to_vec();
    produced.len() == expected.len() && expected.iter().all(|e| take_match(&mut pool, e))
}

/// Compares `produced` with an expected output `{order, records[, key_field]}`.
pub(crate) fn compare(what: &str, produced: &[Produced], expected: &Value) -> Result<(), String> {
    let records = expected["records"].as_array().cloned().unwrap_or_default();
    let order = expected["order"].as_str().unwrap_or("exact");
    let ok = match order {
        "exact" => produced.len() == records.len() && produced.iter().zip(&records).all(|(p, e)| record_eq(p, e)),
        "multiset" => multiset_eq(produced, &records),
        "ts_groups" => {
            let ts_p: Vec<Option<i64>> = produced.iter().map(|p| p.0).collect();
            let ts_e: Vec<Option<i64>> = records.iter().map(|e| e["ts"].as_i64()).collect();
            ts_p == ts_e && {
                let mut start = 0;
                let mut ok = true;
                while start < records.len() {
                    let end = (start..records.len()).find(|&i| ts_e[i] != ts_e[start]).unwrap_or(records.len());
                    ok &= multiset_eq(&produced[start..end], &records[start..end]);
                    start = end;
                }
                ok
            }
        }
        "per_key" => {
            let field = expected["key_field"].as_str().unwrap_or("key");
            let key_of = |v: &Value| v.get(field).cloned().unwrap_or(Value::Null);
            let mut keys: Vec<Value> = records.iter().map(|e| key_of(&e["value"])).collect();
            keys.dedup();
            produced.len() == records.len()
                && keys.iter().all(|k| {
                    let p: Vec<&Produced> = produced.iter().filter(|p| key_of(&p.1) == *k).collect();
                    let e: Vec<&Value> = records.iter().filter(|e| key_of(&e["value"]) == *k).collect();
                    p.len() == e.len() && p.iter().zip(&e).all(|(p, e)| record_eq(p, e))
                })
        }
        other => return Err(format!("{what}: unknown order '{other}'")),
    };
    if ok { Ok(()) } else { Err(diff(&format!("{what} ({order})"), produced, &records)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!({"avg": 2.0, "n": 3}), &json!({"n": 3, "avg": 2.0})));
        assert!(json_eq(&json!(2), &json!(2.0)));
        assert!(!json_eq(&json!(i64::MAX), &json!(i64::MAX - 1)));
    }

    #[test]
    fn ts_groups_allow_reordering_within_equal_timestamps_only() {
        let expected = json!({"order": "ts_groups", "records": [
            {"ts": 1, "value": {"k": "a"}}, {"ts": 1, "value": {"k": "b"}}, {"ts": 2, "value": {"k": "c"}}]});
        let swapped = vec![(Some(1), json!({"k": "b"})), (Some(1), json!({"k": "a"})), (Some(2), json!({"k": "c"}))];
        assert!(compare("main", &swapped, &expected).is_ok());
        let wrong = vec![(Some(1), json!({"k": "a"})), (Some(2), json!({"k": "c"})), (Some(1), json!({"k": "b"}))];
        assert!(compare("main", &wrong, &expected).is_err());
    }
}
