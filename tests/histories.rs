//! The model-based history test (issue 13): random service histories — good, crashing,
//! never-healthy and slow images, settings-only changes, `file(…)` edits, another
//! client's UpdateService mid-rollout, `ferry rollback` by hand, scaling to 0 and back, a
//! configuration that cannot progress, ferry interrupted mid-rollout and run again, a
//! rotated secret (`API_TOKEN`) — are driven through `ferry plan` then `ferry run` against
//! the local ECS (in-process, manual clock). An oracle that knows each step's intent checks
//! after every step: the exit code, the revision the service runs, its desired count and
//! settings, how many revisions exist, that the plan predicted what the run did, and that
//! neither the plan as printed nor any event shows the secret, old or new. A failing
//! history prints its seed and a shrunk history.
//!
//! `FERRY_HISTORIES` (default 100) histories are run, from seed `FERRY_HISTORY_SEED`
//! (default 0); docs/fuzzing.md has the soak command.

use std::fmt;

use ferry::engine::{Event, Plan, RegisterDecision, RollbackError, StepChange, UpdateAction};

use crate::harness::{Local, Outcome, Setup, revision_number};

pub(crate) const FAULTS: &str = r#"{"images": [
  {"match": "*:crash-*", "crash_after": "5s", "exit_code": 3},
  {"match": "*:sick-*", "never_healthy": true, "unhealthy_after": "60s"},
  {"match": "*:slow-*", "start": "2m"}
]}"#;

/// A small, seedable generator (SplitMix64): the same seed, the same history.
pub(crate) struct Random(pub(crate) u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What an image does on the local ECS (the fault file above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Good,
    Slow,
    Crash,
    Sick,
}

impl Kind {
    pub(crate) fn image(self, version: u32) -> String {
        match self {
            Kind::Good => format!("acme/web:{version}"),
            Kind::Slow => format!("acme/web:slow-{version}"),
            Kind::Crash => format!("acme/web:crash-{version}"),
            Kind::Sick => format!("acme/web:sick-{version}"),
        }
    }

    fn fails(self) -> bool {
        matches!(self, Kind::Crash | Kind::Sick)
    }
}

/// What the Deployfile declares of the service (none: the live value is kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    pub(crate) desired: Option<u32>,
    pub(crate) min: Option<u32>,
    pub(crate) max: Option<u32>,
    pub(crate) grace: Option<u32>,
    pub(crate) breaker: Option<&'static str>,
}

/// One step of a history.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// `ferry run` with a new image, the declared settings as they are.
    Deploy { kind: Kind, version: u32 },
    /// The settings change; the image stays the one the service runs.
    Settings(Declared),
    /// The Deployfile switches to `file("td.json")` holding this image.
    FileEdit { version: u32, kind: Kind },
    /// The same Deployfile again.
    Rerun,
    /// The Deployfile's `API_TOKEN` changes (a secret rotated): a new revision, the same
    /// image.
    RotateSecret,
    /// Another client forces a new deployment while ours of `version` rolls out.
    Intruder { version: u32 },
    /// `ferry rollback` by hand.
    ManualRollback,
    /// `desired = 0`, then `desired = 3`.
    ScaleToZeroAndBack,
    /// Another tool sets desired 1, min 100 %, max 100 % (a deployment cannot progress);
    /// the Deployfile stops declaring them.
    OtherToolStuck,
    /// ferry is interrupted mid-rollout of `version`, then run again.
    Interrupted { version: u32 },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Deploy { kind, version } => write!(f, "deploy {}", kind.image(*version)),
            Action::Settings(d) => write!(
                f,
                "settings desired={:?} min={:?} max={:?} grace={:?} breaker={:?}",
                d.desired, d.min, d.max, d.grace, d.breaker
            ),
            Action::FileEdit { version, kind } => write!(f, "file() with {}", kind.image(*version)),
            Action::Rerun => f.write_str("run again"),
            Action::RotateSecret => f.write_str("rotate API_TOKEN, run again"),
            Action::Intruder { version } => {
                write!(
                    f,
                    "deploy acme/web:slow-{version}; another client forces a deployment mid-rollout"
                )
            }
            Action::ManualRollback => f.write_str("ferry rollback"),
            Action::ScaleToZeroAndBack => f.write_str("scale to 0 and back to 3"),
            Action::OtherToolStuck => f.write_str("another tool: desired 1, min 100%, max 100%"),
            Action::Interrupted { version } => {
                write!(f, "deploy acme/web:slow-{version}, interrupted, run again")
            }
        }
    }
}

