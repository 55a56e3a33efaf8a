//! The ECS calls of the run engine, with plain views of what it reads.
//!
//! This file holds the client: its calls counted, cut short by Ctrl-C, bounded by a
//! deadline. The calls are in `ecs/` by group of operations: `services.rs`,
//! `service_deployments.rs`, `task_definitions.rs`, `tasks.rs`, and the load balancer reads
//! a service's verdict depends on (Elastic Load Balancing v2, same guard and count) in
//! `targets.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AwsError;

mod service_deployments;
mod services;
mod targets;
mod task_definitions;
mod tasks;

/// The ECS client of a run, counting its calls.
#[derive(Clone, Debug)]
pub struct Ecs {
    client: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    calls: Arc<AtomicU64>,
    /// Set by Ctrl-C or SIGTERM.
    interrupted: Option<Arc<AtomicBool>>,
    /// No call waits past this (shared by clones).
    deadline: Arc<Mutex<Option<Instant>>>,
}

impl Ecs {
    #[must_use]
    pub fn new(clients: &super::Clients) -> Self {
        Self {
            client: clients.ecs.clone(),
            elb: clients.elb.clone(),
            calls: Arc::new(AtomicU64::new(0)),
            interrupted: None,
            deadline: Arc::new(Mutex::new(None)),
        }
    }

    /// The region the client calls (none when the SDK's chain found none).
    #[must_use]
    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(|region| region.as_ref().to_owned())
    }

    /// API calls made so far.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Ctrl-C (and SIGTERM) cut calls short: each call after `flag` is set, and each one
    /// in flight, ends with the `Interrupted` error.
    #[must_use]
    pub fn interruptible(mut self, flag: Arc<AtomicBool>) -> Self {
        self.interrupted = Some(flag);
        self
    }

    /// A client for the last look after Ctrl-C: not cut by the interruption, but every
    /// call bounded by `within` from now.
    #[must_use]
    pub fn for_last_look(&self, within: Duration) -> Self {
        Self {
            client: self.client.clone(),
            elb: self.elb.clone(),
            calls: Arc::clone(&self.calls),
            interrupted: None,
            deadline: Arc::new(Mutex::new(Some(Instant::now() + within))),
        }
    }

    /// Calls that have not answered by `deadline` end with a `Timeout` error (`verify`'s
    /// time left bounds every call it makes); `None` lifts the bound.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        *self.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = deadline;
    }

    /// Runs one call, racing it with Ctrl-C and the deadline: it is dropped (the SDK
    /// cancels it) when either comes first.
    async fn guarded<F: Future>(&self, call: F) -> Result<F::Output, AwsError> {
        let cut = |code: &str, message: &str| AwsError {
            operation: "an ECS call",
            resource: "the endpoint".to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        };
        let interrupted = || self.interrupted.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
        if interrupted() {
            return Err(cut("Interrupted", "interrupted before the call"));
        }
        let deadline = *self.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // On the heap: the SDK's futures are large, and callers' futures hold this one.
        let mut call = Box::pin(call);
        loop {
            tokio::select! {
                answer = &mut call => return Ok(answer),
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    if interrupted() {
                        return Err(cut("Interrupted", "interrupted while waiting for the answer"));
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(cut("Timeout", "no answer within the time the step has left"));
                    }
                }
            }
        }
    }
}
