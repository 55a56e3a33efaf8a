//! The soak (issue 14; docs/fuzzing.md, "Soak under API faults"): the service histories of
//! `histories.rs` played against a local ECS that throttles, answers 500, drops
//! connections, loses the answers of calls it carried out, adds latency, and is restarted
//! between steps (its state file read back, on the same port, the clients none the wiser).
//!
//! A call can fail for good here (its three attempts all faulted), so a step's exact
//! outcome cannot be foretold. The oracle is the verdict's truth instead, read from the
//! local ECS's own state (no API call, no fault) before and after each run:
//! - exit 0: the service's PRIMARY deployment runs the revision the Deployfile declares
//!   (its image and its `API_TOKEN`), COMPLETED, at the declared desired count;
//! - exit 1: it runs a revision that completed before, not the declared one, COMPLETED;
//! - exit 2: nothing a run writes changed (deployments, revisions, desired count, the
//!   deployment configuration);
//! - exit 3: a person must look — no claim; 130 only when the step interrupts the run;
//! - anything else fails the soak, and so does an event that shows the secret.
//!
//! `FERRY_SOAK_HISTORIES` (default 4) histories from seed `FERRY_SOAK_SEED` (default 0).

use std::collections::{BTreeMap, BTreeSet};

use ferry::engine::{Event, RollbackError};
use ferry::local::deployment::{DeploymentStatus, RolloutState};

use crate::support::harness::{Local, Outcome, Setup};
use crate::support::history_model::{
    Action, Declared, FAULTS, Kind, Model, Random, SECRET, deployfile, history, setting,
    task_definition_file,
};

/// The API faults of the soak, beside the images' behaviour of `histories.rs`.
const API: &str = r#""api": {"throttle": 0.06, "server_errors": 0.04, "drop_connections": 0.02,
  "latency": "2ms", "seed": SEED,
  "lose_answers": {"RegisterTaskDefinition": 1, "CreateService": 1, "UpdateService": 1,
                   "DescribeServices": 2}}"#;

/// What the local ECS holds of service `web`, as far as a verdict speaks of it.
#[derive(Clone, Debug, PartialEq)]
struct Truth {
    exists: bool,
    /// The PRIMARY deployment's revision and rollout state.
    primary: Option<(String, RolloutState)>,
    /// Deployments not INACTIVE.
    live_deployments: usize,
    deployments: BTreeSet<String>,
    revisions: usize,
    desired: u32,
    /// The deployment configuration (min/max, grace, breaker), as JSON.
    config: String,
    /// (image, API_TOKEN) of every revision, by ARN.
    contents: BTreeMap<String, (String, String)>,
}

