//! The keyed window operator (Flink's `WindowOperator` and `EvictingWindowOperator`), its
//! triggers and evictors. Window functions live in `contents`.
//!
//! Contents are kept per `(key, window)` in the keyed-state backend; timers per
//! `(key, window, timestamp)` in a [`TimerService`]. Incremental functions keep one
//! accumulator per window; with an evictor the window keeps its elements instead, and the
//! function folds what the evictor leaves when the window fires.

use std::marker::PhantomData;
use std::rc::Rc;

use super::contents::{ProcessWindowContext, WindowContents};
use super::merging::{Merge, MergingWindowSet};
use super::{Window, WindowAssigner};
use crate::checkpoint::TaskSnapshot;
use crate::checkpoint::keyed_state::{open_keyed, snapshot_keyed};
use crate::data::{Data, Key};
use crate::element::{CheckpointBarrier, StreamRecord, Watermark, WatermarkStatus};
use crate::error::StateError;
use crate::error::TaskError;
use crate::keygroup::assign_to_key_group;
use crate::operator::side_output::SideOutputs;
use crate::operator::{Collector, Operator, OperatorId, OutputTag, Stage};
use crate::state::{KeyedBackend, KeyedStateBackend, Layout, Namespace, StateValue, TableRef, VoidNamespace};
use crate::task::{TaskContext, enter_operator};
use crate::timer::{TimeDomain, TimerService};

/// When a window emits its contents (Flink's triggers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Fires when the watermark passes the window's end (`EventTimeTrigger`).
    EventTime,
    /// Fires when the processing time passes the window's end (`ProcessingTimeTrigger`).
    ProcessingTime,
    /// Fires every `interval` ms of event time and at the window's end
    /// (`ContinuousEventTimeTrigger`).
    ContinuousEventTime(i64),
    /// Fires every `interval` ms of processing time, the last time at the window's end
    /// (`ContinuousProcessingTimeTrigger`).
    ContinuousProcessingTime(i64),
    /// Fires on every `n`-th element of the window (`CountTrigger`).
    Count(u64),
    /// Turns every firing of the inner trigger into fire-and-purge (`PurgingTrigger`).
    Purging(Box<Trigger>),
    /// Never fires (the default of global windows).
    Never,
}

/// Removes elements from a window before it is evaluated (Flink's evictors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evictor {
    /// Keeps the last `n` elements (`CountEvictor`).
    Count(usize),
    /// Keeps the elements within `ms` of the newest one (`TimeEvictor`).
    Time(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TriggerResult {
    Continue,
    Fire,
    FireAndPurge,
}

impl TriggerResult {
    fn is_fire(self) -> bool {
        matches!(self, Self::Fire | Self::FireAndPurge)
    }
    fn is_purge(self) -> bool {
        matches!(self, Self::FireAndPurge)
    }
    fn purging(self) -> Self {
        match self {
            Self::Fire => Self::FireAndPurge,
            other => other,
        }
    }
}

/// Everything that configures a window operator except its function.
#[derive(Clone, Debug)]
pub struct WindowSettings {
    /// The assigner.
    pub assigner: WindowAssigner,
    /// The trigger (`None`: the assigner's default).
    pub trigger: Option<Trigger>,
    /// The evictor, if any.
    pub evictor: Option<Evictor>,
    /// Allowed lateness in ms.
    pub allowed_lateness: i64,
    /// The side output for late elements.
    pub late_output: Option<String>,
}

impl WindowSettings {
    fn trigger(&self) -> Trigger {
        self.trigger.clone().unwrap_or(match self.assigner {
            WindowAssigner::Global => Trigger::Never,
            a if a.is_event_time() => Trigger::EventTime,
            _ => Trigger::ProcessingTime,
        })
    }
}

/// What is stored per window: an accumulator, or (with an evictor) the elements. `Empty`
/// only stands in while the slot is being refilled.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Stored<A, T> {
    Empty,
    Acc(A),
    Elements(Vec<StreamRecord<T>>),
}

