//! The commands that read the target — `:plan`, `:diff`, `:simulate`, `:gate` — through
//! the connection opened on first use. Every call is a read.

use std::fmt::Write as _;

use super::render::{plural, steps};
use super::{Reply, Session};
use crate::error::Error;
use crate::eval::{Evaluator, Outputs, PlannedStep, plan_step, step_values};
use crate::repl::Connection;
use crate::syntax::StepKind;

impl Session {
    /// Connects on first use; later commands reuse the connection.
    fn connection(&mut self) -> Result<&Connection, Error> {
        if self.connection.is_none() {
            self.connection = Some((self.connect)(&self.settings, &self.base_dir)?);
        }
        Ok(self.connection.as_ref().expect("just connected"))
    }

    /// The plan of the pipeline as loaded and typed: the change set `ferry plan` prints.
    fn plan_of(&mut self) -> Result<crate::engine::Plan, Error> {
        self.connection()?;
        let connection = self.connection.as_ref().expect("connected");
        let ecs = connection.ecs();
        let made = connection.runtime.block_on(crate::engine::make_plan(
            &self.file,
            &self.settings,
            &self.workspace,
            &ecs,
            &connection.target,
            &self.base_dir,
            &crate::engine::PlanOptions {
                redeploy: false,
                capacity: connection.capacity,
                account: None,
            },
        ));
        if let Ok(plan) = &made {
            let values = plan.changes.sensitive_values(&self.mask());
            self.met_sensitive.extend(values);
        }
        made.map_err(|error| Error::plan("<pipeline>", &self.text, error))
    }

    pub(super) fn plan(&mut self, only: Option<&str>) -> Reply {
        match self.plan_of() {
            Ok(plan) => Reply::ok(crate::engine::plan_text(&plan, only)),
            Err(error) => self.failed(error),
        }
    }

    pub(super) fn diff(&mut self, name: &str) -> Reply {
        let plan = match self.plan_of() {
            Ok(plan) => plan,
            Err(error) => return self.failed(error),
        };
        let mut out = format!("({})\n", plural(plan.calls as usize, "read-only call"));
        for step in plan.changes.steps.iter().filter(|s| s.name() == name) {
            if matches!(step.kind(), "register" | "update") {
                out.push_str(&crate::engine::step_text(step));
            }
        }
        Reply::ok(out)
    }

    /// The predicted rollout of each `update`: the plan's own prediction (the step's
    /// settings over the live service's), shown pass by pass.
    pub(super) fn simulate(&mut self, only: Option<&str>) -> Reply {
        let any = steps(&self.file)
            .any(|s| s.kind == StepKind::Update && only.is_none_or(|n| s.name.name == n));
        if !any {
            return self.failed(Error::usage(match only {
                Some(name) => format!("no `update {name}` step"),
                None => "no `update` step to simulate".to_owned(),
            }));
        }
        let plan = match self.plan_of() {
            Ok(plan) => plan,
            Err(error) => return self.failed(error),
        };
        let mut out = String::new();
        for step in &plan.changes.steps {
            let crate::engine::StepChange::Update(update) = step else { continue };
            if only.is_some_and(|n| n != update.step) {
                continue;
            }
            match (&update.prediction, &update.action) {
                (Some(prediction), _) => {
                    let _ = write!(
                        out,
                        "update {}: service `{}` (cluster `{}`), {} desired\n\n",
                        update.step,
                        update.service,
                        update.cluster,
                        plural(prediction.effective.desired as usize, "task")
                    );
                    out.push_str(&crate::report::simulation_text(&crate::engine::simulation(
                        &prediction.effective,
                    )));
                    out.push('\n');
                }
                (None, crate::engine::UpdateAction::Create) => {
                    let desired = update.request.as_ref().and_then(|r| r.desired).unwrap_or(1);
                    let _ = write!(
                        out,
                        "update {}: service `{}` does not exist in cluster `{}`: creating it \
                         starts {} at once\n\n",
                        update.step,
                        update.service,
                        update.cluster,
                        plural(usize::try_from(desired).unwrap_or(0), "task")
                    );
                }
                (None, _) => {
                    let _ =
                        write!(out, "update {}: {}\n\n", update.step, crate::engine::summary(step));
                }
            }
        }
        let _ = writeln!(out, "({})", plural(plan.calls as usize, "read-only call"));
        Reply::ok(out)
    }

