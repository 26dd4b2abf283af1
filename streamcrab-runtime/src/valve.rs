//! Combining watermarks and watermark statuses of several input channels, exactly as Flink's
//! `StatusWatermarkValve`.
//!
//! Every channel starts active, aligned, at `i64::MIN`. The output watermark is the minimum over
//! aligned (active) channels, emitted only when it increases. Idle channels leave the minimum;
//! when all are idle the maximum is flushed and the valve itself turns idle. A channel that turns
//! active again re-joins the minimum only once its watermark has caught up with the last output.

use crate::element::{Watermark, WatermarkStatus};

/// What one input step made the valve emit, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValveOutput {
    /// A new combined watermark.
    Watermark(Watermark),
    /// A new combined status.
    Status(WatermarkStatus),
}

#[derive(Clone, Copy, Debug)]
struct ChannelStatus {
    watermark: i64,
    status: WatermarkStatus,
    aligned: bool,
}

/// The watermark valve of one input of an operator.
#[derive(Clone, Debug)]
pub struct StatusWatermarkValve {
    channels: Vec<ChannelStatus>,
    last_output_watermark: i64,
    last_output_status: WatermarkStatus,
}

impl StatusWatermarkValve {
    /// A valve over `channels` input channels.
    pub fn new(channels: usize) -> Self {
        let initial = ChannelStatus { watermark: i64::MIN, status: WatermarkStatus::Active, aligned: true };
        Self {
            channels: vec![initial; channels],
            last_output_watermark: i64::MIN,
            last_output_status: WatermarkStatus::Active,
        }
    }

    /// The last watermark the valve emitted.
    pub fn current_watermark(&self) -> i64 {
        self.last_output_watermark
    }

    /// Feeds watermark `watermark` of channel `channel`; pushes what it causes onto `out`.
    pub fn input_watermark(&mut self, channel: usize, watermark: Watermark, out: &mut Vec<ValveOutput>) {
        let last_output = self.last_output_watermark;
        let valve_active = self.last_output_status == WatermarkStatus::Active;
        let ch = &mut self.channels[channel];
        if !valve_active || ch.status != WatermarkStatus::Active || watermark.0 <= ch.watermark {
            return;
        }
        ch.watermark = watermark.0;
        if !ch.aligned && watermark.0 >= last_output {
            ch.aligned = true;
        }
        self.output_new_min_across_aligned(out);
    }

    /// Feeds a status change of channel `channel`; pushes what it causes onto `out`.
    pub fn input_watermark_status(&mut self, channel: usize, status: WatermarkStatus, out: &mut Vec<ValveOutput>) {
        let ch = self.channels[channel];
        match (status, ch.status) {
            (WatermarkStatus::Idle, WatermarkStatus::Active) => {
                let ch = &mut self.channels[channel];
                ch.status = WatermarkStatus::Idle;
                ch.aligned = false;
                let was_min = ch.watermark == self.last_output_watermark;
                if !self.channels.iter().any(|c| c.status == WatermarkStatus::Active) {
                    if was_min {
                        self.output_max_across_all(out);
                    }
                    self.last_output_status = WatermarkStatus::Idle;
                    out.push(ValveOutput::Status(WatermarkStatus::Idle));
                } else if was_min {
                    self.output_new_min_across_aligned(out);
                }
            }
            (WatermarkStatus::Active, WatermarkStatus::Idle) => {
                let last_output = self.last_output_watermark;
                let ch = &mut self.channels[channel];
                ch.status = WatermarkStatus::Active;
                if ch.watermark >= last_output {
                    ch.aligned = true;
                }
                if self.last_output_status == WatermarkStatus::Idle {
                    self.last_output_status = WatermarkStatus::Active;
                    out.push(ValveOutput::Status(WatermarkStatus::Active));
                }
            }
            _ => {}
        }
    }

    fn output_new_min_across_aligned(&mut self, out: &mut Vec<ValveOutput>) {
        let min = self.channels.iter().filter(|c| c.aligned).map(|c| c.watermark).min();
        if let Some(min) = min
            && min > self.last_output_watermark
        {
            self.last_output_watermark = min;
            out.push(ValveOutput::Watermark(Watermark(min)));
        }
    }

    fn output_max_across_all(&mut self, out: &mut Vec<ValveOutput>) {
        let max = self.channels.iter().map(|c| c.watermark).max().unwrap_or(i64::MIN);
        if max > self.last_output_watermark {
            self.last_output_watermark = max;
            out.push(ValveOutput::Watermark(Watermark(max)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_over_channels_and_never_backwards() {
        let mut valve = StatusWatermarkValve::new(2);
        let mut out = Vec::new();
        valve.input_watermark(0, Watermark(5), &mut out);
        assert!(out.is_empty());
        valve.input_watermark(1, Watermark(3), &mut out);
        assert_eq!(out, vec![ValveOutput::Watermark(Watermark(3))]);
        out.clear();
        valve.input_watermark(1, Watermark(2), &mut out);
        assert!(out.is_empty());
        valve.input_watermark(1, Watermark(9), &mut out);
        assert_eq!(out, vec![ValveOutput::Watermark(Watermark(5))]);
    }
}