/// A random history: a first good deploy that creates the service, then `steps - 1`.
pub(crate) fn history(seed: u64, steps: usize) -> Vec<Action> {
    let mut random = Random(seed);
    let mut version = 1;
    let mut actions = vec![Action::Deploy { kind: Kind::Good, version }];
    while actions.len() < steps {
        version += 1;
        let action = match random.below(100) {
            0..=17 => Action::Deploy { kind: Kind::Good, version },
            18..=21 => Action::RotateSecret,
            22..=29 => Action::Deploy { kind: Kind::Slow, version },
            30..=39 => Action::Deploy { kind: Kind::Crash, version },
            40..=45 => Action::Deploy { kind: Kind::Sick, version },
            46..=57 => Action::Settings(Declared {
                desired: random.chance(80).then(|| random.pick(&[1, 2, 3, 4])),
                min: None,
                max: None,
                grace: random.chance(50).then(|| random.pick(&[0, 30, 60, 120])),
                breaker: random.chance(50).then(|| random.pick(&["rollback", "on", "off"])),
            })
            .with_bounds(&mut random),
            58..=65 => Action::FileEdit {
                version: if random.chance(30) { version - 1 } else { version },
                kind: Kind::Good,
            },
            66..=70 => Action::Rerun,
            71..=76 => Action::Intruder { version },
            77..=83 => Action::ManualRollback,
            84..=88 => Action::ScaleToZeroAndBack,
            89..=93 => Action::OtherToolStuck,
            _ => Action::Interrupted { version },
        };
        actions.push(action);
    }
    actions
}

impl Action {
    /// Settings sometimes declare min/max too, including a pair that cannot progress.
    fn with_bounds(self, random: &mut Random) -> Self {
        let Action::Settings(mut declared) = self else { return self };
        if random.chance(60) {
            let (min, max) = random.pick(&[(100, 200), (50, 200), (100, 150), (0, 100), (50, 100)]);
            declared.min = Some(min);
            declared.max = Some(max);
        }
        Action::Settings(declared)
    }
}

/// The live settings the oracle expects of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Live {
    desired: u32,
    min: u32,
    max: u32,
    grace: u32,
    breaker: &'static str,
}

/// The oracle: what the service should look like, and what each step should do.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    exists: bool,
    /// The image and secret generation of each revision of family `web`, revision 1
    /// first.
    contents: Vec<(String, u32)>,
    /// The revision the service runs (1-based).
    running: usize,
    /// Revisions whose deployment completed, in order (a rollback completes its target).
    completions: Vec<usize>,
    live: Live,
    pub(crate) declared: Declared,
    /// The image the Deployfile names, and whether through `file(…)`.
    pub(crate) image: String,
    pub(crate) file: bool,
    /// The generation of the `API_TOKEN` the Deployfile declares (`secret()`).
    pub(crate) secret: u32,
}

/// What the oracle expects of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    code: u8,
    /// `register` / `reuse N` / none (refused, or no service yet to compare).
    register: Option<String>,
    /// `create`, `deploy`, `settings`, `nothing`, `refuse`, `resume`.
    update: &'static str,
}

impl Model {
    pub(crate) fn new() -> Self {
        Self {
            exists: false,
            contents: Vec::new(),
            running: 0,
            completions: Vec::new(),
            live: Live { desired: 0, min: 100, max: 200, grace: 0, breaker: "off" },
            declared: Declared { desired: Some(3), ..Declared::default() },
            image: String::new(),
            file: false,
            secret: 1,
        }
    }

    /// The value of `API_TOKEN` the Deployfile declares now.
    pub(crate) fn secret(&self) -> String {
        format!("{SECRET}-{}", self.secret)
    }