/// The stage of a window operator.
pub struct WindowStage<KS, C, T> {
    key_selector: KS,
    contents: C,
    settings: WindowSettings,
    id: OperatorId,
    _input: PhantomData<fn(T)>,
}

impl<KS: Clone, C: Clone, T> Clone for WindowStage<KS, C, T> {
    fn clone(&self) -> Self {
        Self {
            key_selector: self.key_selector.clone(),
            contents: self.contents.clone(),
            settings: self.settings.clone(),
            id: self.id,
            _input: PhantomData,
        }
    }
}

impl<KS, C, T> WindowStage<KS, C, T> {
    /// The stage of window operator `id`.
    pub fn new(key_selector: KS, contents: C, settings: WindowSettings, id: OperatorId) -> Self {
        Self { key_selector, contents, settings, id, _input: PhantomData }
    }
}

impl<K, T, KS, C> Stage<T, C::Out> for WindowStage<KS, C, T>
where
    K: Key,
    T: Data + StateValue,
    KS: Fn(&T) -> K + Clone + Send + 'static,
    C: WindowContents<K, T>,
    C::Out: 'static,
{
    type Built<N: Operator<C::Out>> = WindowOperator<K, T, KS, C, N>;
    fn build<N: Operator<C::Out>>(self, next: N) -> Self::Built<N> {
        let trigger = Rc::new(self.settings.trigger());
        WindowOperator {
            key_selector: self.key_selector,
            contents: self.contents,
            trigger,
            late_tag: self.settings.late_output.as_deref().map(OutputTag::new),
            settings: self.settings,
            id: self.id,
            name: String::new(),
            backend: KeyedBackend::placeholder(),
            slots: Slots::default(),
            timers: TimerService::default(),
            processing_timers: TimerService::default(),
            clock: std::sync::Arc::new(crate::clock::SystemClock),
            side: SideOutputs::default(),
            windows: Vec::new(),
            late_dropped: 0,
            metrics: crate::metrics::JobMetrics::default(),
            next,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Slots {
    contents: usize,
    counts: usize,
    fire_times: usize,
    merging: usize,
}

/// A keyed window operator.
pub struct WindowOperator<K, T, KS, C: WindowContents<K, T>, N> {
    key_selector: KS,
    contents: C,
    // Shared so a call can hold the trigger while the operator is borrowed mutably.
    trigger: Rc<Trigger>,
    late_tag: Option<OutputTag<T>>,
    settings: WindowSettings,
    id: OperatorId,
    name: String,
    backend: KeyedBackend<K>,
    slots: Slots,
    timers: TimerService<K, Window>,
    processing_timers: TimerService<K, Window>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    side: SideOutputs,
    windows: Vec<Window>,
    late_dropped: u64,
    metrics: crate::metrics::JobMetrics,
    next: N,
}

impl<K, T, KS, C, N> WindowOperator<K, T, KS, C, N>
where
    K: Key,
    T: Data + StateValue,
    C: WindowContents<K, T>,
    N: Operator<C::Out>,
{
    fn watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    fn cleanup_time(&self, window: &Window) -> i64 {
        if self.settings.assigner.is_event_time() {
            window.max_timestamp().checked_add(self.settings.allowed_lateness).unwrap_or(i64::MAX)
        } else {
            window.max_timestamp()
        }
    }

    fn is_window_late(&self, window: &Window) -> bool {
        self.settings.assigner.is_event_time() && self.cleanup_time(window) <= self.watermark()
    }

    fn is_element_late(&self, timestamp: i64) -> bool {
        self.settings.assigner.is_event_time()
            && timestamp.saturating_add(self.settings.allowed_lateness) <= self.watermark()
    }

    /// The timer service of `domain`.
    fn timers_of(&mut self, domain: TimeDomain) -> &mut TimerService<K, Window> {
        match domain {
            TimeDomain::EventTime => &mut self.timers,
            TimeDomain::ProcessingTime => &mut self.processing_timers,
        }
    }

    /// The domain the assigner's windows live in (and their cleanup timers).
    fn window_domain(&self) -> TimeDomain {
        if self.settings.assigner.is_event_time() { TimeDomain::EventTime } else { TimeDomain::ProcessingTime }
    }

    fn register_cleanup_timer(&mut self, key: &K, window: &Window) {
        let time = self.cleanup_time(window);
        if time != i64::MAX {
            let domain = self.window_domain();
            self.timers_of(domain).register(key, window, time);
        }
    }

    fn delete_cleanup_timer(&mut self, key: &K, window: &Window) {
        let time = self.cleanup_time(window);
        if time != i64::MAX {
            let domain = self.window_domain();
            self.timers_of(domain).delete(key, window, time);
        }
    }

    /// Continuous triggers on merge: the merged window fires at the earliest pending firing.
    fn merge_fire_times(
        &mut self,
        key: &K,
        key_group: u32,
        result: &Window,
        merged: &[Window],
        domain: TimeDomain,
    ) -> Result<(), TaskError> {
        let mut earliest: Option<i64> = None;
        for window in merged {
            if let Some(t) = self.fire_times(|f| f.get(key_group, key, window))? {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        if let Some(t) = earliest {
            self.fire_times(|f| f.put(key_group, key, result, t))?;
            self.timers_of(domain).register(key, result, t);
        }
        Ok(())
    }

    /// Runs `access` on state `slot`, naming the operator in its error.
    fn state<NS: Namespace, S: StateValue, R>(
        &mut self,
        slot: usize,
        access: impl FnOnce(&mut TableRef<'_, K, NS, S>) -> Result<R, StateError>,
    ) -> Result<R, TaskError> {
        let result = self.backend.table::<NS, S>(slot).and_then(|mut table| access(&mut table));
        result.map_err(|source| TaskError::State { operator: self.name.clone(), source })
    }

    /// The pending firing time of continuous triggers, per window.
    fn fire_times<R>(
        &mut self,
        access: impl FnOnce(&mut TableRef<'_, K, Window, i64>) -> Result<R, StateError>,
    ) -> Result<R, TaskError> {
        self.state(self.slots.fire_times, access)
    }

    /// The element count of count triggers, per window.
    fn counts<R>(
        &mut self,
        access: impl FnOnce(&mut TableRef<'_, K, Window, u64>) -> Result<R, StateError>,
    ) -> Result<R, TaskError> {
        self.state(self.slots.counts, access)
    }

    /// The contents of each window.
    fn stored<R>(
        &mut self,
        access: impl FnOnce(&mut TableRef<'_, K, Window, Stored<C::Acc, T>>) -> Result<R, StateError>,
    ) -> Result<R, TaskError> {
        self.state(self.slots.contents, access)
    }

    /// `ContinuousEventTimeTrigger` / `ContinuousProcessingTimeTrigger.registerNextFireTimestamp`.
    fn register_next_fire(
        &mut self,
        key: &K,
        key_group: u32,
        window: &Window,
        time: i64,
        interval: i64,
        domain: TimeDomain,
    ) -> Result<(), TaskError> {
        let next = time.saturating_add(interval).min(window.max_timestamp());
        self.fire_times(|f| f.put(key_group, key, window, next))?;
        self.timers_of(domain).register(key, window, next);
        Ok(())
    }

    fn on_element_trigger(
        &mut self,
        trigger: &Trigger,
        key: &K,
        key_group: u32,
        window: &Window,
        timestamp: i64,
    ) -> Result<TriggerResult, TaskError> {
        Ok(match trigger {
            Trigger::EventTime => {
                if window.max_timestamp() <= self.watermark() {
                    TriggerResult::Fire
                } else {
                    self.timers.register(key, window, window.max_timestamp());
                    TriggerResult::Continue
                }
            }
            Trigger::ProcessingTime => {
                self.processing_timers.register(key, window, window.max_timestamp());
                TriggerResult::Continue
            }
            Trigger::ContinuousEventTime(interval) => {
                if window.max_timestamp() <= self.watermark() {
                    return Ok(TriggerResult::Fire);
                }
                self.timers.register(key, window, window.max_timestamp());
                if self.fire_times(|f| f.get(key_group, key, window))?.is_none() {
                    let start = timestamp - timestamp % interval;
                    self.register_next_fire(key, key_group, window, start, *interval, TimeDomain::EventTime)?;
                }
                TriggerResult::Continue
            }
            Trigger::ContinuousProcessingTime(interval) => {
                if self.fire_times(|f| f.get(key_group, key, window))?.is_none() {
                    let now = self.clock.now_millis();
                    let start = now - now % interval;
                    self.register_next_fire(key, key_group, window, start, *interval, TimeDomain::ProcessingTime)?;
                }
                TriggerResult::Continue
            }
            Trigger::Count(n) => {
                let fire = self.counts(|c| {
                    c.update(
                        key_group,
                        key,
                        window,
                        || 0,
                        |count| {
                            *count += 1;
                            let fire = *count >= *n;
                            if fire {
                                *count = 0;
                            }
                            fire
                        },
                    )
                })?;
                if fire { TriggerResult::Fire } else { TriggerResult::Continue }
            }
            Trigger::Purging(inner) => self.on_element_trigger(inner, key, key_group, window, timestamp)?.purging(),
            Trigger::Never => TriggerResult::Continue,
        })
    }

    fn on_timer_trigger(
        &mut self,
        trigger: &Trigger,
        key: &K,
        key_group: u32,
        window: &Window,
        time: i64,
        domain: TimeDomain,
    ) -> Result<TriggerResult, TaskError> {
        let fire_at_end = time == window.max_timestamp();
        Ok(match (trigger, domain) {
            (Trigger::EventTime, TimeDomain::EventTime) if fire_at_end => TriggerResult::Fire,
            (Trigger::ProcessingTime, TimeDomain::ProcessingTime) if fire_at_end => TriggerResult::Fire,
            (Trigger::ContinuousEventTime(_), TimeDomain::EventTime) if fire_at_end => TriggerResult::Fire,
            (Trigger::ContinuousEventTime(interval), TimeDomain::EventTime)
            | (Trigger::ContinuousProcessingTime(interval), TimeDomain::ProcessingTime) => {
                if self.fire_times(|f| f.get(key_group, key, window))? == Some(time) {
                    self.fire_times(|f| f.delete(key_group, key, window))?;
                    if time < window.max_timestamp() {
                        self.register_next_fire(key, key_group, window, time, *interval, domain)?;
                    }
                    TriggerResult::Fire
                } else {
                    TriggerResult::Continue
                }
            }
            (Trigger::Purging(inner), _) => {
                self.on_timer_trigger(inner, key, key_group, window, time, domain)?.purging()
            }
            _ => TriggerResult::Continue,
        })
    }

    fn clear_trigger(&mut self, trigger: &Trigger, key: &K, key_group: u32, window: &Window) -> Result<(), TaskError> {
        match trigger {
            Trigger::EventTime => self.timers.delete(key, window, window.max_timestamp()),
            Trigger::ProcessingTime => self.processing_timers.delete(key, window, window.max_timestamp()),
            Trigger::ContinuousEventTime(_) | Trigger::ContinuousProcessingTime(_) => {
                let domain = if matches!(trigger, Trigger::ContinuousEventTime(_)) {
                    TimeDomain::EventTime
                } else {
                    TimeDomain::ProcessingTime
                };
                if let Some(time) = self.fire_times(|f| f.remove(key_group, key, window))? {
                    self.timers_of(domain).delete(key, window, time);
                }
            }
            Trigger::Count(_) => self.counts(|c| c.delete(key_group, key, window))?,
            Trigger::Purging(inner) => self.clear_trigger(inner, key, key_group, window)?,
            Trigger::Never => {}
        }
        Ok(())
    }

    fn on_merge_trigger(
        &mut self,
        trigger: &Trigger,
        key: &K,
        key_group: u32,
        result: &Window,
        merged: &[Window],
    ) -> Result<(), TaskError> {
        match trigger {
            Trigger::EventTime => {
                if result.max_timestamp() > self.watermark() {
                    self.timers.register(key, result, result.max_timestamp());
                }
            }
            Trigger::ProcessingTime => {
                if result.max_timestamp() > self.clock.now_millis() {
                    self.processing_timers.register(key, result, result.max_timestamp());
                }
            }
            Trigger::ContinuousEventTime(_) => {
                if result.max_timestamp() > self.watermark() {
                    self.timers.register(key, result, result.max_timestamp());
                }
                self.merge_fire_times(key, key_group, result, merged, TimeDomain::EventTime)?;
            }
            Trigger::ContinuousProcessingTime(_) => {
                self.merge_fire_times(key, key_group, result, merged, TimeDomain::ProcessingTime)?;
            }
            Trigger::Count(_) => {
                let mut total = 0;
                for window in merged {
                    total += self.counts(|c| c.get(key_group, key, window))?.unwrap_or(0);
                }
                self.counts(|c| c.put(key_group, key, result, total))?;
            }
            Trigger::Purging(inner) => self.on_merge_trigger(inner, key, key_group, result, merged)?,
            Trigger::Never => {}
        }
        Ok(())
    }

    /// Adds `record` to the window's contents in place; whether the window had contents before.
    fn add_to_window(
        &mut self,
        key: &K,
        key_group: u32,
        window: &Window,
        record: &StreamRecord<T>,
    ) -> Result<bool, TaskError> {
        let buffered = self.settings.evictor.is_some();
        let contents = &mut self.contents;
        let added = self.backend.table::<Window, Stored<C::Acc, T>>(self.slots.contents).and_then(|mut table| {
            table.update(
                key_group,
                key,
                window,
                || Stored::Empty,
                |slot| {
                    let (next, had_contents) = match (std::mem::replace(slot, Stored::Empty), buffered) {
                        (Stored::Elements(mut elements), _) => {
                            elements.push(record.clone());
                            (Stored::Elements(elements), true)
                        }
                        (Stored::Empty, true) => (Stored::Elements(vec![record.clone()]), false),
                        (Stored::Acc(acc), _) => (Stored::Acc(contents.add(Some(acc), record.value.clone())), true),
                        (Stored::Empty, false) => (Stored::Acc(contents.add(None, record.value.clone())), false),
                    };
                    *slot = next;
                    had_contents
                },
            )
        });
        added.map_err(|source| TaskError::State { operator: self.name.clone(), source })
    }

    fn merge_contents(
        &mut self,
        key: &K,
        key_group: u32,
        target: &Window,
        sources: &[Window],
    ) -> Result<(), TaskError> {
        for source in sources {
            let Some(from) = self.stored(|s| s.remove(key_group, key, source))? else { continue };
            let into = self.stored(|s| s.remove(key_group, key, target))?;
            let merged = match (into, from) {
                (None | Some(Stored::Empty), from) => from,
                (Some(into), Stored::Empty) => into,
                (Some(Stored::Acc(a)), Stored::Acc(b)) => Stored::Acc(self.contents.merge(a, b)),
                (Some(Stored::Elements(mut a)), Stored::Elements(b)) => {
                    a.extend(b);
                    Stored::Elements(a)
                }
                (Some(into), _) => into,
            };
            self.stored(|s| s.put(key_group, key, target, merged))?;
        }
        Ok(())
    }

    /// Emits the contents of `state_window` as the result of `window`.
    fn emit_window(
        &mut self,
        key: &K,
        key_group: u32,
        window: &Window,
        state_window: &Window,
    ) -> Result<(), TaskError> {
        let evictor = self.settings.evictor;
        let Some(stored) = self.stored(|s| s.get(key_group, key, state_window))? else { return Ok(()) };
        let acc = match stored {
            Stored::Empty => return Ok(()),
            Stored::Acc(acc) => acc,
            Stored::Elements(mut elements) => {
                let before = elements.len();
                evict(evictor, &mut elements);
                if elements.len() != before {
                    // The eviction is kept: a later firing of the window sees the evicted contents.
                    self.stored(|s| s.put(key_group, key, state_window, Stored::Elements(elements.clone())))?;
                }
                let mut acc = None;
                for element in elements {
                    acc = Some(self.contents.add(acc, element.value));
                }
                match acc {
                    Some(acc) => acc,
                    None => return Ok(()),
                }
            }
        };
        let ctx = ProcessWindowContext { window, current_watermark: self.watermark() };
        let mut out = Collector::new(&mut self.next, Some(window.max_timestamp()), self.id);
        enter_operator(self.id);
        let result = self.contents.emit(key, &ctx, &acc, &mut out);
        if let Some(e) = out.take_error() {
            return Err(e);
        }
        result.map_err(|source| TaskError::User { operator: self.name.clone(), source })
    }

    fn apply_trigger_result(
        &mut self,
        result: TriggerResult,
        key: &K,
        key_group: u32,
        window: &Window,
        state_window: &Window,
    ) -> Result<(), TaskError> {
        if result.is_fire() {
            self.emit_window(key, key_group, window, state_window)?;
        }
        if result.is_purge() {
            self.stored(|s| s.delete(key_group, key, state_window))?;
        }
        Ok(())
    }

    fn merging_set(&mut self, key: &K, key_group: u32) -> Result<MergingWindowSet, TaskError> {
        let set = self.state(self.slots.merging, |m| m.remove(key_group, key, &VoidNamespace))?;
        Ok(set.unwrap_or_default())
    }

    fn persist_merging_set(&mut self, key: &K, key_group: u32, set: MergingWindowSet) -> Result<(), TaskError> {
        if set.mapping.is_empty() {
            return Ok(());
        }
        self.state(self.slots.merging, |m| m.put(key_group, key, &VoidNamespace, set))
    }

    fn on_merge(&mut self, key: &K, key_group: u32, merge: Merge) -> Result<(), TaskError> {
        let result = Window::Time(merge.result);
        if self.settings.assigner.is_event_time()
            && merge.result.max_timestamp().saturating_add(self.settings.allowed_lateness) <= self.watermark()
        {
            return Err(TaskError::LateMerge {
                operator: self.name.clone(),
                window: format!("[{}, {})", merge.result.start, merge.result.end),
            });
        }
        let merged: Vec<Window> = merge.merged.iter().copied().map(Window::Time).collect();
        let trigger = Rc::clone(&self.trigger);
        self.on_merge_trigger(&trigger, key, key_group, &result, &merged)?;
        for window in &merged {
            self.clear_trigger(&trigger, key, key_group, window)?;
            self.delete_cleanup_timer(key, window);
        }
        let sources: Vec<Window> = merge.merged_state_windows.iter().copied().map(Window::Time).collect();
        self.merge_contents(key, key_group, &Window::Time(merge.state_window), &sources)
    }

    fn process_merging(&mut self, key: &K, key_group: u32, record: &StreamRecord<T>) -> Result<bool, TaskError> {
        let mut skipped = true;
        let mut set = self.merging_set(key, key_group)?;
        let windows = std::mem::take(&mut self.windows);
        for window in windows.iter().filter_map(Window::time) {
            let (actual, merges) = set.add_window(window);
            for merge in merges {
                self.on_merge(key, key_group, merge)?;
            }
            let actual_window = Window::Time(actual);
            if self.is_window_late(&actual_window) {
                set.retire_window(&actual);
                continue;
            }
            skipped = false;
            let state_window = Window::Time(set.state_window(&actual).unwrap_or(actual));
            self.add_to_window(key, key_group, &state_window, record)?;
            let trigger = Rc::clone(&self.trigger);
            let result = self.on_element_trigger(&trigger, key, key_group, &actual_window, record_time(record))?;
            self.apply_trigger_result(result, key, key_group, &actual_window, &state_window)?;
            self.register_cleanup_timer(key, &actual_window);
        }
        self.windows = windows;
        self.persist_merging_set(key, key_group, set)?;
        Ok(skipped)
    }

    fn process_plain(&mut self, key: &K, key_group: u32, record: &StreamRecord<T>) -> Result<bool, TaskError> {
        let mut skipped = true;
        let windows = std::mem::take(&mut self.windows);
        for window in &windows {
            if self.is_window_late(window) {
                continue;
            }
            skipped = false;
            let had_contents = self.add_to_window(key, key_group, window, record)?;
            // Fast path: a window that already holds elements under the event-time trigger has
            // its end and cleanup timers registered, and is not due yet.
            if had_contents && *self.trigger == Trigger::EventTime && window.max_timestamp() > self.watermark() {
                continue;
            }
            let trigger = Rc::clone(&self.trigger);
            let result = self.on_element_trigger(&trigger, key, key_group, window, record_time(record))?;
            self.apply_trigger_result(result, key, key_group, window, window)?;
            self.register_cleanup_timer(key, window);
        }
        self.windows = windows;
        Ok(skipped)
    }

    fn on_timer(&mut self, key: K, window: Window, time: i64, domain: TimeDomain) -> Result<(), TaskError> {
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        let mut set = None;
        let state_window = if self.settings.assigner.is_merging() {
            let merging = self.merging_set(&key, key_group)?;
            let Some(state) = window.time().and_then(|w| merging.state_window(&w)) else {
                self.persist_merging_set(&key, key_group, merging)?;
                return Ok(());
            };
            set = Some(merging);
            Window::Time(state)
        } else {
            window
        };
        let trigger = Rc::clone(&self.trigger);
        let result = self.on_timer_trigger(&trigger, &key, key_group, &window, time, domain)?;
        self.apply_trigger_result(result, &key, key_group, &window, &state_window)?;
        if domain == self.window_domain() && time == self.cleanup_time(&window) {
            self.stored(|s| s.delete(key_group, &key, &state_window))?;
            let trigger = Rc::clone(&self.trigger);
            self.clear_trigger(&trigger, &key, key_group, &window)?;
            if let (Some(set), Some(w)) = (set.as_mut(), window.time()) {
                set.retire_window(&w);
            }
        }
        if let Some(set) = set {
            self.persist_merging_set(&key, key_group, set)?;
        }
        Ok(())
    }
}

/// The element's timestamp, or `i64::MIN` for a record without one (global windows).
fn record_time<T>(record: &StreamRecord<T>) -> i64 {
    record.timestamp.unwrap_or(i64::MIN)
}

fn evict<T>(evictor: Option<Evictor>, elements: &mut Vec<StreamRecord<T>>) {
    match evictor {
        Some(Evictor::Count(n)) if elements.len() > n => {
            elements.drain(..elements.len() - n);
        }
        Some(Evictor::Time(size)) => {
            if let Some(newest) = elements.iter().filter_map(|e| e.timestamp).max() {
                elements.retain(|e| e.timestamp.is_none_or(|t| t > newest - size));
            }
        }
        _ => {}
    }
}

impl<K, T, KS, C, N> Operator<T> for WindowOperator<K, T, KS, C, N>
where
    K: Key,
    T: Data + StateValue,
    KS: Fn(&T) -> K,
    C: WindowContents<K, T>,
    N: Operator<C::Out>,
{
    fn open(&mut self, ctx: &mut TaskContext) -> Result<(), TaskError> {
        self.next.open(ctx)?;
        self.name = ctx.operator_name(self.id);
        let timers = (&mut self.timers, &mut self.processing_timers);
        self.backend = open_keyed(ctx, self.id, &self.name, timers, None)?;
        let registry = self.backend.registry();
        // Under a tumbling or global assigner a key's windows follow one another, so few are
        // open at a time: the heap keeps each window's contents in a table of its own.
        let layout = if self.settings.assigner.assigns_one_window() { Layout::ByNamespace } else { Layout::ByEntry };
        let slots = (|| {
            Ok::<_, crate::error::StateError>(Slots {
                contents: registry.register_with_layout::<(Window, Stored<C::Acc, T>)>(
                    "window-contents",
                    "value",
                    layout,
                )?,
                counts: registry.register::<(Window, u64)>("trigger-count", "value")?,
                fire_times: registry.register::<(Window, i64)>("trigger-fire-time", "value")?,
                merging: registry.register::<(VoidNamespace, MergingWindowSet)>("merging-windows", "value")?,
            })
        })();
        self.slots = slots.map_err(|source| TaskError::State { operator: self.name.clone(), source })?;
        self.side = SideOutputs::open(self.id, ctx)?;
        self.metrics = ctx.metrics().clone();
        self.clock = ctx.clock();
        Ok(())
    }

    fn process(&mut self, record: StreamRecord<T>) -> Result<(), TaskError> {
        enter_operator(self.id);
        let timestamp = match record.timestamp {
            Some(ts) => ts,
            None if self.settings.assigner.is_event_time() => {
                return Err(TaskError::MissingTimestamp { operator: self.name.clone() });
            }
            None => i64::MIN,
        };
        let key = (self.key_selector)(&record.value);
        let key_group = assign_to_key_group(&key, self.backend.max_parallelism());
        self.windows.clear();
        let now = if self.settings.assigner.is_event_time() { 0 } else { self.clock.now_millis() };
        self.settings.assigner.assign_windows(timestamp, now, &mut self.windows);
        let skipped = if self.settings.assigner.is_merging() {
            self.process_merging(&key, key_group, &record)?
        } else {
            self.process_plain(&key, key_group, &record)?
        };
        if skipped && self.is_element_late(timestamp) {
            match &self.late_tag {
                Some(tag) => self.side.emit(tag, record)?,
                None => self.late_dropped += 1,
            }
        }
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<(), TaskError> {
        self.timers.advance_watermark(watermark.0);
        while let Some(timer) = self.timers.poll_due() {
            self.on_timer(timer.key, timer.namespace, timer.timestamp, TimeDomain::EventTime)?;
        }
        self.side.watermark(watermark)?;
        self.next.process_watermark(watermark)
    }

    fn on_processing_time(&mut self, now: i64) -> Result<(), TaskError> {
        self.processing_timers.advance_watermark(now);
        while let Some(timer) = self.processing_timers.poll_due() {
            self.on_timer(timer.key, timer.namespace, timer.timestamp, TimeDomain::ProcessingTime)?;
        }
        self.next.on_processing_time(now)
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<(), TaskError> {
        self.side.status(status)?;
        self.next.process_watermark_status(status)
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        self.side.flush()?;
        self.next.flush()
    }

    fn finish(&mut self) -> Result<(), TaskError> {
        self.metrics.add(&self.name, LATE_RECORDS_DROPPED, std::mem::take(&mut self.late_dropped));
        self.side.finish()?;
        self.next.finish()
    }

    fn snapshot_state(&mut self, barrier: CheckpointBarrier, snapshot: &mut TaskSnapshot) -> Result<(), TaskError> {
        let timers = (&self.timers, &self.processing_timers);
        snapshot_keyed((snapshot, &barrier), self.id, &self.name, &mut self.backend, timers, None)?;
        self.side.barrier(barrier)?;
        self.next.snapshot_state(barrier, snapshot)
    }

    crate::operator::forward_checkpoint!(no_snapshot);
}

/// The counter of late records a window operator dropped (no late side output was set).
pub const LATE_RECORDS_DROPPED: &str = "numLateRecordsDropped";
