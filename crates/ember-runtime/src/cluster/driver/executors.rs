//! The executors as the driver knows them: start-up, registration, heartbeats, losses and
//! replacements, the monitor that removes silent ones, and injected kills.

use super::*;

impl Driver {
    pub(super) fn wait_for_executors(
        &self,
        wanted: usize,
        waiting: Duration,
        local: bool,
    ) -> Result<()> {
        let deadline = Instant::now() + waiting;
        loop {
            if local {
                if let Some(status) = self.reap_exited_children().into_iter().next() {
                    return Err(EmberError::Execution(format!(
                        "an executor process of {} exited before registering ({status}); \
                         its error is printed above",
                        self.name
                    )));
                }
            }
            let mut state = self.state.lock();
            let registered = state.executors.len();
            if registered >= wanted {
                log::info!("{registered} executor(s) registered; scheduling starts");
                return Ok(());
            }
            if Instant::now() >= deadline {
                if local && registered == 0 {
                    return Err(EmberError::Execution(format!(
                        "no executor of {} registered within {waiting:?} \
                         (ember.scheduler.maxRegisteredResourcesWaitingTime)",
                        self.name
                    )));
                }
                log::warn!(
                    "{registered} of {wanted} executor(s) registered within {waiting:?}; \
                     scheduling starts anyway"
                );
                return Ok(());
            }
            self.changed
                .wait_for(&mut state, Duration::from_millis(100));
        }
    }

    pub(super) fn register(&self, body: Bytes) -> std::result::Result<Vec<u8>, Status> {
        let request: proto::RegisterExecutor = rpc::decode(actions::REGISTER, &body)?;
        check_version("the executor", request.wire_version).map_err(|e| rpc::status(&e))?;
        if self.stopped.load(Ordering::Relaxed) {
            return Err(Status::unavailable("the driver is stopping"));
        }
        let id = self
            .next_executor
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let address = format!("{}:{}", request.host, request.port);
        let client = rpc::client(&address, &self.auth).map_err(|e| rpc::status(&e))?;
        let cores = (request.cores as usize).max(1);
        log::info!(
            "Registered executor {id} at {address} (pid {}) with {cores} core(s), {} MiB",
            request.pid,
            request.memory >> 20
        );
        self.state.lock().executors.insert(
            id.clone(),
            ExecutorSlot {
                address,
                cores,
                free: cores,
                client,
                last_heartbeat: Instant::now(),
                pid: request.pid,
            },
        );
        self.changed.notify_all();
        let conf = self
            .conf
            .explicit()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let kill_at = self
            .injected_kill(&self.conf, |point| point == KillPoint::Register)
            .map_err(|e| rpc::status(&e))?;
        Ok(proto::Registered {
            executor_id: id,
            conf,
            kill_at: kill_at.map(|p| p.name().to_string()).unwrap_or_default(),
        }
        .encode_to_vec())
    }

    pub(super) fn heartbeat(&self, body: Bytes) -> std::result::Result<Vec<u8>, Status> {
        let request: proto::Heartbeat = rpc::decode(actions::HEARTBEAT, &body)?;
        let mut state = self.state.lock();
        let known = match state.executors.get_mut(&request.executor_id) {
            Some(slot) => {
                slot.last_heartbeat = Instant::now();
                true
            }
            None => false,
        };
        Ok(proto::HeartbeatReply { known }.encode_to_vec())
    }

    /// Forgets an executor: its map outputs and cached blocks are gone with it.
    pub(super) fn executor_lost(&self, executor_id: &str, reason: &str) {
        let slot = {
            let mut state = self.state.lock();
            let Some(slot) = state.executors.remove(executor_id) else {
                return;
            };
            state.cached.retain(|_, (holder, _)| holder != executor_id);
            slot
        };
        let removed = self
            .tracker
            .remove_outputs_on_executor(&ExecutorId(executor_id.to_string()));
        log::warn!(
            "Lost executor {executor_id} at {} (pid {}): {reason}; {removed} map output(s) it held \
             will be recomputed from lineage when needed",
            slot.address,
            slot.pid
        );
        self.lost.fetch_add(1, Ordering::Relaxed);
        // A child that stopped answering is stopped for good, and replaced (local-cluster
        // keeps its number of executors, as Spark's standalone workers relaunch theirs).
        let mut children = self.children.lock();
        let mut was_child = false;
        children.retain_mut(|child| {
            if child.id() != slot.pid {
                return true;
            }
            was_child = true;
            let _ = child.kill();
            let _ = child.wait();
            false
        });
        if let (true, Some(cluster)) = (was_child, &self.local_cluster) {
            if self.stopped.load(Ordering::Relaxed) {
                // Stopping: no replacement.
            } else if self.relaunches.fetch_add(1, Ordering::Relaxed) < self.max_relaunches {
                match cluster.spawn() {
                    Ok(child) => {
                        log::info!(
                            "Started executor process {} to replace executor {executor_id}",
                            child.id()
                        );
                        children.push(child);
                    }
                    Err(e) => log::warn!("could not replace executor {executor_id}: {e}"),
                }
            } else {
                log::warn!(
                    "not replacing executor {executor_id}: {} executor(s) were replaced already \
                     (ember.executor.maxRelaunches)",
                    self.max_relaunches
                );
            }
        }
        self.changed.notify_all();
    }