    fn effective(&self) -> Live {
        Live {
            desired: self.declared.desired.unwrap_or(self.live.desired),
            min: self.declared.min.unwrap_or(self.live.min),
            max: self.declared.max.unwrap_or(self.live.max),
            grace: self.declared.grace.unwrap_or(self.live.grace),
            breaker: self.declared.breaker.unwrap_or(self.live.breaker),
        }
    }

    /// ECS's arithmetic (reference §1.1, §1.3), independent of ferry's simulation: with
    /// `d` tasks running, a deployment can neither start nor stop one.
    fn stuck(settings: &Live) -> bool {
        let d = settings.desired;
        d > 0 && d * settings.max / 100 <= d && (d * settings.min).div_ceil(100) >= d
    }

    /// The revision the run resolves to: reuse the running one, else the family's latest,
    /// else a new one (`None`).
    fn resolve(&self, image: &str) -> Option<usize> {
        let wanted = (image.to_owned(), self.secret);
        if self.running > 0 && self.contents[self.running - 1] == wanted {
            return Some(self.running);
        }
        (self.contents.last() == Some(&wanted)).then_some(self.contents.len())
    }

    /// Expects one run of the Deployfile with `image` of `kind`, and moves the model on.
    /// `superseded`: another client forces a deployment of ours mid-rollout.
    fn run(&mut self, image: &str, kind: Kind, superseded: bool) -> Expected {
        image.clone_into(&mut self.image);
        let effective = self.effective();
        if !self.exists {
            self.contents.push((image.to_owned(), self.secret));
            self.exists = true;
            self.running = self.contents.len();
            self.live = Live { desired: self.declared.desired.unwrap_or(1), ..effective };
            self.completions.push(self.running);
            return Expected { code: 0, register: Some("register".to_owned()), update: "create" };
        }
        let reused = self.resolve(image);
        let register = Some(reused.map_or_else(|| "register".to_owned(), |n| format!("reuse {n}")));
        let deploys = reused != Some(self.running);
        let settings = effective != self.live;
        if deploys && Self::stuck(&effective) {
            return Expected { code: 2, register, update: "refuse" };
        }
        if !deploys {
            self.live = effective;
            return Expected {
                code: 0,
                register,
                update: if settings { "settings" } else { "nothing" },
            };
        }
        let revision = reused.unwrap_or_else(|| {
            self.contents.push((image.to_owned(), self.secret));
            self.contents.len()
        });
        self.live = effective;
        if superseded {
            // The other client's deployment of our revision runs on and completes.
            self.running = revision;
            self.completions.push(revision);
            return Expected { code: 3, register, update: "deploy" };
        }
        if kind.fails() && effective.desired > 0 {
            // Rolled back to the last revision whose deployment completed: the one that ran.
            self.completions.push(self.running);
            return Expected { code: 1, register, update: "deploy" };
        }
        self.running = revision;
        self.completions.push(revision);
        Expected { code: 0, register, update: "deploy" }
    }

    /// `ferry rollback`: the newest completed revision other than the running one, unless
    /// that deployment could not progress.
    fn rollback(&mut self) -> Option<usize> {
        if Self::stuck(&self.live) {
            return None;
        }
        let target = self.completions.iter().rev().copied().find(|r| *r != self.running)?;
        self.running = target;
        self.completions.push(target);
        Some(target)
    }
}

