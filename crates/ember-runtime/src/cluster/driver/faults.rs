//! Which task dies for `ember.testing.killExecutor`.

use super::*;

/// Which task dies for `ember.testing.killExecutor` (see `ember_core::fault`): for each value
/// of the setting, the `n`-th candidate task for its point, counted since the value was first
/// seen. Values are kept apart, so that the start-up value (read at registration) and a
/// session's value (read from tasks) do not re-arm each other.
#[derive(Default)]
pub(super) struct FaultState {
    armed: HashMap<String, Armed>,
}

pub(super) struct Armed {
    spec: std::result::Result<Option<KillSpec>, String>,
    seen: usize,
    fired: bool,
}

impl FaultState {
    /// The point at which the executor running this candidate must die, if it is the one.
    /// `candidate` says which points the task (or event) can reach.
    pub(super) fn take(
        &mut self,
        value: &str,
        candidate: impl Fn(KillPoint) -> bool,
    ) -> Result<Option<KillPoint>> {
        if value.is_empty() {
            return Ok(None);
        }
        let armed = self
            .armed
            .entry(value.to_string())
            .or_insert_with(|| Armed {
                spec: KillSpec::parse(value).map_err(|e| e.to_string()),
                seen: 0,
                fired: false,
            });
        let spec = match &armed.spec {
            Ok(Some(spec)) => spec,
            Ok(None) => return Ok(None),
            Err(error) => return Err(EmberError::Config(error.clone())),
        };
        if armed.fired || !candidate(spec.point) {
            return Ok(None);
        }
        armed.seen += 1;
        if armed.seen > spec.nth {
            armed.fired = true;
            return Ok(Some(spec.point));
        }
        Ok(None)
    }
}

impl Driver {
    /// The kill `ember.testing.killExecutor` (in `conf`) injects into this candidate, if any;
    /// nothing to look up when the key is not set (every task launch asks).
    pub(super) fn injected_kill(
        &self,
        conf: &EmberConf,
        candidate: impl Fn(KillPoint) -> bool,
    ) -> Result<Option<KillPoint>> {
        match conf.get(KILL_EXECUTOR_KEY).filter(|v| !v.is_empty()) {
            Some(value) => self.faults.lock().take(&value, candidate),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nth_candidate_dies_once_per_value_and_values_do_not_rearm_each_other() {
        let mut faults = FaultState::default();
        let any = |_: KillPoint| true;
        assert_eq!(faults.take("", any).unwrap(), None);
        assert_eq!(faults.take("launch:1/a", any).unwrap(), None);
        // Another value in between (the start-up one, read at registration) changes nothing.
        assert_eq!(
            faults
                .take("register", |p| p == KillPoint::Register)
                .unwrap(),
            Some(KillPoint::Register)
        );
        assert_eq!(
            faults.take("launch:1/a", any).unwrap(),
            Some(KillPoint::Launch)
        );
        assert_eq!(faults.take("launch:1/a", any).unwrap(), None, "fired once");
        assert_eq!(faults.take("register", any).unwrap(), None, "fired once");
        // Tasks that cannot reach the point are not counted.
        assert_eq!(
            faults.take("fetch/b", |p| p != KillPoint::Fetch).unwrap(),
            None
        );
        assert_eq!(faults.take("fetch/b", any).unwrap(), Some(KillPoint::Fetch));
        let error = faults.take("nowhere", any).unwrap_err().to_string();
        assert!(error.contains("unknown kill point 'nowhere'"), "{error}");
    }
}
