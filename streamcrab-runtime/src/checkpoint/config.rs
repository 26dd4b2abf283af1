//! How a job checkpoints and how it recovers.

use std::time::Duration;

/// Whether input channels are blocked during barrier alignment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckpointingMode {
    /// Aligned barriers: every record affects state exactly once after a restore.
    #[default]
    ExactlyOnce,
    /// Barriers are tracked, channels are never blocked: records after an early barrier count in
    /// the snapshot and are replayed after a restore (duplicates in state, lower latency).
    AtLeastOnce,
}

/// Checkpoint settings (Flink's `CheckpointConfig`; the defaults are Flink's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// Time between the triggers of two checkpoints.
    pub interval: Duration,
    /// Aligned (exactly-once) or not (at-least-once).
    pub mode: CheckpointingMode,
    /// A checkpoint not complete after this long is aborted (and counts as a failure).
    pub timeout: Duration,
    /// Checkpoints in flight at once.
    pub max_concurrent: u32,
    /// Least time between the completion of one checkpoint and the trigger of the next.
    pub min_pause: Duration,
    /// Consecutive failed checkpoints the job tolerates; one more fails the job.
    pub tolerable_failures: u32,
    /// Completed checkpoints kept in storage.
    pub retained: usize,
}

impl CheckpointConfig {
    /// Checkpoints every `interval`, with Flink's defaults for everything else: exactly-once,
    /// 10 min timeout, one at a time, no pause, no tolerated failure, one retained.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            mode: CheckpointingMode::ExactlyOnce,
            timeout: Duration::from_secs(600),
            max_concurrent: 1,
            min_pause: Duration::ZERO,
            tolerable_failures: 0,
            retained: 1,
        }
    }

    /// What is wrong with the settings, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.interval.is_zero() {
            Some("the checkpoint interval must be above zero".into())
        } else if self.timeout.is_zero() {
            Some("the checkpoint timeout must be above zero".into())
        } else if self.max_concurrent == 0 {
            Some("at least one concurrent checkpoint must be allowed".into())
        } else if self.retained == 0 {
            Some("at least one completed checkpoint must be retained".into())
        } else {
            None
        }
    }
}

/// Whether and when a failed job is restarted (from its latest completed checkpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartStrategy {
    /// A failure fails the job.
    NoRestart,
    /// Up to `attempts` restarts, `delay` apart.
    FixedDelay {
        /// Restarts allowed over the job's life.
        attempts: u32,
        /// Wait before each restart.
        delay: Duration,
    },
    /// Restarts with a delay that starts at `initial` and is multiplied by `multiplier` after
    /// every restart, up to `max`; at most `attempts` restarts.
    ExponentialDelay {
        /// The first delay.
        initial: Duration,
        /// The longest delay.
        max: Duration,
        /// Growth per restart (at least 1).
        multiplier: u32,
        /// Restarts allowed over the job's life.
        attempts: u32,
    },
}

impl RestartStrategy {
    /// Flink's default when checkpointing is on: fixed delay of 1 s, (practically) unlimited.
    pub const CHECKPOINTING_DEFAULT: RestartStrategy =
        RestartStrategy::FixedDelay { attempts: i32::MAX as u32, delay: Duration::from_secs(1) };

    /// The delay before restart number `restart` (from 1), or `None` if no restart is left.
    pub fn delay_before(&self, restart: u32) -> Option<Duration> {
        match *self {
            Self::NoRestart => None,
            Self::FixedDelay { attempts, delay } => (restart <= attempts).then_some(delay),
            Self::ExponentialDelay { initial, max, multiplier, attempts } => (restart <= attempts).then(|| {
                let factor = u64::from(multiplier.max(1)).saturating_pow(restart - 1);
                let millis = (initial.as_millis() as u64).saturating_mul(factor);
                Duration::from_millis(millis).min(max)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_delay_allows_its_attempts() {
        let s = RestartStrategy::FixedDelay { attempts: 2, delay: Duration::from_millis(5) };
        assert_eq!(s.delay_before(1), Some(Duration::from_millis(5)));
        assert_eq!(s.delay_before(2), Some(Duration::from_millis(5)));
        assert_eq!(s.delay_before(3), None);
        assert_eq!(RestartStrategy::NoRestart.delay_before(1), None);
    }

    #[test]
    fn exponential_delay_grows_to_its_maximum() {
        let s = RestartStrategy::ExponentialDelay {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
            multiplier: 2,
            attempts: 10,
        };
        let delays: Vec<_> = (1..=4).map(|r| s.delay_before(r).unwrap().as_millis()).collect();
        assert_eq!(delays, vec![10, 20, 40, 50]);
        assert_eq!(s.delay_before(11), None);
    }

    #[test]
    fn invalid_settings_are_named() {
        assert!(CheckpointConfig::new(Duration::ZERO).problem().unwrap().contains("interval"));
        assert!(CheckpointConfig::new(Duration::from_secs(1)).problem().is_none());
    }
}