/// The Deployfile of the model's current declaration and image.
pub(crate) fn deployfile(model: &Model) -> String {
    let register = if model.file {
        "  from = file(\"td.json\")\n".to_owned()
    } else {
        format!(
            "  family = \"web\"\n  container \"app\" {{\n    image = \"{}\"\n    \
             environment = {{ API_TOKEN = \"{}\" }}\n    health_check {{\n      \
             command = [\"CMD\", \"true\"]\n    }}\n  }}\n",
            model.image,
            model.secret()
        )
    };
    let d = model.declared;
    let mut update = String::new();
    for (key, value) in [
        ("desired", d.desired.map(|n| n.to_string())),
        ("min_healthy", d.min.map(|n| format!("{n}%"))),
        ("max", d.max.map(|n| format!("{n}%"))),
        ("grace", d.grace.map(|n| format!("{n}s"))),
        ("circuit_breaker", d.breaker.map(str::to_owned)),
    ] {
        if let Some(value) = value {
            update = format!("{update}  {key} = {value}\n");
        }
    }
    format!(
        "defaults {{\n  cluster = \"c\"\n}}\n\nregister web_task {{\n{register}}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n{update}}}\n\n\
         verify web {{\n  timeout   = 30m\n  fail_fast = 2\n}}\n\n\
         on failure {{\n  rollback web\n}}\n"
    )
}

/// A secret every revision carries (`API_TOKEN`): no event of any run may show it.
pub(crate) const SECRET: &str = "histories-s3cr3t-token";

pub(crate) fn task_definition_file(image: &str, secret: &str) -> String {
    format!(
        "{{\"family\": \"web\", \
         \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"{image}\", \
         \"environment\": [{{\"name\": \"API_TOKEN\", \"value\": \"{secret}\"}}], \
         \"healthCheck\": {{\"command\": [\"CMD\", \"true\"]}}}}]}}"
    )
}

/// What the plan decided for the register and update steps.
fn planned(plan: &Plan) -> (Option<String>, &'static str) {
    let mut register = None;
    let mut update = "none";
    for step in &plan.changes.steps {
        match step {
            StepChange::Register(change) => {
                register = match &change.decision {
                    RegisterDecision::Reuse { arn, .. } => {
                        Some(format!("reuse {}", revision_number(arn)))
                    }
                    RegisterDecision::Register | RegisterDecision::AfterPush { .. } => {
                        Some("register".to_owned())
                    }
                    RegisterDecision::Refuse(_) => None,
                };
            }
            StepChange::Update(change) => {
                update = match &change.action {
                    UpdateAction::Create => "create",
                    UpdateAction::Deploy => "deploy",
                    UpdateAction::Settings => "settings",
                    UpdateAction::Resume { .. } => "resume",
                    UpdateAction::Nothing => "nothing",
                    UpdateAction::Refuse(_) => "refuse",
                };
            }
            _ => {}
        }
    }
    (register, update)
}

/// What the run did, from its events.
fn did(outcome: &Outcome) -> (Option<String>, &'static str) {
    let mut register = None;
    let mut update = "refuse";
    for event in &outcome.events {
        match event {
            Event::RevisionRegistered { .. } => register = Some("register".to_owned()),
            Event::RevisionReused { arn, .. } => {
                register = Some(format!("reuse {}", revision_number(arn)));
            }
            Event::ServiceCreated { .. } => update = "create",
            Event::DeploymentStarted { .. } if update != "create" => update = "deploy",
            Event::SettingsUpdated { .. } => update = "settings",
            Event::NothingToDeploy { .. } => update = "nothing",
            Event::DeploymentResumed { .. } => update = "resume",
            _ => {}
        }
    }
    (register, update)
}