    /// Notices `local-cluster` executor processes that ended (killed, crashed) at once,
    /// rather than at the next failed call or after `ember.network.timeout`. Returns how
    /// the processes that never registered ended.
    pub(super) fn reap_exited_children(&self) -> Vec<String> {
        let mut unregistered = Vec::new();
        // (pid, how it ended, whether a signal ended it rather than its own exit)
        let exited: Vec<(u32, String, bool)> = self
            .children
            .lock()
            .iter_mut()
            .filter_map(|child| match child.try_wait() {
                Ok(Some(status)) => Some((child.id(), status.to_string(), status.code().is_none())),
                _ => None,
            })
            .collect();
        for (pid, status, killed) in exited {
            let executor = self
                .state
                .lock()
                .executors
                .iter()
                .find(|(_, slot)| slot.pid == pid)
                .map(|(id, _)| id.clone());
            match executor {
                Some(id) => self.executor_lost(&id, &format!("its process exited ({status})")),
                None => {
                    log::warn!("executor process {pid} exited before registering ({status})");
                    let mut children = self.children.lock();
                    children.retain(|child| child.id() != pid);
                    // Killed from outside while starting (a signal, not its own error): start
                    // another, as for a registered executor that was lost. An executor that
                    // exits by itself before registering has a start-up error to report.
                    let replaced = killed
                        && !self.stopped.load(Ordering::Relaxed)
                        && self.local_cluster.as_ref().is_some_and(|cluster| {
                            self.relaunches.fetch_add(1, Ordering::Relaxed) < self.max_relaunches
                                && match cluster.spawn() {
                                    Ok(child) => {
                                        log::info!(
                                            "Started executor process {} to replace process {pid}",
                                            child.id()
                                        );
                                        children.push(child);
                                        true
                                    }
                                    Err(e) => {
                                        log::warn!("could not replace executor process {pid}: {e}");
                                        false
                                    }
                                }
                        });
                    if !replaced {
                        unregistered.push(status);
                    }
                }
            }
        }
        unregistered
    }

    /// Ends every queued task with `error()`.
    pub(super) fn fail_queued(&self, error: impl Fn() -> EmberError) {
        let queued: Vec<Queued> = self.state.lock().queue.drain(..).collect();
        for queued in queued {
            if queued.copies.ended(false) {
                queued
                    .reporter
                    .report(ended(&queued.task, "none", Err(error())));
            }
        }
    }

    /// Kills the process of an executor this driver started (`mapOutput.registered`).
    pub(super) fn kill_executor_process(&self, executor_id: &str) {
        let pid = self.state.lock().executors.get(executor_id).map(|s| s.pid);
        let mut children = self.children.lock();
        match children.iter_mut().find(|c| Some(c.id()) == pid) {
            Some(child) => {
                eprintln!(
                    "{KILL_EXECUTOR_KEY}: killing executor {executor_id} (pid {}) at {}",
                    child.id(),
                    KillPoint::MapOutputRegistered
                );
                let _ = child.kill();
            }
            None => log::warn!(
                "{KILL_EXECUTOR_KEY}: {} can only kill executors of local-cluster; executor \
                 {executor_id} was started separately",
                KillPoint::MapOutputRegistered
            ),
        }
    }
}

/// Removes executors whose heartbeats stopped for `ember.network.timeout`, and says so when
/// tasks wait with no executor to run them.
pub(super) async fn monitor(
    driver: Arc<Driver>,
    timeout: Duration,
    speculation: Option<Speculation>,
) {
    let mut warned = Instant::now();
    let mut starving_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if driver.stopped.load(Ordering::Relaxed) {
            return;
        }
        let (silent, starving): (Vec<String>, bool) = {
            let state = driver.state.lock();
            let silent = state
                .executors
                .iter()
                .filter(|(_, slot)| slot.last_heartbeat.elapsed() > timeout)
                .map(|(id, _)| id.clone())
                .collect();
            (
                silent,
                state.executors.is_empty() && !state.queue.is_empty(),
            )
        };
        driver.reap_exited_children();
        if let Some(speculation) = &speculation {
            driver.speculate(speculation);
        }
        // Tasks whose locality wait ran out may go elsewhere now.
        driver.dispatch();
        for id in silent {
            driver.executor_lost(
                &id,
                &format!("no heartbeat for more than {timeout:?} (ember.network.timeout)"),
            );
        }
        starving_since = if starving {
            starving_since.or(Some(Instant::now()))
        } else {
            None
        };
        // No executor for a whole network timeout: the waiting tasks fail (and, once retried
        // ember.task.maxFailures times, their jobs), rather than waiting forever.
        if starving_since.is_some_and(|since| since.elapsed() > timeout) {
            let reason = format!(
                "no executor has been registered with {} for more than {timeout:?} \
                 (ember.network.timeout)",
                driver.name
            );
            driver.fail_queued(|| EmberError::Execution(reason.clone()));
        }
        if starving && warned.elapsed() > Duration::from_secs(10) {
            warned = Instant::now();
            log::warn!(
                "tasks are waiting and no executor is registered with {}; start executors with \
                 `ember executor --driver HOST:PORT`",
                driver.name
            );
        }
    }
}