    pub(super) fn gate(&mut self, selector: Option<&str>) -> Reply {
        let values = step_values(&self.file);
        let outputs = Outputs::new();
        // (verify step, its update step's service and cluster, the gate)
        let mut gates = Vec::new();
        {
            let evaluator = Evaluator::new(&self.settings, &self.workspace, &values, &outputs);
            let mut services = std::collections::BTreeMap::new();
            for step in steps(&self.file) {
                match plan_step(step, &evaluator) {
                    Ok(PlannedStep::Update(update)) => {
                        services.insert(update.name.clone(), (update.service, update.cluster));
                    }
                    Ok(PlannedStep::Verify(verify)) => {
                        let policy = crate::engine::network_policy(&verify);
                        for gate in verify.gates {
                            let service = services.get(&verify.name).cloned();
                            gates.push((verify.name.clone(), service, gate, policy.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        if gates.is_empty() {
            return self.failed(Error::usage("no `verify` step has a gate"));
        }
        let list = || {
            let mut out = String::new();
            for (i, (verify, _, gate, _)) in gates.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  {}  verify {verify}: {}",
                    i + 1,
                    crate::engine::gate_name(&gate.target)
                );
            }
            out
        };
        let Some(selector) = selector else {
            return Reply::ok(format!("{}run one with `:gate N`\n", list()));
        };
        let chosen: Vec<usize> = match selector.parse::<usize>() {
            Ok(n) if (1..=gates.len()).contains(&n) => vec![n - 1],
            Ok(n) => {
                let error = Error::usage(format!(
                    "there is no gate {n}; the gates are 1 to {}",
                    gates.len()
                ));
                return Reply::error(error.render(self.style) + list().as_str());
            }
            Err(_) => (0..gates.len())
                .filter(|&i| crate::engine::gate_name(&gates[i].2.target).contains(selector))
                .collect(),
        };
        let [index] = chosen.as_slice() else {
            let why = if chosen.is_empty() { "no gate matches" } else { "several gates match" };
            let error = Error::usage(format!("{why} `{selector}`"));
            return Reply::error(error.render(self.style) + list().as_str());
        };
        let (verify, service, spec, policy) = gates[*index].clone();
        let Some((service, cluster)) = service else {
            return self
                .failed(Error::usage(format!("`verify {verify}` has no `update {verify}` step")));
        };
        let cluster = cluster
            .or_else(|| self.settings.cluster.clone())
            .unwrap_or_else(|| "default".to_owned());
        if let Err(error) = self.connection() {
            return self.failed(error);
        }
        let connection = self.connection.as_ref().expect("connected");
        let ecs = connection.ecs();
        let trial = connection.runtime.block_on(crate::engine::try_gate(
            &spec,
            &policy,
            &self.base_dir,
            &ecs,
            &cluster,
            &service,
            &self.workspace,
        ));
        let trial = match trial {
            Ok(trial) => trial,
            Err(error) => return self.failed(error),
        };
        let mut out = format!(
            "{} of `verify {verify}`, once, against service `{service}` (cluster `{cluster}`)\n  \
             deployment {} (PRIMARY) runs {}, {}\n",
            trial.name,
            trial.deployment_id,
            trial.task_definition,
            plural(trial.tasks, "task")
        );
        for line in &trial.log {
            let _ = writeln!(out, "  log: {line}");
        }
        if let Some(report) = &trial.error {
            out.push_str(report);
        }
        let verdict = match (trial.outcome.ok, trial.outcome.fatal) {
            (true, _) => "passed",
            (false, true) => "failed for good",
            (false, false) => "failed (a deployment would try again)",
        };
        let _ = writeln!(out, "  {verdict}: {}", trial.outcome.message);
        let _ = writeln!(
            out,
            "({}; the gate's own requests were sent as written)",
            plural(ecs.calls() as usize, "read-only ECS call")
        );
        Reply { text: out, failed: !trial.outcome.ok, quit: false }
    }
}