/// Runs `ferry plan`, then `ferry run` held to that plan; checks both against `expected`.
async fn plan_and_run(
    local: &Local,
    model: &Model,
    expected: &Expected,
    setup: Setup,
) -> Result<Outcome, String> {
    let text = deployfile(model);
    if model.file {
        local.write("td.json", &task_definition_file(&model.image, &model.secret()));
    }
    let plan = local.plan(&text).await.map_err(|e| format!("the plan failed: {e}"))?;
    // The plan as `ferry plan` prints it never shows the secret, on either side of a diff.
    let file = ferry::syntax::parse(&text).map_err(|_| "the Deployfile does not parse")?;
    let workspace = ferry::eval::Workspace::default();
    let settings = ferry::eval::resolve(&file, None, &workspace).map_err(|e| format!("{e:?}"))?;
    let mask = ferry::engine::sensitive_mask(&file, &settings, &workspace, &plan.changes);
    let shown = mask.text(&ferry::engine::plan_text(&plan, None));
    if shown.contains(SECRET) {
        return Err(format!("the plan shows the secret:\n{shown}"));
    }
    let (register, update) = planned(&plan);
    if (register.as_ref(), update) != (expected.register.as_ref(), expected.update)
        && !(expected.update == "refuse" && update == "refuse")
    {
        return Err(format!(
            "the plan said register {register:?}, update {update}; the oracle expects register \
             {:?}, update {}",
            expected.register, expected.update
        ));
    }
    let outcome = local.run_with(&text, Setup { expected: Some(plan.changes), ..setup }).await;
    // The only refusal these histories meet is a deployment that could not progress.
    if expected.update == "refuse" && !outcome.reason.contains("would not progress") {
        return Err(format!("refused for another reason: {}", outcome.reason));
    }
    for event in &outcome.events {
        let shown = serde_json::to_string(event).unwrap_or_default();
        if shown.contains(SECRET) {
            return Err(format!("an event shows the secret: {shown}"));
        }
    }
    let (ran_register, ran_update) = did(&outcome);
    if expected.update != "refuse"
        && (ran_register.as_ref(), ran_update) != (register.as_ref(), update)
    {
        return Err(format!(
            "the plan said register {register:?}, update {update}; the run did register \
             {ran_register:?}, update {ran_update} ({})",
            outcome.reason
        ));
    }
    Ok(outcome)
}

/// Checks the live service against the model.
async fn check_state(local: &Local, model: &Model) -> Result<(), String> {
    let service = local.service().await.ok_or("the service is gone")?;
    let primary = service.primary().ok_or("no PRIMARY deployment")?;
    let running = revision_number(&primary.task_definition) as usize;
    let live = Live {
        desired: u32::try_from(service.desired).unwrap_or(u32::MAX),
        min: service.min_healthy.and_then(|m| u32::try_from(m).ok()).unwrap_or(100),
        max: service.max.and_then(|m| u32::try_from(m).ok()).unwrap_or(200),
        grace: service.grace_s.and_then(|g| u32::try_from(g).ok()).unwrap_or(0),
        breaker: service.circuit_breaker.map_or("off", ferry::aws::BreakerView::word),
    };
    let revisions = local.revisions("web").await.len();
    let want = (model.running, model.live, model.contents.len());
    if (running, live, revisions) != want {
        return Err(format!(
            "the service runs revision {running} with {live:?} and {revisions} revisions exist; \
             the oracle expects revision {} with {:?} and {} revisions",
            want.0, want.1, want.2
        ));
    }
    if service.deployments.len() != 1 || service.running != service.desired {
        return Err(format!("the service is not settled: {service:#?}"));
    }
    Ok(())
}

/// One run of the Deployfile as `change` leaves the model (its image, mode, settings):
/// planned, run, and checked against the oracle; the model moves on.
async fn deploy(
    local: &Local,
    model: &mut Model,
    change: impl FnOnce(&mut Model),
    kind: Kind,
    superseded: bool,
    setup: Setup,
) -> Result<Outcome, String> {
    let mut probe = model.clone();
    change(&mut probe);
    let image = probe.image.clone();
    let mut after = probe.clone();
    let expected = after.run(&image, kind, superseded);
    let outcome = plan_and_run(local, &probe, &expected, setup).await?;
    *model = after;
    expect_code(&outcome, expected.code)?;
    Ok(outcome)
}