impl Truth {
    fn read(local: &Local) -> Self {
        local.server.with_state(|state, _| {
            let contents = state
                .families
                .get("web")
                .map(|revisions| {
                    revisions
                        .iter()
                        .map(|td| {
                            let container = &td.body["containerDefinitions"][0];
                            let token = container["environment"]
                                .as_array()
                                .and_then(|env| env.iter().find(|e| e["name"] == "API_TOKEN"))
                                .and_then(|e| e["value"].as_str())
                                .unwrap_or_default()
                                .to_owned();
                            let image = container["image"].as_str().unwrap_or_default().to_owned();
                            (td.arn.clone(), (image, token))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let Some(service) = state.clusters.get("c").and_then(|c| c.services.get("web")) else {
                return Truth {
                    exists: false,
                    primary: None,
                    live_deployments: 0,
                    deployments: BTreeSet::new(),
                    revisions: state.families.get("web").map_or(0, Vec::len),
                    desired: 0,
                    config: String::new(),
                    contents,
                };
            };
            let deployments = &service.rollout.deployments;
            let mut config = serde_json::to_value(&service.rollout.config).unwrap_or_default();
            config["desired"] = serde_json::Value::Null;
            Truth {
                exists: true,
                primary: deployments
                    .iter()
                    .find(|d| d.status == DeploymentStatus::Primary)
                    .map(|d| (d.revision.arn.clone(), d.rollout)),
                live_deployments: deployments
                    .iter()
                    .filter(|d| d.status != DeploymentStatus::Inactive)
                    .count(),
                deployments: deployments.iter().map(|d| d.id.clone()).collect(),
                revisions: state.families.get("web").map_or(0, Vec::len),
                desired: service.rollout.config.desired,
                config: config.to_string(),
                contents,
            }
        })
    }

    fn settled(&self) -> bool {
        !self.exists
            || (self.live_deployments == 1
                && self.primary.as_ref().is_some_and(|(_, r)| *r != RolloutState::InProgress))
    }

    fn running(&self) -> Option<&(String, String)> {
        self.primary.as_ref().and_then(|(arn, _)| self.contents.get(arn))
    }
}

/// Counts of one soak.
#[derive(Default)]
struct Tally {
    runs: usize,
    codes: BTreeMap<u8, usize>,
    restarts: usize,
    rollbacks: usize,
    unsettled: usize,
    /// API faults the local ECS injected, by kind.
    injected: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn count_faults(&mut self, local: &Local) {
        for (kind, n) in local.server.injected() {
            *self.injected.entry(kind).or_default() += n;
        }
    }
}

/// One history's state: the Deployfile's model and the revisions that ever completed.
struct Soak {
    local: Local,
    model: Model,
    completed: BTreeSet<String>,
}

impl Soak {
    /// Lets the local ECS run on until the service settles (time only, no call).
    fn settle(&mut self, tally: &mut Tally) {
        for _ in 0..500 {
            if Truth::read(&self.local).settled() {
                return;
            }
            self.local.pass(5_000);
        }
        tally.unsettled += 1;
    }

    fn note_completed(&mut self) {
        if let Some((arn, RolloutState::Completed)) = Truth::read(&self.local).primary {
            self.completed.insert(arn);
        }
    }

    /// Runs the model's Deployfile and judges the verdict against the state.
    async fn run(
        &mut self,
        setup: Setup,
        may_interrupt: bool,
        tally: &mut Tally,
    ) -> Result<u8, String> {
        if self.model.file {
            self.local.write(
                "td.json",
                &task_definition_file(
                    &self.model.image,
                    &self.model.secret(),
                    self.model.balanced.is_some(),
                ),
            );
        }
        let before = Truth::read(&self.local);
        let outcome = self.local.run_with(&deployfile(&self.model), setup).await;
        let after = Truth::read(&self.local);
        tally.runs += 1;
        *tally.codes.entry(outcome.code()).or_default() += 1;
        for event in &outcome.events {
            let shown = serde_json::to_string(event).unwrap_or_default();
            if shown.contains(SECRET) {
                return Err(format!("an event shows the secret: {shown}"));
            }
        }
        self.judge(&before, &after, &outcome, may_interrupt)?;
        self.note_completed();
        Ok(outcome.code())
    }

    fn judge(
        &self,
        before: &Truth,
        after: &Truth,
        outcome: &Outcome,
        may_interrupt: bool,
    ) -> Result<(), String> {
        let declared = (self.model.image.clone(), self.model.secret());
        let desired =
            self.model.declared.desired.unwrap_or(if before.exists { before.desired } else { 1 });
        let completed = matches!(after.primary, Some((_, RolloutState::Completed)));
        let wrong = |claim: &str| {
            Err(format!(
                "exit {} ({}) claims {claim}, but the service shows {after:#?} \
                 (before: {before:#?})",
                outcome.code(),
                outcome.reason
            ))
        };
        match outcome.code() {
            0 => {
                if !(completed && after.running() == Some(&declared) && after.desired == desired) {
                    return wrong(&format!("{declared:?} runs, completed, {desired} desired"));
                }
            }
            1 => {
                let arn = after.primary.as_ref().map(|(arn, _)| arn.clone()).unwrap_or_default();
                let earlier = self.completed.contains(&arn)
                    || before.primary.as_ref().is_some_and(|(a, _)| *a == arn);
                if !(completed && after.running() != Some(&declared) && earlier) {
                    return wrong("a rollback to a revision that completed before");
                }
            }
            2 => {
                let unchanged = after.revisions == before.revisions
                    && after.desired == before.desired
                    && after.config == before.config
                    && (!before.settled() || after.deployments == before.deployments);
                if !unchanged {
                    return wrong("nothing was changed");
                }
            }
            3 => {}
            130 if may_interrupt => {}
            code => return Err(format!("exit {code}: {}", outcome.reason)),
        }
        Ok(())
    }

    /// The image and secret generation of the revision the service runs.
    fn running(&self) -> Option<(String, u32)> {
        let truth = Truth::read(&self.local);
        let (image, token) = truth.running()?.clone();
        let generation = token.rsplit('-').next()?.parse().ok()?;
        Some((image, generation))
    }

    /// Settings that keep the running revision.
    async fn settings(&mut self, declared: Declared, tally: &mut Tally) -> Result<(), String> {
        if let Some((image, secret)) = self.running() {
            self.model.image = image;
            self.model.secret = secret;
            self.model.file = false;
        }
        self.model.declared = declared;
        self.run(Setup::default(), false, tally).await.map(drop)
    }

    async fn play(&mut self, action: &Action, tally: &mut Tally) -> Result<(), String> {
        match action {
            Action::Deploy { kind, version } => {
                self.model.file = false;
                self.model.image = kind.image(*version);
                self.run(Setup::default(), false, tally).await?;
            }
            Action::FileEdit { version, kind } => {
                self.model.file = true;
                self.model.image = kind.image(*version);
                self.run(Setup::default(), false, tally).await?;
            }
            Action::Settings(declared) => self.settings(*declared, tally).await?,
            Action::Rerun => {
                self.run(Setup::default(), false, tally).await?;
            }
            Action::RotateSecret => {
                self.model.secret += 1;
                self.run(Setup::default(), false, tally).await?;
            }
            Action::Intruder { version } => {
                self.model.file = false;
                self.model.image = Kind::Slow.image(*version);
                let hook = Some(crate::support::harness::intruder());
                self.run(Setup { hook, ..Setup::default() }, false, tally).await?;
            }
            Action::OldTaskDies { version } => {
                self.model.file = false;
                self.model.image = Kind::Slow.image(*version);
                let hook = Some(crate::support::harness::old_task_killer());
                self.run(Setup { hook, ..Setup::default() }, false, tally).await?;
            }
            Action::ManualRollback => {
                let before = Truth::read(&self.local);
                let rolled = self.local.rollback(None).await;
                let after = Truth::read(&self.local);
                tally.rollbacks += 1;
                match rolled {
                    Ok(arn) => {
                        if after.primary != Some((arn.clone(), RolloutState::Completed)) {
                            return Err(format!(
                                "`ferry rollback` said {arn} runs; the service shows {after:#?}"
                            ));
                        }
                    }
                    Err(RollbackError::Refused(why)) => {
                        if after.deployments != before.deployments
                            || after.desired != before.desired
                        {
                            return Err(format!(
                                "`ferry rollback` refused ({why}) but the service changed: \
                                 {after:#?}"
                            ));
                        }
                    }
                    Err(_) => {}
                }
                self.note_completed();
            }
            Action::ScaleToZeroAndBack => {
                for desired in [0, 3] {
                    let declared = Declared { desired: Some(desired), ..self.model.declared };
                    self.settings(declared, tally).await?;
                }
            }
            Action::OtherToolStuck => {
                // Faults reach the other client too: it may fail, as on AWS.
                let _ = crate::support::harness::set_stuck_configuration(&self.local.clients).await;
                self.model.declared =
                    Declared { desired: None, min: None, max: None, ..self.model.declared };
            }
            Action::Interrupted { version } => {
                self.model.file = false;
                self.model.image = Kind::Slow.image(*version);
                let hook = Box::new(|event: &Event, hook: &crate::support::harness::Hook| {
                    if let Event::Progress { .. } = event {
                        hook.interrupt();
                    }
                });
                self.run(Setup { hook: Some(hook), ..Setup::default() }, true, tally).await?;
                self.run(Setup::default(), false, tally).await?;
            }
            // Setting up a load balancer through the soak's injected API faults would fail
            // the setup, not ferry: the histories cover services behind one.
            Action::Balance | Action::Staged(_) => {}
        }
        Ok(())
    }
}

async fn soak(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let faults = format!(
        "{},{}}}",
        FAULTS.trim_end().trim_end_matches('}'),
        API.replace("SEED", &seed.to_string())
    );
    let mut soak = Soak {
        local: Local::persistent(&faults).await,
        model: Model::new(),
        completed: BTreeSet::new(),
    };
    let mut random = Random(seed ^ 0x0050_A4ED);
    let length = 8 + random.below(7) as usize;
    for (i, action) in history(seed, length).iter().enumerate() {
        if i > 0 && random.chance(25) {
            tally.count_faults(&soak.local);
            soak.local.restart().await;
            tally.restarts += 1;
        }
        soak.play(action, tally).await.map_err(|e| format!("step {} ({action}): {e}", i + 1))?;
        soak.settle(tally);
        soak.note_completed();
    }
    tally.count_faults(&soak.local);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_under_api_faults_keep_their_verdicts_true() {
    let count = setting("FERRY_SOAK_HISTORIES", 4);
    let base = setting("FERRY_SOAK_SEED", 0);
    let started = std::time::Instant::now();
    let mut tally = Tally::default();
    for seed in base..base + count {
        if let Err(error) = soak(seed, &mut tally).await {
            panic!(
                "soak history of seed {seed} failed: {error}\nreplay: FERRY_SOAK_SEED={seed} \
                 FERRY_SOAK_HISTORIES=1 cargo nextest run soak"
            );
        }
    }
    let codes: Vec<String> =
        tally.codes.iter().map(|(code, n)| format!("exit {code}: {n}")).collect();
    let injected: Vec<String> =
        tally.injected.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    eprintln!(
        "soak: {count} histories, {} runs ({}), faults injected: {}, {} manual rollbacks, {} \
         endpoint restarts, {} steps left unsettled, {:.0?}",
        tally.runs,
        codes.join(", "),
        injected.join(", "),
        tally.rollbacks,
        tally.restarts,
        tally.unsettled,
        started.elapsed()
    );
}
