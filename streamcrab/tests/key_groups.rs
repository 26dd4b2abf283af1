//! Flink's key-group arithmetic checked against the conformance cases computed by Flink 2.3.0
//! (`KeyGroupRangeAssignment`, `MathUtils.murmurHash`): `unit_key_group_assignment`,
//! `unit_key_group_ranges`, `unit_default_max_parallelism`.

use serde_json::Value;
use streamcrab::keygroup::{
    KeyGroupRange, KeyHash, default_max_parallelism, key_group_for_hash, murmur_hash, operator_index_for_key_group,
};

fn case(id: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/cases").join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn checks(case: &Value) -> &Vec<Value> {
    case["checks"].as_array().expect("checks")
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[test]
fn key_group_assignment_matches_flink() {
    let case = case("unit_key_group_assignment");
    assert!(!checks(&case).is_empty());
    for check in checks(&case) {
        let input = &check["input"];
        let expected = &check["expected"];
        let key = &input["key"];
        let hash = if let Some(v) = key.get("int") {
            (int(v) as i32).key_hash()
        } else if let Some(v) = key.get("long") {
            int(v).key_hash()
        } else if let Some(v) = key.get("string") {
            v.as_str().unwrap().key_hash()
        } else {
            panic!("unknown key kind {key}")
        };
        assert_eq!(i64::from(hash), int(&expected["java_hash_code"]), "{key}");
        assert_eq!(i64::from(murmur_hash(hash)), int(&expected["murmur_hash"]), "{key}");
        let max_parallelism = int(&input["max_parallelism"]) as u32;
        let key_group = key_group_for_hash(hash, max_parallelism);
        assert_eq!(i64::from(key_group), int(&expected["key_group"]), "{key}");
        for (parallelism, index) in expected["operator_index_by_parallelism"].as_object().unwrap() {
            let p: u32 = parallelism.parse().unwrap();
            assert_eq!(
                i64::from(operator_index_for_key_group(max_parallelism, p, key_group)),
                int(index),
                "{key} p={p}"
            );
        }
    }
}

#[test]
fn key_group_ranges_match_flink() {
    let case = case("unit_key_group_ranges");
    assert!(!checks(&case).is_empty());
    for check in checks(&case) {
        let input = &check["input"];
        let range = KeyGroupRange::for_operator_index(
            int(&input["max_parallelism"]) as u32,
            int(&input["parallelism"]) as u32,
            int(&input["operator_index"]) as u32,
        );
        let expected: Vec<i64> = check["expected"].as_array().unwrap().iter().map(int).collect();
        assert_eq!(vec![i64::from(range.start), i64::from(range.end)], expected, "{input}");
    }
}

#[test]
fn default_max_parallelism_matches_flink() {
    let case = case("unit_default_max_parallelism");
    assert!(!checks(&case).is_empty());
    for check in checks(&case) {
        let p = int(&check["input"]["parallelism"]) as u32;
        assert_eq!(i64::from(default_max_parallelism(p)), int(&check["expected"]), "p={p}");
    }
}