/// Plays one action against the local ECS and the model; the error says what differed.
async fn play(local: &Local, model: &mut Model, action: &Action) -> Result<(), String> {
    match action {
        Action::Deploy { kind, version } => {
            let image = kind.image(*version);
            let change = |m: &mut Model| {
                m.file = false;
                m.image = image;
            };
            deploy(local, model, change, *kind, false, Setup::default()).await?;
        }
        Action::FileEdit { version, kind } => {
            let image = kind.image(*version);
            let change = |m: &mut Model| {
                m.file = true;
                m.image = image;
            };
            deploy(local, model, change, *kind, false, Setup::default()).await?;
        }
        Action::Settings(declared) => {
            let (running, secret) = model.contents[model.running - 1].clone();
            let change = |m: &mut Model| {
                m.declared = *declared;
                m.image = running;
                m.secret = secret;
            };
            deploy(local, model, change, Kind::Good, false, Setup::default()).await?;
        }
        Action::Rerun => {
            let kind = kind_of(&model.image);
            deploy(local, model, |_| {}, kind, false, Setup::default()).await?;
        }
        Action::RotateSecret => {
            let kind = kind_of(&model.image);
            deploy(local, model, |m| m.secret += 1, kind, false, Setup::default()).await?;
        }
        Action::Intruder { version } => {
            let image = Kind::Slow.image(*version);
            let change = |m: &mut Model| {
                m.file = false;
                m.image = image;
            };
            let setup = Setup { hook: Some(crate::harness::intruder()), ..Setup::default() };
            let outcome = deploy(local, model, change, Kind::Slow, true, setup).await;
            local.settle().await;
            outcome?;
        }
        Action::ManualRollback => {
            let expected = model.clone().rollback();
            let outcome = local.rollback(None).await;
            match (expected, outcome) {
                (Some(target), Ok(arn)) if revision_number(&arn) as usize == target => {
                    model.rollback();
                }
                (None, Err(RollbackError::Refused(_))) => {}
                (expected, outcome) => {
                    return Err(format!(
                        "`ferry rollback` gave {outcome:?}; the oracle expects {}",
                        expected
                            .map_or_else(|| "a refusal".to_owned(), |t| format!("revision {t}"))
                    ));
                }
            }
        }
        Action::ScaleToZeroAndBack => {
            for desired in [0, 3] {
                let declared = Declared { desired: Some(desired), ..model.declared };
                Box::pin(play(local, model, &Action::Settings(declared))).await?;
                check_state(local, model).await?;
            }
        }
        Action::OtherToolStuck => {
            crate::harness::set_stuck_configuration(&local.clients)
                .await
                .map_err(|e| format!("the other tool's UpdateService: {e:?}"))?;
            local.settle().await;
            model.live = Live { desired: 1, min: 100, max: 100, ..model.live };
            model.declared = Declared { desired: None, min: None, max: None, ..model.declared };
        }
        Action::Interrupted { version } => {
            let image = Kind::Slow.image(*version);
            let mut probe = model.clone();
            probe.file = false;
            probe.image.clone_from(&image);
            let mut after = probe.clone();
            let expected = after.run(&image, Kind::Slow, false);
            let hook = Box::new(|event: &Event, hook: &crate::harness::Hook| {
                if let Event::Progress { .. } = event {
                    hook.interrupt();
                }
            });
            let interrupted = expected.update == "deploy";
            let first =
                Expected { code: if interrupted { 130 } else { expected.code }, ..expected };
            let setup = Setup { hook: Some(hook), ..Setup::default() };
            let outcome = plan_and_run(local, &probe, &first, setup).await?;
            expect_code(&outcome, first.code)?;
            if interrupted {
                // Run again: the deployment in progress is ours, watched to its end.
                let again = Expected {
                    code: 0,
                    register: Some(format!("reuse {}", after.running)),
                    update: "resume",
                };
                let outcome = plan_and_run(local, &after, &again, Setup::default()).await?;
                expect_code(&outcome, 0)?;
            }
            *model = after;
        }
    }
    Ok(())
}

pub(crate) fn kind_of(image: &str) -> Kind {
    if image.contains(":crash-") {
        Kind::Crash
    } else if image.contains(":sick-") {
        Kind::Sick
    } else if image.contains(":slow-") {
        Kind::Slow
    } else {
        Kind::Good
    }
}

fn expect_code(outcome: &Outcome, code: u8) -> Result<(), String> {
    EXITS.with(|e| e.borrow_mut().push(outcome.code()));
    if outcome.code() == code {
        Ok(())
    } else {
        Err(format!(
            "exit {} ({}); the oracle expects exit {code}; events {:?}",
            outcome.code(),
            outcome.reason,
            outcome.kinds()
        ))
    }
}

