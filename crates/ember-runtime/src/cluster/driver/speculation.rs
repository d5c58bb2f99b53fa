//! Speculative copies of straggling tasks (`ember.speculation`).

use super::*;

/// `ember.speculation`: when a task runs `multiplier` times longer than the median of its
/// stage's finished tasks, once `quantile` of them finished, a copy runs on another executor.
pub(super) struct Speculation {
    multiplier: f64,
    quantile: f64,
}

impl Speculation {
    pub(super) fn from_conf(conf: &EmberConf) -> Option<Speculation> {
        if !conf.get_bool("ember.speculation") {
            return None;
        }
        let number = |key: &str, default: f64| {
            conf.get(key)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(default)
        };
        Some(Speculation {
            multiplier: number("ember.speculation.multiplier", 1.5).max(1.0),
            quantile: number("ember.speculation.quantile", 0.75).clamp(0.0, 1.0),
        })
    }
}

impl Driver {
    /// Queues a copy of every straggler (see [`Speculation`]).
    pub(super) fn speculate(self: &Arc<Self>, speculation: &Speculation) {
        let mut state = self.state.lock();
        let mut copies = Vec::new();
        for running in state.running.values() {
            let stage = running.task.attempt.stage_id;
            let Some(durations) = state.durations.get(&stage) else {
                continue;
            };
            let total = running.task.rdd.num_partitions().max(1);
            if (durations.len() as f64) < speculation.quantile * total as f64 {
                continue;
            }
            let mut sorted = durations.clone();
            sorted.sort_unstable();
            let median = sorted[sorted.len() / 2];
            let threshold = median
                .mul_f64(speculation.multiplier)
                .max(Duration::from_millis(100));
            if running.started.elapsed() <= threshold {
                continue;
            }
            {
                let mut copy_state = running.copies.state.lock();
                if copy_state.speculated || copy_state.reported {
                    continue;
                }
                copy_state.speculated = true;
                copy_state.unfinished += 1;
            }
            log::info!(
                "Launching a speculative copy of {} (stage {} partition {}): it has run {:?} \
                 on executor {}, the stage's median task took {median:?}",
                running.task.attempt.task_id,
                stage.0,
                running.task.attempt.partition,
                running.started.elapsed(),
                running.executor_id
            );
            copies.push(Queued {
                task: running.task.clone(),
                reporter: running.reporter.clone(),
                enqueued: Instant::now(),
                copies: running.copies.clone(),
                avoid: Some(running.executor_id.clone()),
            });
        }
        state.queue.extend(copies);
    }
}
