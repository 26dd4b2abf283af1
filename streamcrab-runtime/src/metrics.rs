//! Job-wide counters that operators report and the job result exposes (for example
//! `numLateRecordsDropped` of a window operator).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Counters by `(operator name, metric name)`, summed over subtasks.
#[derive(Clone, Debug, Default)]
pub struct JobMetrics {
    counters: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl JobMetrics {
    /// Adds `value` to counter `metric` of `operator`.
    pub fn add(&self, operator: &str, metric: &str, value: u64) {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        *counters.entry((operator.to_string(), metric.to_string())).or_default() += value;
    }

    /// The counter `metric` of `operator` (0 if never reported).
    pub fn counter(&self, operator: &str, metric: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        counters.get(&(operator.to_string(), metric.to_string())).copied().unwrap_or(0)
    }

    /// All counters, sorted by operator and metric.
    pub fn counters(&self) -> Vec<(String, String, u64)> {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        counters.iter().map(|((o, m), v)| (o.clone(), m.clone(), *v)).collect()
    }
}
