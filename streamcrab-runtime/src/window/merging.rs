//! Merging of session windows (Flink's `TimeWindow.mergeWindows` and `MergingWindowSet`).

use super::TimeWindow;

/// Groups of at least two windows that merge, each with the window covering it: sorted by
/// start, windows merge while they intersect (touching windows do).
pub fn merge_windows(windows: &[TimeWindow]) -> Vec<(TimeWindow, Vec<TimeWindow>)> {
    let mut sorted = windows.to_vec();
    sorted.sort_by_key(|w| w.start);
    let mut merged: Vec<(TimeWindow, Vec<TimeWindow>)> = Vec::new();
    for window in sorted {
        match merged.last_mut() {
            Some((cover, members)) if cover.intersects(&window) => {
                *cover = cover.cover(&window);
                members.push(window);
            }
            _ => merged.push((window, vec![window])),
        }
    }
    merged.retain(|(_, members)| members.len() > 1);
    merged
}

/// The merging windows of one key: each window maps to the window whose state holds its
/// contents (the state window stays fixed while the window grows by merging).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MergingWindowSet {
    pub(crate) mapping: Vec<(TimeWindow, TimeWindow)>,
}

/// One merge that [`MergingWindowSet::add_window`] performed.
pub(crate) struct Merge {
    pub(crate) result: TimeWindow,
    pub(crate) merged: Vec<TimeWindow>,
    pub(crate) state_window: TimeWindow,
    pub(crate) merged_state_windows: Vec<TimeWindow>,
}

impl MergingWindowSet {
    pub(crate) fn state_window(&self, window: &TimeWindow) -> Option<TimeWindow> {
        self.mapping.iter().find(|(w, _)| w == window).map(|(_, s)| *s)
    }

    pub(crate) fn retire_window(&mut self, window: &TimeWindow) {
        self.mapping.retain(|(w, _)| w != window);
    }

    fn remove(&mut self, window: &TimeWindow) -> Option<TimeWindow> {
        let index = self.mapping.iter().position(|(w, _)| w == window)?;
        Some(self.mapping.remove(index).1)
    }

    /// Adds `new_window`, merging it with what it intersects; returns the window it ended up
    /// in and the merges done (`MergingWindowSet.addWindow`).
    pub(crate) fn add_window(&mut self, new_window: TimeWindow) -> (TimeWindow, Vec<Merge>) {
        let mut all: Vec<TimeWindow> = self.mapping.iter().map(|(w, _)| *w).collect();
        all.push(new_window);
        let results = merge_windows(&all);
        let mut result_window = new_window;
        let mut merged_new_window = false;
        let mut merges = Vec::new();
        for (merge_result, mut merged) in results.iter().cloned() {
            if let Some(i) = merged.iter().position(|w| *w == new_window) {
                merged.remove(i);
                merged_new_window = true;
                result_window = merge_result;
            }
            let Some(first) = merged.first() else { continue };
            let state_window = self.state_window(first).unwrap_or(*first);
            let mut merged_state_windows: Vec<TimeWindow> = merged.iter().filter_map(|w| self.remove(w)).collect();
            self.mapping.push((merge_result, state_window));
            merged_state_windows.retain(|w| *w != state_window);
            if !(merged.contains(&merge_result) && merged.len() == 1) {
                merges.push(Merge { result: merge_result, merged, state_window, merged_state_windows });
            }
        }
        if results.is_empty() || (result_window == new_window && !merged_new_window) {
            self.mapping.push((result_window, result_window));
        }
        (result_window, merges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_windows_merge_and_a_bridge_merges_several() {
        let w = TimeWindow::new;
        assert_eq!(merge_windows(&[w(0, 3), w(3, 6)]), vec![(w(0, 6), vec![w(0, 3), w(3, 6)])]);
        assert!(merge_windows(&[w(0, 3), w(4, 6)]).is_empty());
        let mut set = MergingWindowSet::default();
        set.add_window(w(0, 3));
        set.add_window(w(10, 13));
        let (result, merges) = set.add_window(w(2, 11));
        assert_eq!(result, w(0, 13));
        assert_eq!(merges.len(), 1);
        assert_eq!(set.mapping, vec![(w(0, 13), w(0, 3))]);
        assert_eq!(merges[0].merged_state_windows, vec![w(10, 13)]);
    }
}
