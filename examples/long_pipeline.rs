//! A pipeline of 30 operators (source, 28 stateless stages, sink): the compile-time benchmark
//! of the `#[pipeline]` compiler (see the README: clean and incremental build times).
//!
//! `cargo run --release --example long_pipeline`

use streamcrab::prelude::*;

#[pipeline]
fn long_pipeline(env: &mut StreamExecutionEnvironment) {
    env.from_sequence(0, 9_999)
        .map(|x: i64| (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .map(|x: u64| x.wrapping_mul(3).rotate_left(1))
        .map(|x: u64| x.wrapping_mul(5).rotate_left(2))
        .map(|x: u64| x.wrapping_mul(7).rotate_left(3))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(10))
        .map(|x: u64| x.wrapping_mul(11).rotate_left(5))
        .map(|x: u64| x.wrapping_mul(13).rotate_left(6))
        .map(|x: u64| x.wrapping_mul(15).rotate_left(7))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(14))
        .map(|x: u64| x.wrapping_mul(19).rotate_left(9))
        .map(|x: u64| x.wrapping_mul(21).rotate_left(10))
        .map(|x: u64| x.wrapping_mul(23).rotate_left(11))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(18))
        .map(|x: u64| x.wrapping_mul(27).rotate_left(13))
        .map(|x: u64| x.wrapping_mul(29).rotate_left(1))
        .map(|x: u64| x.wrapping_mul(31).rotate_left(2))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(22))
        .map(|x: u64| x.wrapping_mul(35).rotate_left(4))
        .map(|x: u64| x.wrapping_mul(37).rotate_left(5))
        .map(|x: u64| x.wrapping_mul(39).rotate_left(6))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(26))
        .map(|x: u64| x.wrapping_mul(43).rotate_left(8))
        .map(|x: u64| x.wrapping_mul(45).rotate_left(9))
        .map(|x: u64| x.wrapping_mul(47).rotate_left(10))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(30))
        .map(|x: u64| x.wrapping_mul(51).rotate_left(12))
        .filter(|x: &u64| !(x >> 32).is_multiple_of(34))
        .filter(|x: &u64| (x >> 40).is_multiple_of(97))
        .print();
}

fn main() -> Result<(), JobError> {
    assert_eq!(LONG_PIPELINE.operators.len(), 30);
    LONG_PIPELINE.execute(long_pipeline)?;
    Ok(())
}
