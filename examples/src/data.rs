//! Deterministic inputs shared by the examples and their tests.

/// A temperature reading: `(sensor, tenths of a degree, event time ms)`.
pub type Reading = (String, i64, i64);

/// A click: `(user, page, event time ms)`.
pub type Click = (String, String, i64);

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One minute of readings from four sensors, one per 250 ms, up to 1.5 s out of order.
pub fn sensor_readings() -> Vec<Reading> {
    (0..240u64)
        .map(|i| {
            let sensor = format!("sensor-{}", i % 4);
            let temperature = 180 + (mix(i) % 80) as i64;
            let ts = (i * 250) as i64 - (mix(i ^ 0xABC) % 1500) as i64;
            (sensor, temperature, ts.max(0))
        })
        .collect()
}

/// Clicks of three users in bursts: gaps within a burst stay under 30 s, between bursts above.
pub fn clicks() -> Vec<Click> {
    let mut clicks = Vec::new();
    let mut ts = 0i64;
    for i in 0..60u64 {
        let burst_break = mix(i).is_multiple_of(5);
        ts += if burst_break { 45_000 + (mix(i ^ 7) % 20_000) as i64 } else { 1_000 + (mix(i ^ 9) % 20_000) as i64 };
        let user = format!("user-{}", mix(i ^ 3) % 3);
        clicks.push((user, format!("/page/{}", mix(i ^ 5) % 10), ts));
    }
    clicks
}

/// A meter reading: `(meter, kWh, event time ms)`.
pub type MeterReading = (String, i64, i64);

/// Readings `0..20 000` of five meters, one per 10 ms of event time, in order; `None` after the
/// last. The generator pauses briefly every 1000 readings so that checkpoints happen while it
/// runs, as they would with a real source.
pub fn meter_reading(i: u64) -> Option<MeterReading> {
    if i >= 20_000 {
        return None;
    }
    if i.is_multiple_of(1000) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Some((format!("meter-{}", i % 5), (mix(i) % 10) as i64, (i * 10) as i64))
}

/// The record at which the exactly-once example fails once on purpose.
pub const INJECTED_FAILURE_AT: u64 = 12_345;
