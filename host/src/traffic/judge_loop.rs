//! The judge's clock: one task per running plan that judges every interval. Tests drive it
//! with tokio's paused clock, or skip it with an explicit judgement
//! ([`super::Traffic::judge_now`]), so no test races a clock.

use std::{sync::Weak, time::Duration};

use tokio::{runtime::Handle, task::AbortHandle, time::MissedTickBehavior};

use super::{Traffic, canary::Cause};

/// Judges `adapter`'s plan every `every` until the plan stops running or the host goes.
pub fn spawn(
    traffic: Weak<Traffic>,
    adapter: String,
    every: Duration,
    runtime: &Handle,
) -> AbortHandle {
    runtime
        .spawn(async move {
            let start = tokio::time::Instant::now() + every;
            let mut ticks = tokio::time::interval_at(start, every);
            // A late tick (a busy runtime) judges once, not a burst of short intervals.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Holds the host's traffic state only while judging.
                let Some(traffic) = traffic.upgrade() else {
                    return;
                };
                if traffic.judge_now(&adapter, Cause::Interval).is_err() {
                    return;
                }
            }
        })
        .abort_handle()
}
