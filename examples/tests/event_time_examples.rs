//! Runs the event-time examples and checks their output against a direct computation over the
//! same input: tumbling windows group by `floor(ts / size)`; sessions split where the next
//! click of a user comes later than 30 s after the previous one (touching windows merge).

use std::collections::BTreeMap;

use streamcrab_examples::data::{clicks, sensor_readings};

mod common;
use common::sorted_lines as run_example;

#[test]
fn event_time_windows_average_every_reading_in_its_window() {
    let mut windows: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    for (sensor, temperature, ts) in sensor_readings() {
        let acc = windows.entry((sensor, ts.div_euclid(10_000) * 10_000 + 10_000)).or_default();
        acc.0 += temperature;
        acc.1 += 1;
    }
    let mut expected: Vec<String> = windows
        .into_iter()
        .map(|((sensor, end), (sum, n))| format!("{:?}", (sensor, end, sum as f64 / n as f64)))
        .collect();
    expected.sort();
    assert_eq!(run_example("event_time_windows"), expected);
}

#[test]
fn sessions_split_at_gaps_longer_than_thirty_seconds() {
    let gap = 30_000;
    let mut per_user: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (user, _, ts) in clicks() {
        per_user.entry(user).or_default().push(ts);
    }
    let mut expected = Vec::new();
    for (user, mut times) in per_user {
        times.sort();
        let (mut start, mut end, mut n) = (times[0], times[0] + gap, 0usize);
        for ts in times {
            if ts > end {
                expected.push(format!("{:?}", (user.clone(), start, end, n)));
                (start, n) = (ts, 0);
            }
            end = end.max(ts + gap);
            n += 1;
        }
        expected.push(format!("{:?}", (user.clone(), start, end, n)));
    }
    expected.sort();
    let got = run_example("sessions");
    assert!(got.iter().any(|l| !l.ends_with(" 1)")), "the data should have multi-click sessions");
    assert_eq!(got, expected);
}

#[test]
fn exactly_once_commits_every_window_once_despite_the_failure() {
    let mut windows: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (meter, kwh, ts) in (0..).map_while(streamcrab_examples::data::meter_reading) {
        *windows.entry((meter, ts.div_euclid(10_000) * 10_000 + 10_000)).or_default() += kwh;
    }
    let mut expected: Vec<String> =
        windows.into_iter().map(|((meter, end), kwh)| format!("{meter} {end} {kwh}")).collect();
    expected.sort();
    assert_eq!(run_example("exactly_once"), expected);
}