/// Plays a whole history on a fresh local ECS; the error names the step.
async fn replay(actions: &[Action]) -> Result<(), String> {
    replay_counting(actions, &mut Vec::new()).await
}

/// `replay`, noting each run's exit code.
async fn replay_counting(actions: &[Action], codes: &mut Vec<u8>) -> Result<(), String> {
    let local = Local::start(FAULTS).await;
    let mut model = Model::new();
    for (i, action) in actions.iter().enumerate() {
        let step = |e: String| format!("step {} ({action}): {e}", i + 1);
        let before = EXITS.with(|e| e.borrow().len());
        play(&local, &mut model, action).await.map_err(step)?;
        check_state(&local, &model).await.map_err(step)?;
        EXITS.with(|e| codes.extend(e.borrow()[before..].iter().copied()));
    }
    Ok(())
}

thread_local! {
    /// Every exit code `expect_code` saw, for the tally of a part.
    static EXITS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Removes one action at a time, keeping each removal that still fails, until none can go.
async fn shrink(mut actions: Vec<Action>) -> (Vec<Action>, String) {
    let mut failure = replay(&actions).await.err().unwrap_or_default();
    loop {
        let mut smaller = None;
        for i in 1..actions.len() {
            let mut candidate = actions.clone();
            candidate.remove(i);
            if let Err(error) = replay(&candidate).await {
                smaller = Some((candidate, error));
                break;
            }
        }
        match smaller {
            Some((candidate, error)) => {
                actions = candidate;
                failure = error;
            }
            None => return (actions, failure),
        }
    }
}

pub(crate) fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Plays the histories of seeds `base + i` with `i % 4 == part` (the four parts run in
/// parallel); each has 8 to 14 steps.
async fn histories(part: u64) {
    let count = setting("FERRY_HISTORIES", 100);
    let base = setting("FERRY_HISTORY_SEED", 0);
    let mut steps = 0;
    let mut codes = Vec::new();
    for i in (0..count).filter(|i| i % 4 == part) {
        let seed = base + i;
        let length = 8 + (Random(seed ^ 0xD1B5_4A32_D192_ED03).below(7) as usize);
        let actions = history(seed, length);
        steps += actions.len();
        if let Err(error) = replay_counting(&actions, &mut codes).await {
            let (shrunk, why) = shrink(actions.clone()).await;
            let list = |a: &[Action]| {
                a.iter()
                    .enumerate()
                    .map(|(i, a)| format!("  {}. {a}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "history of seed {seed} failed: {error}\n{}\nshrunk to {} steps: {why}\n{}\n\
                 replay: FERRY_HISTORY_SEED={seed} FERRY_HISTORIES=1 cargo nextest run histories::",
                list(&actions),
                shrunk.len(),
                list(&shrunk)
            );
        }
    }
    let mut tally: std::collections::BTreeMap<u8, usize> = std::collections::BTreeMap::new();
    for code in &codes {
        *tally.entry(*code).or_default() += 1;
    }
    let tally: Vec<String> = tally.iter().map(|(code, n)| format!("exit {code}: {n}")).collect();
    eprintln!("histories part {part}: {steps} steps, {} runs ({})", codes.len(), tally.join(", "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_0() {
    histories(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_1() {
    histories(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_2() {
    histories(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_part_3() {
    histories(3).await;
}

#[test]
fn the_oracle_knows_ecs_arithmetic() {
    let live = |desired, min, max| Live { desired, min, max, grace: 0, breaker: "off" };
    assert!(Model::stuck(&live(1, 100, 100)));
    assert!(Model::stuck(&live(1, 100, 150)));
    assert!(!Model::stuck(&live(1, 0, 100)));
    assert!(!Model::stuck(&live(3, 100, 150)));
    assert!(!Model::stuck(&live(3, 50, 100)));
    assert!(!Model::stuck(&live(0, 100, 100)));
    // The same seed gives the same history.
    let a: Vec<String> = history(7, 10).iter().map(ToString::to_string).collect();
    let b: Vec<String> = history(7, 10).iter().map(ToString::to_string).collect();
    assert_eq!(a, b);
}
